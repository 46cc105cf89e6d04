"""The receipt that confirms the scans (107 供应入库), through the service on SQLite and
PostgreSQL: the receipt verified from the scans, the codes received put in stock and reported
to the MAH in the same transaction; a short receipt completed later; a CDC's distribution
received at the site (or a lower CDC) the same way; the journey's temperature record
required."""

from __future__ import annotations

import pytest
from province_world import (
    BOXES,
    CASE,
    CITY_CDC,
    CONTENTS,
    DOSES,
    MAH,
    POV,
    PROVINCE_CDC,
    SHIPPED_AT,
    Province,
    confirmation,
    dose,
    fields,
    refused,
)

from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.downstream import DownstreamBill, Verification
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import ReceivingNote

pytestmark = pytest.mark.filterwarnings("error")


# --- confirming a receipt ---------------------------------------------------------------------


def test_a_verified_receipt_puts_the_codes_in_stock_and_reports_them(province: Province) -> None:
    province.announce("FH1", [CASE, dose(9)], contents=CONTENTS)
    for code in (*BOXES, dose(9)):
        province.svc.scan(PROVINCE_CDC, "FH1", code)
    request = confirmation("FH1")
    province.journey("FH1")
    result = province.svc.confirm_receipt(PROVINCE_CDC, request)
    assert not result.replayed
    body = result.body
    assert body["verification"] == "verified" and body["reason"] is None
    assert (body["expected_quantity"], body["actual_quantity"]) == (7, 7)
    assert body["received"] == 2 and body["in_stock"] == 1 + 2 + 6 + 1
    case_row = province.stock_of(CASE)
    assert case_row is not None
    assert (case_row["holder_uscc"], case_row["state"], case_row["parent_code"]) == (
        PROVINCE_CDC,
        "in_stock",
        None,
    )
    assert case_row["mah_uscc"] == MAH
    inner = province.stock_of(dose(5))
    assert inner is not None and inner["parent_code"] == BOXES[1]
    [(header, event)] = province.reports()
    assert header["event_subtype"] == "107" and header["data_owner"] == PROVINCE_CDC
    assert header["event_id"] == body["exchange_event_id"]
    assert event.bill_type is DownstreamBill.RECEIPT
    assert (event.org_uscc, event.counterparty_uscc) == (PROVINCE_CDC, MAH)
    assert event.codes == (CASE, dose(9))
    assert event.shipping_note_no == "FH1" and event.document_no == request.document_no
    assert event.verification is Verification.VERIFIED
    assert (event.expected_quantity, event.actual_quantity) == (7, 7)
    assert province.svc.expected(PROVINCE_CDC)[0]["closed"] is True


def test_a_short_delivery_fails_verification_and_reports_what_came(province: Province) -> None:
    codes = [dose(n) for n in range(1, 11)]
    province.announce("FH1", codes)
    result = province.receive("FH1", codes[3:])
    assert result.body["verification"] == "failed"
    assert result.body["reason"] == "missing_codes: 3 of 10 not scanned"
    assert result.body["missing"] == codes[:3]
    [(_header, event)] = province.reports()
    assert event.verification is Verification.FAILED
    assert event.reason == "missing_codes: 3 of 10 not scanned"
    assert (event.expected_quantity, event.actual_quantity) == (10, 7)
    assert event.codes == tuple(codes[3:])
    assert province.stock_of(codes[0]) is None


def test_a_receipt_is_confirmed_once_and_replayed_on_retry(province: Province) -> None:
    province.announce("FH1", [dose(1)])
    province.svc.scan(PROVINCE_CDC, "FH1", dose(1))
    province.journey("FH1")
    request = confirmation("FH1")
    first = province.svc.confirm_receipt(PROVINCE_CDC, request)
    before = province.counts()
    again = province.svc.confirm_receipt(PROVINCE_CDC, request)
    assert again.replayed and again.body == first.body
    assert province.counts() == before
    refused(
        province, "note_closed", province.svc.confirm_receipt, PROVINCE_CDC, confirmation("FH1")
    )
    other = confirmation("FH1").model_copy(
        update={"client_document_id": request.client_document_id}
    )
    refused(
        province, "client_document_id_reused", province.svc.confirm_receipt, PROVINCE_CDC, other
    )
    assert province.svc.scan(PROVINCE_CDC, "FH1", dose(1)).reason.value == "note_closed"
    assert len(province.reports()) == 1


def test_receipt_refusals_change_nothing(province: Province) -> None:
    province.announce("FH1", [dose(1), dose(2)])
    province.announce("FH-CITY", [dose(3)], consignee=CITY_CDC)
    confirm = province.svc.confirm_receipt
    refused(province, "nothing_scanned", confirm, PROVINCE_CDC, confirmation("FH1"))
    refused(province, "unknown_note", confirm, PROVINCE_CDC, confirmation("FH-NONE"))
    refused(province, "wrong_consignee", confirm, PROVINCE_CDC, confirmation("FH-CITY"))
    province.svc.scan(PROVINCE_CDC, "FH1", dose(1))
    early = confirmation("FH1", business_time=SHIPPED_AT.replace(hour=8))
    refused(province, "before_shipment", confirm, PROVINCE_CDC, early)
    assert province.reports() == []


def test_codes_in_stock_are_not_received_again(province: Province) -> None:
    province.announce("FH1", [dose(1)])
    province.receive("FH1", [dose(1)])
    province.announce("FH2", [dose(1), dose(2)])
    province.svc.scan(PROVINCE_CDC, "FH2", dose(1))
    province.journey("FH2")
    refused(
        province,
        "already_in_stock",
        province.svc.confirm_receipt,
        PROVINCE_CDC,
        confirmation("FH2"),
    )


def test_progress_of_a_receipt(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.svc.scan(PROVINCE_CDC, "FH1", BOXES[0])
    view = province.svc.receipt(PROVINCE_CDC, "FH1")
    assert view["closed"] is False and view["listed"] == 1
    assert (view["verification"], view["expected_quantity"], view["actual_quantity"]) == (
        "failed",
        6,
        3,
    )
    assert view["missing"] == [CASE]
    with pytest.raises(DomainError) as caught:
        province.svc.receipt(CITY_CDC, "FH1")
    assert caught.value.reason == "wrong_consignee"
    assert set(DOSES[BOXES[0]]) <= set(CONTENTS[BOXES[0]])


def test_a_returned_code_may_come_back(province: Province) -> None:
    from vaxtrace.core.datasets.movements import ReturnReason
    from vaxtrace.core.immunization import GoodsReturn

    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    province.svc.return_goods(
        PROVINCE_CDC,
        GoodsReturn(
            **fields("ret"), codes=(CASE,), counterparty_uscc=MAH, reason_code=ReturnReason.EXCESS
        ),
    )
    province.announce("FH2", [CASE], contents={CASE: [BOXES[0]]})
    assert province.receive("FH2", [CASE]).body["in_stock"] == 2
    assert province.stock_of(BOXES[1]) is None  # what stayed with the MAH is forgotten
    row = province.stock_of(BOXES[0])
    assert row is not None and row["state"] == "in_stock" and row["parent_code"] == CASE


def test_unknown_and_foreign_codes_on_a_note_never_break_it(province: Province) -> None:
    gs1 = "(01)06901234567892(21)SER001"
    province.announce("FH1", [gs1, "not-a-code", issue_nmpa20("8000009", 1)])
    assert province.svc.scan(PROVINCE_CDC, "FH1", "0106901234567892" + "21SER001").reason.value == (
        "on_note"
    )
    view = province.svc.receipt(PROVINCE_CDC, "FH1")
    assert view["missing"] == ["not-a-code", issue_nmpa20("8000009", 1)]


def test_concurrent_confirmations_receive_a_code_once(province: Province) -> None:
    from concurrent.futures import ThreadPoolExecutor

    province.announce("FH1", [dose(1), dose(2)])
    province.svc.scan(PROVINCE_CDC, "FH1", dose(1))
    province.journey("FH1")
    twin = confirmation("FH1")
    requests = [twin, twin, confirmation("FH1"), confirmation("FH1")]

    def confirm(request: ReceivingNote) -> str:
        try:
            result = province.svc.confirm_receipt(PROVINCE_CDC, request)
        except DomainError as exc:
            return exc.reason
        return "replayed" if result.replayed else "written"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(confirm, requests))
    assert outcomes.count("written") == 1
    assert set(outcomes) <= {"written", "replayed", "nothing_new"}
    assert len(province.reports()) == 1
    assert province.counts()["receiving_note"] == 1


# --- a partial receipt is completed later -------------------------------------------------------


def test_what_comes_late_completes_a_short_receipt(province: Province) -> None:
    codes = [dose(n) for n in range(1, 11)]
    province.announce("FH1", codes)
    first = province.receive("FH1", codes[3:])
    assert (first.body["state"], first.body["closed"]) == ("partial", False)
    assert province.svc.expected(PROVINCE_CDC)[0]["state"] == "partial"
    assert province.svc.scan(PROVINCE_CDC, "FH1", codes[4]).reason.value == "already_scanned"
    confirm = province.svc.confirm_receipt
    refused(province, "nothing_new", confirm, PROVINCE_CDC, confirmation("FH1"))

    second = province.receive("FH1", codes[:3])
    assert (second.body["state"], second.body["verification"]) == ("received", "verified")
    assert (second.body["actual_quantity"], second.body["in_stock"]) == (10, 3)
    assert [r["state"] for r in map(province.stock_of, codes) if r] == ["in_stock"] * 10
    [(_, late)] = province.reports()[1:]
    assert (late.codes, late.verification) == (tuple(codes[:3]), Verification.VERIFIED)
    assert (late.expected_quantity, late.actual_quantity) == (10, 10)
    view = province.svc.receipt(PROVINCE_CDC, "FH1")
    assert view["receiving_notes"] == [first.body["document_no"], second.body["document_no"]]
    assert view["closed"] is True
    refused(province, "note_closed", confirm, PROVINCE_CDC, confirmation("FH1"))
    assert province.svc.scan(PROVINCE_CDC, "FH1", codes[0]).reason.value == "note_closed"


def test_a_box_that_comes_late_is_not_put_back_into_its_opened_case(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [BOXES[0]])
    late = province.receive("FH1", [BOXES[1]])
    assert late.body["state"] == "received" and late.body["in_stock"] == 1 + 1 + 3
    placed = {c: province.stock_of(c) for c in (CASE, *BOXES, dose(1), dose(4))}
    assert {c: (r or {}).get("parent_code") for c, r in placed.items()} == {
        CASE: None,
        BOXES[0]: None,
        BOXES[1]: CASE,
        dose(1): BOXES[0],
        dose(4): BOXES[1],
    }
    # the case was opened at the door: the second receipt reports the box that came, not the
    # case (which would report the first box received twice)
    assert [e.codes for _, e in province.reports()] == [(BOXES[0],), (BOXES[1],)]


def test_progress_with_nothing_scanned_is_open_not_failed(province: Province) -> None:
    province.announce("FH1", [dose(1)])
    view = province.svc.receipt(PROVINCE_CDC, "FH1")
    assert (view["state"], view["verification"], view["reason"]) == (
        "open",
        None,
        "nothing scanned yet",
    )


# --- receipt at the site: a CDC's distribution (209) is expected there --------------------------


def distribute(province: Province, *codes: str, frm: str = PROVINCE_CDC, to: str = POV) -> str:
    """The CDC supplies ``codes`` to ``to``; answers the distribution's number."""
    from vaxtrace.core.immunization import Distribution

    request = Distribution(**fields("dist"), codes=codes, receiver_uscc=to)
    province.svc.distribute(frm, request)
    return request.document_no


@pytest.fixture
def sent(province: Province) -> str:
    """The provincial CDC received a case and sent both its boxes to the site."""
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    return distribute(province, *BOXES)


def test_a_distribution_is_in_transit_until_the_site_confirms_it(
    province: Province, sent: str
) -> None:
    [expected] = province.svc.expected(POV)
    assert {k: expected[k] for k in ("note_no", "kind", "shipper_uscc", "state")} == {
        "note_no": sent,
        "kind": "distribution",
        "shipper_uscc": PROVINCE_CDC,
        "state": "open",
    }
    assert expected["doses"] == 6 and expected["codes"] == list(BOXES)
    assert {province.svc.stock(POV)["by_state"].get("in_transit")} == {2 + 6}
    assert province.svc.check_dose(POV, dose(1))["reasons"] == ["receipt_not_confirmed"]

    assert province.svc.scan(POV, sent, dose(1)).reason.value == "inside_listed_container"
    assert province.svc.scan(POV, sent, CASE).reason.value == "not_on_note"
    assert province.svc.scan(PROVINCE_CDC, sent, BOXES[1]).reason.value == "wrong_consignee"
    province.journey(sent, POV)
    first = province.svc.confirm_receipt(POV, confirmation(sent))
    assert (first.body["state"], first.body["in_stock"]) == ("partial", 1)
    assert first.body["missing"] == list(BOXES)
    assert province.svc.check_dose(POV, dose(1))["allowed"] is True
    assert province.svc.check_dose(POV, dose(2))["reasons"] == ["receipt_not_confirmed"]

    assert province.svc.scan(POV, sent, BOXES[0]).result.value == "accepted"
    assert province.svc.scan(POV, sent, BOXES[1]).result.value == "accepted"
    second = province.svc.confirm_receipt(POV, confirmation(sent))
    assert (second.body["state"], second.body["verification"]) == ("received", "verified")
    assert second.body["in_stock"] == 2 + 5
    assert province.svc.stock(POV)["by_state"] == {"in_stock": 8}
    receipts = [e for _, e in province.reports() if e.org_uscc == POV]
    assert [(e.bill_type, e.counterparty_uscc, e.shipping_note_no) for e in receipts] == [
        (DownstreamBill.RECEIPT, PROVINCE_CDC, sent)
    ] * 2
    assert [e.codes for e in receipts] == [(dose(1),), (BOXES[1], *sorted(DOSES[BOXES[0]][1:]))]


def test_goods_in_transit_cannot_move_on(province: Province, sent: str) -> None:
    from vaxtrace.core.datasets.movements import ReturnReason
    from vaxtrace.core.immunization import GoodsReturn

    back = GoodsReturn(
        **fields("ret"),
        codes=(BOXES[0],),
        counterparty_uscc=PROVINCE_CDC,
        reason_code=ReturnReason.EXCESS,
    )
    refused(province, "in_transit", province.svc.return_goods, POV, back)
    refused(province, "in_transit", lambda: distribute(province, BOXES[0]))


def test_a_lower_cdc_receives_a_distribution_as_a_site_does(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    to_city = distribute(province, CASE, to=CITY_CDC)
    refused(province, "in_transit", lambda: distribute(province, BOXES[0], frm=CITY_CDC))
    province.receive(to_city, [CASE], actor=CITY_CDC)
    to_site = distribute(province, BOXES[0], frm=CITY_CDC)
    province.receive(to_site, [BOXES[0]], actor=POV)
    assert province.svc.check_dose(POV, dose(2))["allowed"] is True
    assert [e.counterparty_uscc for _, e in province.reports() if e.org_uscc == POV] == [CITY_CDC]


def test_a_site_scanning_a_locked_batch_sees_it_flagged(province: Province, sent: str) -> None:
    from province_world import BATCH_NO

    province.signal(batch_nos=[BATCH_NO], kind="lock", lock_kind="pending", reason="review")
    decision = province.svc.scan(POV, sent, BOXES[0])
    assert decision.result.value == "accepted" and "locked" in decision.flags


def test_a_distribution_numbered_as_a_mahs_note_needs_the_shipper_named(
    province: Province,
) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    sent = distribute(province, BOXES[0])
    province.announce(sent, [dose(9)], consignee=POV)
    refused(province, "ambiguous_note", province.svc.scan, POV, sent, BOXES[0])
    assert province.svc.scan(POV, sent, BOXES[0], PROVINCE_CDC).result.value == "accepted"
    assert province.svc.scan(POV, sent, dose(9), MAH).result.value == "accepted"


# --- the journey's temperature record ---------------------------------------------------------


def test_a_receipt_needs_its_journeys_temperature_record(province: Province) -> None:
    province.announce("FH1", [dose(1)])
    province.svc.scan(PROVINCE_CDC, "FH1", dose(1))
    confirm = province.svc.confirm_receipt
    refused(province, "no_temperature_record", confirm, PROVINCE_CDC, confirmation("FH1"))
    province.journey("FH-OTHER")  # another delivery's journey does not count
    refused(province, "no_temperature_record", confirm, PROVINCE_CDC, confirmation("FH1"))
    trip = province.journey("FH1")
    assert trip.body["excursions"] == []  # nothing in the fridge is held by a journey
    assert confirm(PROVINCE_CDC, confirmation("FH1")).body["temperature"] == "receive"


def test_a_journey_out_of_range_refuses_the_receipt_until_judged_usable(
    province: Province,
) -> None:
    from vaxtrace.core.coldchain.decisions import ExcursionDecision

    province.announce("FH1", [dose(1)])
    province.receive("FH1", [dose(1)])  # in the fridge already
    province.announce("FH2", [dose(2)])
    province.svc.scan(PROVINCE_CDC, "FH2", dose(2))
    frozen = province.journey("FH2", celsius=-1.5)
    [excursion] = frozen.body["excursions"]
    assert excursion["codes_held"] == 0  # the journey holds nothing of the fridge's stock
    confirm = province.svc.confirm_receipt
    error = refused(
        province, "temperature_out_of_range", confirm, PROVINCE_CDC, confirmation("FH2")
    )
    assert f"record {frozen.body['record_id']}" in error.message
    decision = ExcursionDecision(
        decision="usable", decided_by="王主任", reason="not frozen: the shake test passed"
    )
    province.svc.decide_excursion(PROVINCE_CDC, excursion["id"], decision)
    assert confirm(PROVINCE_CDC, confirmation("FH2")).body["state"] == "received"


def test_goods_without_their_lot_release_are_received_into_quarantine(
    province: Province,
) -> None:
    from province_world import batch_entry

    province.announce("FH1", [dose(1)], batches=[batch_entry([dose(1)], released=False)])
    result = province.receive("FH1", [dose(1)])
    assert result.body["temperature"] == "quarantine" and result.body["in_stock"] == 1


def test_what_came_first_may_move_on_before_the_rest_comes(province: Province) -> None:
    """The CDC received one box of a case, supplied it to the site, which received it; the
    other box comes late: the CDC's second confirmation receives only that box (the first,
    now the site's, is not taken for new)."""
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [BOXES[0]])
    province.receive(distribute(province, BOXES[0]), [BOXES[0]], actor=POV)
    late = province.receive("FH1", [BOXES[1]])
    assert (late.body["state"], late.body["in_stock"]) == ("received", 1 + 1 + 3)
    assert (province.stock_of(dose(1)) or {}).get("holder_uscc") == POV
    assert [e.codes for _, e in province.reports() if e.shipping_note_no == "FH1"] == [
        (BOXES[0],),
        (BOXES[1],),
    ]
