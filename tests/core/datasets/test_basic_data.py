"""Basic data as pydantic models: vaccine products with their packaging levels, and
organisations."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.core.datasets.datasets_world import MAH, refused
from vaxtrace.core.datasets.basic_data import (
    CodeFamilyName,
    LevelSpec,
    Organisation,
    OrgKind,
    PackagingLevel,
    VaccineProduct,
)

GTINS = ("06901234567892", "16901234567899", "26901234567896")  # one per level, valid checks


def product(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "product_code": "HEPB-10",
        "mah_uscc": MAH,
        "generic_name": "乙型肝炎疫苗(酿酒酵母)",
        "trade_name": "乙肝",
        "drug_standard_code": "86901234000012",
        "dosage_form": "注射剂",
        "strength": "10μg/0.5ml",
        "pack_spec": "1支/盒",
        "shelf_life_months": 36,
        "approval_number": "国药准字S20000001",
        "nip": True,
        "manufacturer": "某生物制品有限公司",
        "family": "gs1",
        "levels": [
            {"level": 1, "identification_code": GTINS[0]},
            {"level": 2, "identification_code": GTINS[1], "children": 10},
            {"level": 3, "identification_code": GTINS[2], "children": 50},
        ],
    }
    data.update(changes)
    return data


# --- vaccine product --------------------------------------------------------------------------


def test_a_valid_three_level_product() -> None:
    vaccine = VaccineProduct.model_validate(product())
    assert vaccine.family is CodeFamilyName.GS1
    assert [s.level for s in vaccine.levels] == [
        PackagingLevel.DOSE,
        PackagingLevel.BOX,
        PackagingLevel.CASE,
    ]
    assert vaccine.doses_per(1) == 1
    assert vaccine.doses_per(2) == 10
    assert vaccine.doses_per(3) == 500
    assert vaccine.storage_condition == "2-8°C"
    assert vaccine.imported is False


def test_a_valid_20_digit_family_product() -> None:
    levels = [
        {"level": 1, "identification_code": "8123451"},
        {"level": 2, "identification_code": "8123452", "children": 5},
    ]
    vaccine = VaccineProduct.model_validate(product(family="nmpa20", levels=levels))
    assert vaccine.doses_per(2) == 5
    assert vaccine.doses_per(3) == 5  # no level 3: a "case" is the top level


def test_a_one_level_product() -> None:
    vaccine = VaccineProduct.model_validate(
        product(levels=[{"level": 1, "identification_code": GTINS[0]}])
    )
    assert vaccine.doses_per(1) == 1


def test_product_strips_and_normalises() -> None:
    vaccine = VaccineProduct.model_validate(
        product(mah_uscc=" 91110000600037341l ", drug_standard_code=" 86901234000012 ")
    )
    assert vaccine.mah_uscc == MAH
    assert vaccine.drug_standard_code == "86901234000012"


def test_product_is_frozen_and_strict_about_fields() -> None:
    vaccine = VaccineProduct.model_validate(product())
    with pytest.raises(ValidationError):
        vaccine.nip = False  # type: ignore[misc]
    refused(VaccineProduct, product(colour="blue"), "colour")


@pytest.mark.parametrize("level", [2, 3])
def test_a_level_above_doses_must_say_how_many_it_holds(level: int) -> None:
    data = product()
    data["levels"][level - 1] = {"level": level, "identification_code": GTINS[level - 1]}
    refused(VaccineProduct, data, f"level {level} must say how many units it holds")


def test_a_dose_holds_nothing() -> None:
    data = product()
    data["levels"][0] = {"level": 1, "identification_code": GTINS[0], "children": 2}
    refused(VaccineProduct, data, "a dose (level 1) holds no units")


@pytest.mark.parametrize("numbers", [[2], [1, 3], [2, 1], [1, 2, 2], [1, 1]])
def test_levels_must_be_1_to_n_in_order(numbers: list[int]) -> None:
    levels = [
        {"level": n, "identification_code": GTINS[i], "children": 0 if n == 1 else 3}
        for i, n in enumerate(numbers)
    ]
    refused(VaccineProduct, product(levels=levels), "levels must be 1, 1–2 or 1–3, in order")


def test_no_more_than_three_levels_and_at_least_one() -> None:
    refused(VaccineProduct, product(levels=[]), "levels")
    four = [*product()["levels"], {"level": 3, "identification_code": GTINS[2], "children": 2}]
    refused(VaccineProduct, product(levels=four), "levels")


def test_each_level_needs_its_own_identification_code() -> None:
    data = product()
    data["levels"][2]["identification_code"] = GTINS[1]
    refused(VaccineProduct, data, "each packaging level needs its own identification code")


@pytest.mark.parametrize(
    "gtin", ["06901234567891", "0690123456789", "069012345678920", "0690123456789X"]
)
def test_gs1_product_needs_gtin_14_with_valid_check(gtin: str) -> None:
    data = product()
    data["levels"][0]["identification_code"] = gtin
    refused(VaccineProduct, data, "a GTIN-14 with a valid check digit")


@pytest.mark.parametrize("code", ["7123456", "812345", "81234567", "812345A"])
def test_nmpa20_product_needs_7_digits_beginning_with_8(code: str) -> None:
    levels = [{"level": 1, "identification_code": code}]
    refused(VaccineProduct, product(family="nmpa20", levels=levels), "7 digits beginning with 8")


def test_family_and_identification_code_must_agree() -> None:
    # GTINs under the 20-digit family and 7-digit codes under GS1 are both refused
    refused(VaccineProduct, product(family="nmpa20"), "7 digits beginning with 8")
    levels = [{"level": 1, "identification_code": "8123451"}]
    refused(VaccineProduct, product(levels=levels), "GTIN-14")


@pytest.mark.parametrize("uscc", ["91110000600037341M", "9111000060003734", "91110000600037341O"])
def test_product_refuses_a_bad_mah_uscc(uscc: str) -> None:
    refused(VaccineProduct, product(mah_uscc=uscc), "unified social credit code")


@pytest.mark.parametrize("code", ["86901234000013", "76901234000012", "8690123400001"])
def test_product_refuses_a_bad_drug_standard_code(code: str) -> None:
    refused(VaccineProduct, product(drug_standard_code=code), "drug standard code")


@pytest.mark.parametrize("months", [0, 121])
def test_shelf_life_bounds(months: int) -> None:
    refused(VaccineProduct, product(shelf_life_months=months), "shelf_life_months")


def test_level_children_bounds() -> None:
    with pytest.raises(ValidationError):
        LevelSpec(level=PackagingLevel.BOX, identification_code=GTINS[1], children=-1)
    with pytest.raises(ValidationError):
        LevelSpec(level=PackagingLevel.BOX, identification_code=GTINS[1], children=100_001)


# --- organisations ----------------------------------------------------------------------------


def test_an_organisation() -> None:
    org = Organisation(
        uscc=MAH, name="某某市疾病预防控制中心", kind=OrgKind.CDC, division_code="110105"
    )
    assert org.division_code == "110105"
    assert org.licences == ()


@pytest.mark.parametrize("division", ["11010", "000000", "110001", "ABCDEF"])
def test_organisation_refuses_a_bad_division_code(division: str) -> None:
    refused(
        Organisation,
        {"uscc": MAH, "name": "某某接种门诊部", "kind": "pov", "division_code": division},
        "division code",
    )


def test_organisation_refuses_a_bad_uscc() -> None:
    refused(
        Organisation,
        {
            "uscc": "91110000600037341M",
            "name": "某某接种门诊部",
            "kind": "pov",
            "division_code": "110105",
        },
        "checksum",
    )
