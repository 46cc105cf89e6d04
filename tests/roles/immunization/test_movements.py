"""Distribution (209), vaccination (322), returns (202) and damage (215) through the service on
SQLite and PostgreSQL: codes move with what is inside them, every refusal changes nothing, a
retry is answered once, and each write is reported through the outbox."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from province_world import (
    BATCH_NO,
    BOXES,
    CASE,
    CITY_CDC,
    CONTENTS,
    DOSES,
    MAH,
    OTHER_CITY_CDC,
    OTHER_MAH,
    OTHER_POV,
    POV,
    PROVINCE_CDC,
    Province,
    dose,
    fields,
)

from vaxtrace.core.codes import element_string, parse_code
from vaxtrace.core.datasets.movements import ReturnReason
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import DamageReport, Distribution, GoodsReturn, Vaccination

GS1_DOSE = "0106901234567892" + "21SER001"


@pytest.fixture
def stocked(province: Province) -> Province:
    """The provincial CDC received a case (two boxes of three doses) and a loose GS1 dose."""
    province.announce("FH1", [CASE, GS1_DOSE], contents=CONTENTS)
    province.receive("FH1", [CASE, GS1_DOSE])
    return province


def distribution(*codes: str, to: str = POV, **extra: Any) -> Distribution:
    return Distribution(**fields("dist", **extra), codes=codes, receiver_uscc=to)


def vaccination(code: str, **extra: Any) -> Vaccination:
    return Vaccination(**fields("vac", **extra), code=code, vaccinator="李护士")


def goods_return(*codes: str, to: str = MAH, **extra: Any) -> GoodsReturn:
    return GoodsReturn(
        **fields("ret", **extra),
        codes=codes,
        counterparty_uscc=to,
        reason_code=ReturnReason.QUALITY,
    )


def damage(*codes: str) -> DamageReport:
    return DamageReport(**fields("dmg"), codes=codes, reason="frozen in transport")


AUDIT = "dose_check"
"""The dose gate's audit: a refused vaccination is kept there, and only there."""


def refused(province: Province, reason: str, call: Any, *args: Any) -> DomainError:
    """The call is refused for ``reason`` and changes nothing but the gate's audit."""
    before = province.counts()
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.reason == reason, caught.value.message
    after = province.counts()
    assert after[AUDIT] - before[AUDIT] == (1 if "reasons" in caught.value.details else 0)
    assert {**after, AUDIT: 0} == {**before, AUDIT: 0}
    return caught.value


def held(province: Province, code: str) -> tuple[Any, ...]:
    row = province.stock_of(code)
    assert row is not None, code
    return row["holder_uscc"], row["state"], row["parent_code"]


def last_report(province: Province) -> Any:
    header, event = province.reports()[-1]
    assert header["data_owner"] == event.org_uscc
    assert header["event_subtype"] == event.bill_type.value
    return event


# --- 209 distribution ---------------------------------------------------------------------------


def test_a_box_taken_from_an_opened_case_moves_with_its_doses(stocked: Province) -> None:
    request = distribution(BOXES[0])
    result = stocked.svc.distribute(PROVINCE_CDC, request)
    assert result.body["codes"] == 1 and result.body["moved"] == 4
    assert result.body["unpacked"] == [BOXES[0]]
    assert held(stocked, BOXES[0]) == (POV, "in_transit", None)
    assert held(stocked, dose(2)) == (POV, "in_transit", BOXES[0])
    assert held(stocked, CASE) == (PROVINCE_CDC, "in_stock", None)
    assert held(stocked, BOXES[1]) == (PROVINCE_CDC, "in_stock", CASE)
    event = last_report(stocked)
    assert event.bill_type is DownstreamBill.DISTRIBUTION
    assert (event.org_uscc, event.counterparty_uscc, event.codes) == (
        PROVINCE_CDC,
        POV,
        (BOXES[0],),
    )
    stocked.receive(request.document_no, [BOXES[0]], actor=POV)
    assert held(stocked, BOXES[0]) == (POV, "in_stock", None)
    assert held(stocked, dose(2)) == (POV, "in_stock", BOXES[0])
    event = last_report(stocked)
    assert (event.bill_type, event.org_uscc, event.counterparty_uscc, event.codes) == (
        DownstreamBill.RECEIPT,
        POV,
        PROVINCE_CDC,
        (BOXES[0],),
    )
    assert event.shipping_note_no == request.document_no


def test_a_whole_case_goes_down_the_chain(stocked: Province) -> None:
    stocked.supply(PROVINCE_CDC, distribution(CASE, to=CITY_CDC))
    assert held(stocked, dose(5)) == (CITY_CDC, "in_stock", BOXES[1])
    stocked.supply(CITY_CDC, distribution(BOXES[1], to=POV))
    assert held(stocked, dose(5)) == (POV, "in_stock", BOXES[1])
    bills = [e.bill_type.value for _, e in stocked.reports()]
    assert bills == ["107", "209", "107", "209", "107"]


def test_distribution_refusals_change_nothing(stocked: Province) -> None:
    go = stocked.svc.distribute
    refused(stocked, "unknown_code", go, PROVINCE_CDC, distribution(dose(99)))
    refused(stocked, "bad_length", go, PROVINCE_CDC, distribution("12345"))
    refused(stocked, "duplicate_code", go, PROVINCE_CDC, distribution(dose(1), dose(1)))
    refused(stocked, "listed_twice", go, PROVINCE_CDC, distribution(BOXES[0], dose(1)))
    refused(stocked, "not_held", go, CITY_CDC, distribution(dose(1)))
    refused(stocked, "supplier_not_cdc", go, POV, distribution(dose(1), to=OTHER_POV))
    refused(stocked, "unknown_organisation", go, PROVINCE_CDC, distribution(dose(1), to=MAH))
    refused(stocked, "supply_to_self", go, PROVINCE_CDC, distribution(dose(1), to=PROVINCE_CDC))
    stocked.supply(PROVINCE_CDC, distribution(CASE, to=CITY_CDC))
    refused(stocked, "outside_jurisdiction", go, CITY_CDC, distribution(dose(1), to=OTHER_POV))
    refused(stocked, "outside_jurisdiction", go, CITY_CDC, distribution(dose(1), to=OTHER_CITY_CDC))


def test_a_retry_is_answered_once(stocked: Province) -> None:
    request = distribution(BOXES[0])
    first = stocked.svc.distribute(PROVINCE_CDC, request)
    before = stocked.counts()
    again = stocked.svc.distribute(PROVINCE_CDC, request)
    assert again.replayed and again.body == first.body
    assert stocked.counts() == before
    other = distribution(BOXES[1]).model_copy(
        update={"client_document_id": request.client_document_id}
    )
    refused(stocked, "client_document_id_reused", stocked.svc.distribute, PROVINCE_CDC, other)


# --- 322 vaccination ------------------------------------------------------------------------


def test_a_dose_is_used_from_its_box(stocked: Province) -> None:
    stocked.supply(PROVINCE_CDC, distribution(BOXES[0]))
    result = stocked.svc.vaccinate(POV, vaccination(dose(2), vaccinee_ref="child-000042"))
    assert result.body["code"] == dose(2) and result.body["unpacked"] == [dose(2)]
    assert held(stocked, dose(2)) == (POV, "used", None)
    assert held(stocked, dose(1)) == (POV, "in_stock", BOXES[0])
    header, event = stocked.reports()[-1]
    assert header["event_subtype"] == "322"
    assert (event.org_uscc, event.codes, event.counterparty_uscc) == (POV, (dose(2),), None)
    assert "child-000042" not in str(event.model_dump()) and "vaccinee" not in str(header)


def test_vaccination_refusals_change_nothing(stocked: Province) -> None:
    stocked.supply(PROVINCE_CDC, distribution(BOXES[0], GS1_DOSE))
    stocked.svc.vaccinate(POV, vaccination(dose(1)))
    use = stocked.svc.vaccinate
    refused(stocked, "already_used", use, POV, vaccination(dose(1)))
    refused(stocked, "not_a_dose", use, POV, vaccination(BOXES[0]))
    refused(stocked, "wrong_organisation_kind", use, PROVINCE_CDC, vaccination(dose(4)))
    refused(stocked, "not_held", use, OTHER_POV, vaccination(dose(2)))
    refused(stocked, "unknown_code", use, POV, vaccination(dose(99)))
    # the label is checked against the MAH's batch record, never trusted alone
    mislabelled = element_string(parse_code(GS1_DOSE), batch_no="L1", expiry=date(2024, 3, 31))
    error = refused(stocked, "lot_mismatch", use, POV, vaccination(mislabelled))
    assert error.details["reasons"] == ["lot_mismatch", "expiry_mismatch"]
    labelled = element_string(parse_code(GS1_DOSE), batch_no=BATCH_NO, expiry=date(2028, 12, 31))
    assert use(POV, vaccination(labelled)).body["code"] == GS1_DOSE


# --- 202 returns and 215 damage ------------------------------------------------------------


def test_a_return_goes_up_to_a_cdc_or_back_to_the_mah(stocked: Province) -> None:
    stocked.supply(PROVINCE_CDC, distribution(CASE, to=CITY_CDC))
    stocked.supply(CITY_CDC, distribution(BOXES[0], to=POV))
    up = stocked.svc.return_goods(POV, goods_return(dose(1), to=CITY_CDC))
    assert up.body["state"] == "in_stock"
    assert held(stocked, dose(1)) == (CITY_CDC, "in_stock", None)
    out = stocked.svc.return_goods(CITY_CDC, goods_return(BOXES[1], to=MAH))
    assert out.body["state"] == "returned" and out.body["moved"] == 4
    assert held(stocked, dose(5)) == (MAH, "returned", BOXES[1])
    event = last_report(stocked)
    assert event.bill_type is DownstreamBill.RETURN
    assert (event.counterparty_uscc, event.return_reason) == (MAH, ReturnReason.QUALITY)


def test_return_refusals_change_nothing(stocked: Province) -> None:
    stocked.svc.distribute(PROVINCE_CDC, distribution(BOXES[0], to=POV))
    back = stocked.svc.return_goods
    refused(stocked, "not_the_supplier", back, PROVINCE_CDC, goods_return(CASE, to=OTHER_MAH))
    refused(stocked, "return_not_to_cdc", back, POV, goods_return(dose(1), to=OTHER_POV))
    refused(stocked, "not_up_the_chain", back, POV, goods_return(dose(1), to=OTHER_CITY_CDC))
    refused(stocked, "not_up_the_chain", back, PROVINCE_CDC, goods_return(CASE, to=CITY_CDC))
    refused(stocked, "return_to_self", back, PROVINCE_CDC, goods_return(CASE, to=PROVINCE_CDC))
    stocked.svc.return_goods(PROVINCE_CDC, goods_return(CASE, to=MAH))
    refused(stocked, "returned", back, PROVINCE_CDC, goods_return(CASE, to=MAH))


def test_damage_takes_codes_out_of_stock(stocked: Province) -> None:
    result = stocked.svc.report_damage(PROVINCE_CDC, damage(BOXES[1]))
    assert result.body["moved"] == 4
    assert held(stocked, dose(6)) == (PROVINCE_CDC, "damaged", BOXES[1])
    assert held(stocked, BOXES[1]) == (PROVINCE_CDC, "damaged", None)
    event = last_report(stocked)
    assert (event.bill_type, event.reason) == (DownstreamBill.DAMAGE, "frozen in transport")
    refused(stocked, "damaged", stocked.svc.report_damage, PROVINCE_CDC, damage(dose(6)))
    refused(stocked, "damaged", stocked.svc.distribute, PROVINCE_CDC, distribution(BOXES[1]))


# --- the stock as a unit sees it -------------------------------------------------------------


def test_stock_summary_and_lookup(stocked: Province) -> None:
    stocked.supply(PROVINCE_CDC, distribution(BOXES[0]))
    stocked.svc.vaccinate(POV, vaccination(dose(3)))
    cdc = stocked.svc.stock(PROVINCE_CDC)
    assert cdc["by_state"] == {"in_stock": 1 + 1 + 3 + 1}
    assert cdc["in_stock"] == [  # outermost codes, in code order
        {"code": GS1_DOSE, "mah_uscc": MAH, "inside": 0},
        {"code": CASE, "mah_uscc": MAH, "inside": 1},
    ]
    assert cdc["truncated"] is False
    pov = stocked.svc.stock(POV)
    assert pov["by_state"] == {"in_stock": 3, "used": 1}
    box = stocked.svc.stock(POV, f"{BOXES[0][:7]} {BOXES[0][7:]}")
    assert box["inside"] == [d for d in DOSES[BOXES[0]] if d != dose(3)]
    assert stocked.svc.stock(POV, dose(3))["state"] == "used"
    with pytest.raises(DomainError) as caught:
        stocked.svc.stock(POV, CASE)
    assert caught.value.reason == "not_in_your_stock"


def test_concurrent_movements_of_one_box_move_it_once(stocked: Province) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def go(request: Distribution) -> str:
        try:
            stocked.svc.distribute(PROVINCE_CDC, request)
        except DomainError as exc:
            return exc.reason
        return "written"

    requests = [distribution(BOXES[0], to=POV if n % 2 else CITY_CDC) for n in range(4)]
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(go, requests))
    assert outcomes.count("written") == 1, outcomes
    assert set(outcomes) <= {"written", "in_transit", "not_held", "stock_changed"}
    assert [e.bill_type.value for _, e in stocked.reports()] == ["107", "209"]
    holder = held(stocked, dose(1))[0]
    assert holder in (POV, CITY_CDC) and held(stocked, BOXES[0])[0] == holder
