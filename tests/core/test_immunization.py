"""The one-way chain inside a province: who may supply whom, where returns may go."""

from __future__ import annotations

import pytest

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.immunization import Unit, Vaccination, check_return_within, check_supply

PROVINCE = Unit("p", OrgKind.CDC, DivisionCode("320000"))
CITY = Unit("c", OrgKind.CDC, DivisionCode("320100"))
CITY_TWIN = Unit("c2", OrgKind.CDC, DivisionCode("320100"))
OTHER_CITY = Unit("o", OrgKind.CDC, DivisionCode("320200"))
COUNTY = Unit("k", OrgKind.CDC, DivisionCode("320102"))
POV = Unit("v", OrgKind.POV, DivisionCode("320102"))
POV_CITY = Unit("w", OrgKind.POV, DivisionCode("320100"))


def reason(check: object, *units: Unit) -> str | None:
    try:
        check(*units)  # type: ignore[operator]
    except DomainError as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("supplier", "receiver", "expected"),
    [
        (PROVINCE, CITY, None),
        (PROVINCE, POV, None),
        (CITY, COUNTY, None),
        (CITY, POV_CITY, None),
        (COUNTY, POV, None),
        (POV, POV_CITY, "supplier_not_cdc"),
        (CITY, CITY, "supply_to_self"),
        (CITY, OTHER_CITY, "outside_jurisdiction"),
        (COUNTY, CITY, "outside_jurisdiction"),
        (CITY, CITY_TWIN, "not_a_lower_cdc"),
    ],
)
def test_supply(supplier: Unit, receiver: Unit, expected: str | None) -> None:
    assert reason(check_supply, supplier, receiver) == expected


@pytest.mark.parametrize(
    ("returner", "receiver", "expected"),
    [
        (POV, COUNTY, None),
        (POV, PROVINCE, None),
        (POV_CITY, CITY, None),
        (COUNTY, CITY, None),
        (CITY, PROVINCE, None),
        (CITY, CITY, "return_to_self"),
        (CITY, POV_CITY, "return_not_to_cdc"),
        (CITY, COUNTY, "not_up_the_chain"),
        (CITY, CITY_TWIN, "not_up_the_chain"),
        (POV, OTHER_CITY, "not_up_the_chain"),
    ],
)
def test_return_within_the_province(returner: Unit, receiver: Unit, expected: str | None) -> None:
    assert reason(check_return_within, returner, receiver) == expected


def test_a_vaccinee_reference_is_opaque() -> None:
    base = {
        "client_document_id": "v1",
        "document_no": "V1",
        "business_time": "2024-04-02T10:00:00+08:00",
    }
    assert (
        Vaccination(**base, code="x", vaccinee_ref="child-42", vaccinator="李护士").vaccinee_ref
        == "child-42"
    )
    with pytest.raises(ValueError):
        Vaccination(**base, code="x", vaccinee_ref="张三 110101200001011234", vaccinator="李护士")
