"""Receipt with scan verification (107), through the service on SQLite and PostgreSQL: every
scan decided and audited, the receipt verified from the scans, the codes received put in stock,
the receipt reported to the MAH in the same transaction."""

from __future__ import annotations

import time
from typing import Any

import pytest
from province_world import (
    BOXES,
    CASE,
    CITY_CDC,
    CONTENTS,
    DOSES,
    MAH,
    OTHER_MAH,
    POV,
    PROVINCE_CDC,
    SHIPPED_AT,
    Province,
    dose,
    fields,
)
from sqlalchemy import select

from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.downstream import DownstreamBill, Verification
from vaxtrace.core.errors import DomainError
from vaxtrace.core.province import ReceivingNote
from vaxtrace.store.immunization.schema import receipt_scan

pytestmark = pytest.mark.filterwarnings("error")


def scans(province: Province) -> list[tuple[Any, ...]]:
    """The audit of the scans, in the order scanned, once what is pending is written."""
    province.svc.scan_audit.flush()
    return unflushed(province)


def unflushed(province: Province) -> list[tuple[Any, ...]]:
    """The audit of the scans as written so far, in the order scanned."""
    with province.engine.connect() as conn:
        query = select(
            receipt_scan.c.note_no,
            receipt_scan.c.code,
            receipt_scan.c.result,
            receipt_scan.c.reason,
            receipt_scan.c.operator_uscc,
        ).order_by(receipt_scan.c.scanned_at, receipt_scan.c.id)
        return [tuple(r) for r in conn.execute(query)]


def confirmation(note_no: str, **extra: Any) -> ReceivingNote:
    return ReceivingNote(shipping_note_no=note_no, **fields("rcv", **extra))


def refused(province: Province, reason: str, call: Any, *args: Any) -> DomainError:
    """The call is refused for ``reason`` and changes nothing at all."""
    before = province.counts()
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.reason == reason, caught.value.message
    assert province.counts() == before
    return caught.value


# --- scans ----------------------------------------------------------------------------------


def test_every_scan_is_decided_and_audited(province: Province) -> None:
    province.announce("FH1", [dose(1), dose(2)])
    province.announce("FH-CITY", [dose(3)], consignee=CITY_CDC)
    decide = province.svc.scan
    human = f"{dose(1)[:7]} {dose(1)[7:]}"
    answers = [
        decide(PROVINCE_CDC, "FH1", human),
        decide(PROVINCE_CDC, "FH1", dose(1)),
        decide(PROVINCE_CDC, "FH1", dose(9)),
        decide(PROVINCE_CDC, "FH1", "12345"),
        decide(PROVINCE_CDC, "FH-NONE", dose(1)),
        decide(PROVINCE_CDC, "FH-CITY", dose(3)),
        decide(POV, "FH1", dose(2)),
    ]
    assert [(a.result.value, a.reason.value) for a in answers] == [
        ("accepted", "on_note"),
        ("repeat", "already_scanned"),
        ("rejected", "not_on_note"),
        ("rejected", "malformed_code"),
        ("rejected", "unknown_note"),
        ("rejected", "wrong_consignee"),
        ("rejected", "wrong_consignee"),
    ]
    assert scans(province) == [
        ("FH1", dose(1), "accepted", "on_note", PROVINCE_CDC),
        ("FH1", dose(1), "repeat", "already_scanned", PROVINCE_CDC),
        ("FH1", dose(9), "rejected", "not_on_note", PROVINCE_CDC),
        ("FH1", "12345", "rejected", "malformed_code", PROVINCE_CDC),
        ("FH-NONE", dose(1), "rejected", "unknown_note", PROVINCE_CDC),
        ("FH-CITY", dose(3), "rejected", "wrong_consignee", PROVINCE_CDC),
        ("FH1", dose(2), "rejected", "wrong_consignee", POV),
    ]
    assert province.reports() == []  # scans report nothing; the receipt does


def test_a_repeat_or_rejected_scan_is_audited_in_a_batch_soon_after(province: Province) -> None:
    province.announce("FH1", [dose(1)])
    decide = province.svc.scan
    assert decide(PROVINCE_CDC, "FH1", dose(1)).result.value == "accepted"  # written at once
    assert decide(PROVINCE_CDC, "FH1", dose(1)).result.value == "repeat"
    assert decide(PROVINCE_CDC, "FH1", dose(2)).result.value == "rejected"
    wanted = [
        ("FH1", dose(1), "accepted", "on_note", PROVINCE_CDC),
        ("FH1", dose(1), "repeat", "already_scanned", PROVINCE_CDC),
        ("FH1", dose(2), "rejected", "not_on_note", PROVINCE_CDC),
    ]
    deadline = time.monotonic() + 10
    while unflushed(province) != wanted:  # the appender's own thread writes them
        assert time.monotonic() < deadline, unflushed(province)
        time.sleep(0.02)
    assert province.svc.scan_audit.others.pending == 0


def test_the_audit_pending_is_written_when_the_node_closes(province: Province) -> None:
    province.announce("FH1", [dose(1)])
    province.svc.scan_audit.others.interval = 3600  # no round of its own before the node closes
    for _ in range(3):
        province.svc.scan(PROVINCE_CDC, "FH-NONE", dose(1))
    province.svc.close()
    assert [r[2:4] for r in unflushed(province)] == [("rejected", "unknown_note")] * 3
    province.svc.scan(PROVINCE_CDC, "FH-NONE", dose(2))  # once closed, written as it comes
    assert len(unflushed(province)) == 4


def test_concurrent_scans_decide_as_if_one_after_another(province: Province) -> None:
    """Scans of a dose, its box and its case at once: each code is accepted at most once, and
    none after a container around it was (in the order the audit kept them)."""
    from concurrent.futures import ThreadPoolExecutor

    province.announce("FH1", [CASE], contents=CONTENTS)
    codes = [dose(1), BOXES[0], CASE] * 6
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda c: province.svc.scan(PROVINCE_CDC, "FH1", c), codes))
    assert {r.result.value for r in results} == {"accepted", "repeat"}
    province.svc.scan_audit.flush()
    with province.engine.connect() as conn:
        query = select(receipt_scan.c.code).where(receipt_scan.c.result == "accepted")
        accepted = list(conn.execute(query.order_by(receipt_scan.c.id)).scalars())
    assert len(accepted) == len(set(accepted)) == sum(r.result.value == "accepted" for r in results)
    around = {dose(1): [BOXES[0], CASE], BOXES[0]: [CASE], CASE: []}
    for n, code in enumerate(accepted):
        assert not set(around[code]) & set(accepted[:n]), accepted
    assert len(scans(province)) == len(codes)


def test_scans_inside_a_listed_case(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    decide = province.svc.scan
    assert decide(PROVINCE_CDC, "FH1", BOXES[0]).reason.value == "inside_listed_container"
    assert decide(PROVINCE_CDC, "FH1", dose(2)).reason.value == "inside_scanned_container"
    assert decide(PROVINCE_CDC, "FH1", CASE).reason.value == "on_note"
    assert decide(PROVINCE_CDC, "FH1", dose(5)).result.value == "repeat"


def test_two_mahs_notes_with_one_number_need_the_mah_named(province: Province) -> None:
    province.announce("FH1", [dose(1)])
    province.announce("FH1", [dose(2)], mah=OTHER_MAH)
    refused(province, "ambiguous_note", province.svc.scan, PROVINCE_CDC, "FH1", dose(1))
    assert province.svc.scan(PROVINCE_CDC, "FH1", dose(2), OTHER_MAH).reason.value == "on_note"
    assert province.svc.receipt(PROVINCE_CDC, "FH1", OTHER_MAH)["missing_count"] == 0


# --- confirming a receipt ---------------------------------------------------------------------


def test_a_verified_receipt_puts_the_codes_in_stock_and_reports_them(province: Province) -> None:
    province.announce("FH1", [CASE, dose(9)], contents=CONTENTS)
    for code in (*BOXES, dose(9)):
        province.svc.scan(PROVINCE_CDC, "FH1", code)
    request = confirmation("FH1")
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
    from vaxtrace.core.datasets import ReturnReason
    from vaxtrace.core.province import GoodsReturn

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


def test_concurrent_confirmations_close_a_note_once(province: Province) -> None:
    from concurrent.futures import ThreadPoolExecutor

    province.announce("FH1", [dose(1), dose(2)])
    province.svc.scan(PROVINCE_CDC, "FH1", dose(1))
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
    assert set(outcomes) <= {"written", "replayed", "note_closed"}
    assert len(province.reports()) == 1
    assert province.counts()["receiving_note"] == 1
