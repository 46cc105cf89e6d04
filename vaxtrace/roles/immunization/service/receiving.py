"""107 供应入库, the confirmation: what was scanned of a note (:mod:`.receipts`) since its last
confirmation goes into the receiver's stock and is reported to the codes' MAHs, naming the
shipper, once the journey's temperature record says it may be received; and a CDC's
distribution (209) becomes the expected receipt of the unit it supplies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from vaxtrace.core import province_replay
from vaxtrace.core.coldchain.decisions import ReceiptTemperature, receipt_temperature_decision
from vaxtrace.core.downstream import DownstreamBill, DownstreamEvent
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import Distribution, ReceivingNote, Unit
from vaxtrace.core.reasons import Reason
from vaxtrace.core.receipt import (
    ReceiptState,
    consignment,
    received_now,
    reported,
    state_after,
    verify_receipt,
)
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service.lookups import refuse_listed
from vaxtrace.roles.immunization.service.receipts import (
    goods_of,
    header_of,
    own_note,
    verification_of,
)
from vaxtrace.roles.immunization.service.writes import (
    SYSTEM_CLOCK,
    Step,
    province_write,
)
from vaxtrace.store.engine import Connection, Engine, RowMapping
from vaxtrace.store.immunization import coldchain as coldchain_store
from vaxtrace.store.immunization import receipts, stock
from vaxtrace.store.write_frame import WriteResult

DISTRIBUTION = "distribution"
"""The kind of expected receipt a CDC's distribution (209) is; a MAH's is a shipping note."""


def confirm_receipt(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: ReceivingNote,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """Confirm what was scanned of a note since its last confirmation: it goes into the
    actor's stock and the receipt (107) is reported to the codes' MAHs, naming the shipper; the
    note stays open for what comes late until everything on it was received."""

    def apply(conn: Connection, _acting: Unit, now: datetime) -> Step:
        row = own_note(conn, actor, request.shipping_note_no, request.shipper_uscc, lock=True)
        _refuse_closed(row)
        note = receipts.note_document(conn, row["event_id"])  # the header does not carry it
        _refuse_before_shipment(note, request)
        goods = goods_of(conn, row)
        scanned = receipts.accepted_codes(conn, row["event_id"])
        result = verify_receipt(goods, scanned)
        earlier = receipts.receipts_of(conn, row["event_id"])
        confirmed = receipts.received_before(earlier)
        placement = received_now(goods, scanned, confirmed)
        _refuse_nothing_new(placement, earlier)
        temperature = _journey(conn, actor, row)
        receipt_id = receipts.record_receiving_note(
            conn,
            note_event_id=row["event_id"],
            note_no=row["note_no"],
            shipper_uscc=row["shipper_uscc"],
            consignee_uscc=actor,
            document_no=request.document_no,
            client_document_id=request.client_document_id,
            verification=result.verification.value,
            reason=result.reason,
            expected_quantity=result.expected_quantity,
            actual_quantity=result.actual_quantity,
            business_time=request.business_time,
            recorded_at=now,
            received=[code for code, _ in placement],
        )
        received = _Received(placement, receipt_id, now, request.business_time)
        if row["kind"] == DISTRIBUTION:
            _take_in_transit(conn, actor, received)
            into_stock = province_replay.received(placement, receipt_id=receipt_id)
        else:
            batches = _put_in_stock(conn, row, actor, received)
            into_stock = province_replay.received(
                placement, receipt_id=receipt_id, mah_uscc=row["shipper_uscc"], batches=batches
            )
        state = state_after(result)
        receipts.set_state(conn, row["event_id"], state)
        event = DownstreamEvent(
            bill_type=DownstreamBill.RECEIPT,
            document_no=request.document_no,
            business_time=request.business_time,
            org_uscc=actor,
            counterparty_uscc=row["shipper_uscc"],
            codes=reported(goods, placement, confirmed),
            shipping_note_no=row["note_no"],
            verification=result.verification,
            reason=result.reason,
            expected_quantity=result.expected_quantity,
            actual_quantity=result.actual_quantity,
        )
        body = header_of(row) | {"state": state.value, "closed": state is ReceiptState.RECEIVED}
        body |= {"temperature": temperature.value}
        body |= verification_of(result) | {"in_stock": len(placement)}
        return Step(body, event, stock=into_stock)

    return province_write(engine, outbox, actor, "receipt", request, apply, clock)


def _refuse_closed(row: RowMapping) -> None:
    if row["state"] == ReceiptState.RECEIVED:
        raise DomainError(
            Reason.NOTE_CLOSED,
            f"everything on {row['note_no']} was received already",
            field="shipping_note_no",
        )


def _journey(conn: Connection, actor: str, row: RowMapping) -> ReceiptTemperature:
    """收货温度判定 of a delivery by its journey's temperature record (the transport records
    the receiver uploaded naming it) and its papers (the lot release of every batch): receive,
    or receive into quarantine (the dose gate keeps goods without a lot release out of use);
    refused when no record names the delivery or an excursion of its journey holds."""
    note_no = row["note_no"]
    records = coldchain_store.journey_records(conn, actor, note_no)
    in_range = not any(r["holds"] for r in records)
    papers = receipts.lot_released(conn, row["event_id"])
    decision = receipt_temperature_decision(bool(records), in_range, papers)
    if decision is not ReceiptTemperature.REFUSE:
        return decision
    if not records:
        raise DomainError(
            Reason.NO_TEMPERATURE_RECORD,
            f"no temperature record of the journey names {note_no}: upload the vehicle's or "
            f"cool box's logger record (kind transport, related_document_no {note_no}), then "
            "confirm",
            field="shipping_note_no",
        )
    held = [str(r["id"]) for r in records if r["holds"]]
    raise DomainError(
        Reason.TEMPERATURE_OUT_OF_RANGE,
        f"the journey of {note_no} left its temperature range (record {', '.join(held)}): do "
        "not receive the goods; keep them apart and tell the shipper, unless a named person "
        "judges the excursion usable",
        field="shipping_note_no",
    )


def _refuse_nothing_new(
    placement: Sequence[tuple[str, str | None]], earlier: Sequence[RowMapping]
) -> None:
    if placement:
        return
    if not earlier:
        raise DomainError(
            Reason.NOTHING_SCANNED,
            "no code of the note was scanned: scan the goods, then confirm",
            field="shipping_note_no",
        )
    raise DomainError(
        Reason.NOTHING_NEW,
        f"what was scanned was confirmed with {earlier[-1]['document_no']}: scan what came "
        "late, then confirm",
        field="shipping_note_no",
    )


@dataclass(frozen=True, slots=True)
class _Received:
    """What a confirmation puts in stock: the codes (:func:`received_now`), the receiving note
    they come with, when it was recorded and when the goods were received."""

    placement: Sequence[tuple[str, str | None]]
    receipt_id: int
    now: datetime
    at: datetime


def _put_in_stock(
    conn: Connection, row: RowMapping, actor: str, received: _Received
) -> dict[str, str]:
    """A MAH's goods come into the province: new codes of its stock; answers the batch of
    each (that has one)."""
    placement = received.placement
    _refuse_present(conn, [code for code, _ in placement])
    stock.clear_returned(conn)
    expected = receipts.expected_batches(conn, row["event_id"])
    batches = {code: expected[code][1] for code, _ in placement if code in expected}
    stock.put_in_stock(
        conn,
        placement,
        holder_uscc=actor,
        mah_uscc=row["shipper_uscc"],
        receipt_id=received.receipt_id,
        now=received.now,
        stepped_at=received.at,
        batches=batches,
    )
    return batches


def _take_in_transit(conn: Connection, actor: str, received: _Received) -> None:
    """A CDC's goods arrive: the codes in transit to the actor are in its stock now."""
    taken = stock.receive_in_transit(
        conn,
        received.placement,
        holder_uscc=actor,
        receipt_id=received.receipt_id,
        now=received.now,
        stepped_at=received.at,
    )
    if taken != len(received.placement):
        raise DomainError(
            Reason.STOCK_CHANGED,
            f"{len(received.placement) - taken} of the codes received are no longer on their "
            "way to you",
            field="shipping_note_no",
        )


def expect_distribution(
    conn: Connection, request: Distribution, supplier: str, listed: Sequence[str], now: datetime
) -> None:
    """A CDC's distribution (209) becomes an expected receipt of its receiver, with what it
    holds as the supplier's stock held it (call after the codes moved: ``stock.AFFECTED``)."""
    tree = stock.affected_tree(conn)
    contents: dict[str, list[str]] = {}
    for r in tree:
        if r["parent_code"] is not None:
            contents.setdefault(str(r["parent_code"]), []).append(str(r["code"]))
    goods = consignment(listed, contents)
    expected = goods.expected_codes()
    event_id = str(uuid4())
    receipts.record_expected_receipt(
        conn,
        event_id=event_id,
        shipper_uscc=supplier,
        note_no=request.document_no,
        consignee_uscc=request.receiver_uscc,
        doses=sum(goods.doses()[c] for c in goods.listed),
        note={
            "document_no": request.document_no,
            "business_time": request.business_time.isoformat(),
            "shipper_uscc": supplier,
            "consignee_uscc": request.receiver_uscc,
            "codes": list(listed),
        },
        announced_at=now,
        sequence=0,
        kind=DISTRIBUTION,
    )
    batches = {
        str(r["code"]): (str(r["mah_uscc"]), str(r["batch_no"]))
        for r in tree
        if r["batch_no"] is not None
    }
    receipts.record_expected_codes(conn, event_id, expected, batches)


def _refuse_before_shipment(note: dict[str, Any], request: ReceivingNote) -> None:
    shipped = note.get("business_time")
    if shipped and request.business_time < datetime.fromisoformat(shipped):
        raise DomainError(
            Reason.BEFORE_SHIPMENT,
            f"received before the goods were shipped ({shipped})",
            field="business_time",
        )


def _refuse_present(conn: Connection, codes: list[str]) -> None:
    stock.load_listed(conn, codes)
    present = stock.listed_present(conn)
    already = "the province has these codes already"
    refuse_listed(present, Reason.ALREADY_IN_STOCK, already, "shipping_note_no")
