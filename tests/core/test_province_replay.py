"""The province's stock rebuilt from journal entries alone (no database): receipts with their
containers and batches, movements with what is inside them, undo, returns that come back, the
MAH's statuses on codes and batches; an entry the stock could not have taken is named, and
the first row of a table that differs is named with the entry that should have produced it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from vaxtrace.core.province_replay import (
    StockReplay,
    StockRow,
    batches_kept,
    first_stock_difference,
    received,
    signalled_codes,
)
from vaxtrace.core.replay import LogBroken
from vaxtrace.sim.catalogue import make_uscc

CST = timezone(timedelta(hours=8))
T = datetime(2024, 4, 2, 10, 0, tzinfo=CST)
CDC, POV = make_uscc("12320000MB0000001"), make_uscc("12320102MB0000007")
MAH, OTHER_MAH = make_uscc("91320100MA1X00001"), make_uscc("91320200MA1X00002")
CASE, BOX1, BOX2 = "C1", "B1", "B2"
D = {n: f"D{n}" for n in range(1, 5)}
PLACEMENT = [(CASE, None), (BOX1, CASE), (BOX2, CASE), (D[1], BOX1), (D[2], BOX1), (D[3], BOX2)]
PLACEMENT += [(D[4], None)]
_ids = iter(range(1, 10_000))


def write(kind: str, org: str, bill: str, codes: list[str], **more: Any) -> dict[str, Any]:
    """A write's entry as the province journals it (the fields the replay reads)."""
    response = more.pop("response", {})
    stock = more.pop("stock", None)
    event = {"bill_type": bill, "business_time": T.isoformat(), "codes": codes} | more
    entry = {"id": next(_ids), "kind": kind, "org_uscc": org, "event": event, "response": response}
    return entry if stock is None else entry | {"stock": stock}


def receipt(org: str = CDC, placement: list[tuple[str, str | None]] = PLACEMENT) -> dict[str, Any]:
    batches = {code: "B2024001" for code, _ in placement}
    section = received(placement, receipt_id=7, mah_uscc=MAH, batches=batches)
    return write("receipt", org, "107", [CASE, D[4]], stock=section)


def signal(**fields: Any) -> dict[str, Any]:
    body = {"mah_uscc": MAH, "document_no": "SIG1", "business_time": T.isoformat()} | fields
    return {"id": next(_ids), "kind": "safety_signal", "signal": {"batch_nos": ["B2024001"]} | body}


def replayed(*entries: dict[str, Any]) -> StockReplay:
    replay = StockReplay()
    replay.apply_all(entries)
    return replay


def rows(replay: StockReplay) -> Iterator[StockRow]:
    """The table a faithful province would hold."""
    for code in replay.codes():
        s = replay.state_of(code)
        assert s is not None
        yield StockRow(
            code, s.parent, s.holder, s.state.value, s.mah, s.batch_no, s.mah_status,
            s.receipt_id, s.stepped_at,
        )  # fmt: skip


def test_a_receipt_puts_its_codes_in_stock_in_their_containers() -> None:
    entry = receipt()
    section = entry["stock"]
    assert section["into"] == "stock" and section["mah_uscc"] == MAH
    assert sum(len(codes) for _p, _b, codes in section["placed"]) == len(PLACEMENT)
    replay = replayed(entry)
    d1 = replay.state_of(D[1])
    assert d1 is not None and (d1.parent, d1.holder, d1.state.value) == (BOX1, CDC, "in_stock")
    assert (d1.mah, d1.batch_no, d1.receipt_id, d1.since) == (MAH, "B2024001", 7, entry["id"])
    assert d1.stepped_at == T.astimezone(UTC)
    assert first_stock_difference(replay, rows(replay)) is None


def test_a_distribution_moves_a_box_with_its_doses_out_of_its_case_until_received() -> None:
    dist = write("distribution", CDC, "209", [BOX1], counterparty_uscc=POV, response={"moved": 3})
    back = received([(BOX1, None), (D[1], BOX1)], receipt_id=8)
    replay = replayed(receipt(), dist)
    box, d1 = replay.state_of(BOX1), replay.state_of(D[1])
    assert box is not None and (box.parent, box.holder, box.state.value) == (
        None,
        POV,
        "in_transit",
    )
    assert d1 is not None and (d1.parent, d1.state.value) == (BOX1, "in_transit")
    assert replay.children[CASE] == [BOX2]
    replay.apply(write("receipt", POV, "107", [BOX1], stock=back))
    d1, d2 = replay.state_of(D[1]), replay.state_of(D[2])
    assert d1 is not None and (d1.state.value, d1.receipt_id) == ("in_stock", 8)
    assert d2 is not None and d2.state.value == "in_transit"  # not received yet


def test_a_vaccination_and_its_undo() -> None:
    replay = replayed(receipt(), write("vaccination", CDC, "322", [D[4]]))
    used = replay.state_of(D[4])
    assert used is not None and used.state.value == "used"
    undo = write("vaccination_undo", CDC, "323", [D[4]])
    replay.apply(undo)
    back = replay.state_of(D[4])
    assert back is not None and (back.state.value, back.since) == ("in_stock", undo["id"])


def test_a_return_to_the_mah_then_the_same_codes_received_again() -> None:
    gone = write(
        "return", CDC, "202", [BOX2], counterparty_uscc=MAH, response={"state": "returned"}
    )
    replay = replayed(receipt(), gone)
    d3 = replay.state_of(D[3])
    assert d3 is not None and (d3.holder, d3.state.value) == (MAH, "returned")
    again = receipt(placement=[(BOX2, None), (D[3], BOX2)])
    replay.apply(again)
    d3 = replay.state_of(D[3])
    assert d3 is not None and (d3.state.value, d3.since) == ("in_stock", again["id"])
    assert replay.children[CASE] == [BOX1] and replay.children[BOX2] == [D[3]]


def test_a_lock_on_a_code_reaches_what_it_holds_and_an_unlock_clears_pending_only() -> None:
    lock = signal(kind="lock", codes=[BOX1], lock_kind="pending", reason="复核")
    abnormal = signal(kind="lock", codes=[D[2]], lock_kind="abnormal", reason="x")
    unlock = signal(kind="unlock", codes=[BOX1])
    replay = replayed(receipt(), lock, abnormal, unlock)
    statuses = {c: s.mah_status for c in (BOX1, D[1], D[2], D[3]) if (s := replay.state_of(c))}
    assert statuses == {BOX1: None, D[1]: None, D[2]: "abnormal", D[3]: None}


def test_a_signal_of_another_mah_leaves_the_codes_alone() -> None:
    other = signal(kind="lock", codes=[D[1]], lock_kind="pending", mah_uscc=OTHER_MAH)
    replay = replayed(receipt(), other)
    found = replay.state_of(D[1])
    assert found is not None and found.mah_status is None


def test_signalled_codes_are_canonical_and_once() -> None:
    assert signalled_codes([" D1 ", "D1", "D2"]) == ["D1", "D2"]


def test_a_receipt_written_before_the_stock_was_journaled_breaks_the_replay() -> None:
    old = write("receipt", CDC, "107", [CASE])
    with pytest.raises(LogBroken) as broken:
        replayed(old)
    assert broken.value.event_id == old["id"]
    assert "does not say which codes it put in stock" in broken.value.message


def test_a_movement_of_a_code_the_actor_does_not_hold_breaks_the_replay() -> None:
    stray = write("damage", POV, "215", [D[4]])
    with pytest.raises(LogBroken) as broken:
        replayed(receipt(), stray)
    assert broken.value.event_id == stray["id"]
    assert f"moves {D[4]}, which must be in_stock at {POV}" in broken.value.message


def test_a_movement_that_moved_another_count_breaks_the_replay() -> None:
    dist = write("distribution", CDC, "209", [BOX1], counterparty_uscc=POV, response={"moved": 2})
    with pytest.raises(LogBroken, match="says it moved 2 codes"):
        replayed(receipt(), dist)


def test_each_kind_of_difference_is_named_with_its_entry() -> None:
    first = receipt()
    vaccinated = write("vaccination", CDC, "322", [D[4]])
    replay = replayed(first, vaccinated)
    faithful = list(rows(replay))
    used = next(r for r in faithful if r.code == D[4])

    back_in_stock = [r._replace(state="in_stock") if r is used else r for r in faithful]
    found = first_stock_difference(replay, back_in_stock)
    assert found is not None and (found.code, found.field, found.entry_id) == (
        D[4],
        "state",
        vaccinated["id"],
    )
    assert found.message == (
        f"code {D[4]}: state is in_stock in stock; the journal makes it used "
        f"(entry {vaccinated['id']}): altered"
    )

    deleted = [r for r in faithful if r.code != BOX2]
    found = first_stock_difference(replay, deleted)
    assert found is not None and (found.code, found.field) == (BOX2, "existence")
    assert found.message.endswith(f"left it in_stock at {CDC}: deleted")

    extra = sorted([*faithful, used._replace(code="D9")])
    found = first_stock_difference(replay, extra)
    assert found is not None and (found.code, found.entry_id) == ("D9", None)
    assert "inserted outside the log" in found.message

    moved = [r._replace(stepped_at=T) if r.code == CASE else r for r in faithful]
    assert first_stock_difference(replay, moved) is None  # the same instant, another zone
    earlier = [r._replace(stepped_at=T - timedelta(1)) if r.code == CASE else r for r in faithful]
    found = first_stock_difference(replay, earlier)
    assert found is not None and found.field == "stepped_at"


def test_rows_out_of_code_order_are_refused() -> None:
    replay = replayed(receipt())
    with pytest.raises(ValueError, match="code order"):
        first = next(rows(replay))
        first_stock_difference(replay, [first, first])


def test_batches_follow_their_facts_locks_and_recalls() -> None:
    facts = {
        "batch_no": "B2024001",
        "product_code": "HEPB-10",
        "production_date": "2024-01-10",
        "expiry_date": "2028-12-31",
        "lot_release": None,
    }
    noted = {"id": next(_ids), "kind": "batch_facts", "mah_uscc": MAH, "batches": [facts]}
    lock = signal(kind="lock", lock_kind="pending", reason="复核")
    code_lock = signal(kind="lock", codes=[D[1]], lock_kind="abnormal", reason="x")
    recall = signal(kind="recall", batch_nos=["B2024002"], recall_no="ZH-1")
    kept = {k.row["batch_no"]: k for k in batches_kept([noted, lock, code_lock, recall])}
    assert kept["B2024001"].entry_id == lock["id"]
    assert kept["B2024001"].row["lock_kind"] == "pending"
    assert kept["B2024001"].row["expiry_date"] == "2028-12-31"
    assert (
        kept["B2024002"].row["recall_no"] == "ZH-1" and kept["B2024002"].row["expiry_date"] is None
    )
    unlock = signal(kind="unlock")
    kept = {k.row["batch_no"]: k for k in batches_kept([noted, lock, unlock])}
    assert kept["B2024001"].row["lock_kind"] is None
