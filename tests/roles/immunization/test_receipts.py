"""Receipt with scan verification (扫码验收), through the service on SQLite and PostgreSQL:
every scan decided and audited, against a MAH's shipping note or a CDC's distribution."""

from __future__ import annotations

import time
from typing import Any

import pytest
from province_world import (
    BOXES,
    CASE,
    CITY_CDC,
    CONTENTS,
    OTHER_MAH,
    POV,
    PROVINCE_CDC,
    Province,
    dose,
    refused,
)
from sqlalchemy import select

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
