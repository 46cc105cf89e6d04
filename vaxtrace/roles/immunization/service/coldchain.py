"""冷链: CDCs and vaccination sites record their fridges' and vehicles' temperatures (readings
sent as JSON, or a logger's CSV); an excursion in a fridge holds what the unit had in stock by
its end until a named person decides usable or abnormal.

A storage record is judged together with the readings the unit already recorded for the same
equipment around it (as far back as the longest rule window), so freezes split over several
uploads still add up; an excursion already recorded is not raised again. A transport record
is judged on its own: it is one journey, that of the delivery it names
(``related_document_no``); it holds nothing in the unit's fridge, and the receipt of that
delivery is refused while an excursion of its journey holds (see receiving.confirm_receipt).

Simplification: the unit keeps one fridge per equipment id, and an excursion holds every code
the unit had in stock by its end (its stock has no history of which fridge each code sat in).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vaxtrace.core.coldchain.decisions import ExcursionDecision, ExcursionState
from vaxtrace.core.coldchain.excursions import Evaluation, Excursion, evaluate
from vaxtrace.core.coldchain.logger_csv import LoggerFile, parse_logger_csv
from vaxtrace.core.coldchain.readings import (
    CLOCK_SKEW,
    Reading,
    TemperatureHeader,
    TemperatureUpload,
    Where,
    check_series,
    in_json,
)
from vaxtrace.core.coldchain.rules import Tier, rule_book
from vaxtrace.core.digests import joined_digest
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.times import as_utc
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service.excursion_reports import report_excursion
from vaxtrace.roles.immunization.service.lookups import unit
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx
from vaxtrace.store.immunization import coldchain as store
from vaxtrace.store.write_frame import WriteKey, WriteResult, apply_once, write_once

OPERATION = "temperature_record"
CSV_MAX_BYTES = 16 * 1024 * 1024
"""A logger's CSV: 200,000 readings of ~40 bytes fit easily."""
NOTICES_SHOWN = 20
CODES_SHOWN = 1_000


def record_temperatures(
    engine: Engine,
    actor: str,
    upload: TemperatureUpload,
    *,
    now: datetime | None = None,
    outbox: Outbox | None = None,
) -> WriteResult:
    """温度记录 sent as JSON readings."""
    key = _key(actor, upload, "json", upload.model_dump_json().encode())
    return _record(engine, key, upload, upload.series(), in_json, "json", now, outbox)


def record_logger_file(
    engine: Engine,
    actor: str,
    header: TemperatureHeader,
    content: bytes,
    *,
    now: datetime | None = None,
    outbox: Outbox | None = None,
) -> WriteResult:
    """温度记录 from a logger's CSV (``time,celsius``); a refusal names the file's line."""
    if len(content) > CSV_MAX_BYTES:
        raise DomainError(
            Reason.FILE_TOO_LARGE, f"the file is larger than {CSV_MAX_BYTES} bytes", field="file"
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DomainError(
            Reason.FILE_NOT_UTF8, f"the file is not UTF-8 text (byte {exc.start})", field="file"
        ) from None
    parsed: LoggerFile = parse_logger_csv(text)
    key = _key(actor, header, "csv", header.model_dump_json().encode(), content)
    return _record(engine, key, header, parsed.readings, parsed.where, "csv", now, outbox)


def _key(actor: str, header: TemperatureHeader, source: str, *parts: bytes) -> WriteKey:
    """What identifies a temperature record and what its retry must repeat."""
    digest = joined_digest(f"{OPERATION}:{source}", *parts)
    return WriteKey(actor, header.client_document_id, OPERATION, digest)


def _find_record(conn: Connection, actor: str, client_document_id: str) -> Mapping[str, Any] | None:
    """The write log of temperature records is the records themselves (of one operation)."""
    row = store.find_record(conn, actor, client_document_id)
    return None if row is None else {**row, "operation": OPERATION}


def _record(
    engine: Engine,
    key: WriteKey,
    header: TemperatureHeader,
    readings: list[Reading],
    where: Where,
    source: str,
    now: datetime | None,
    outbox: Outbox | None = None,
) -> WriteResult:
    actor, digest = key.actor, key.request_sha256

    def first_write(conn: Connection) -> WriteResult:
        unit(conn, actor)
        at = now or datetime.now(UTC)
        check_series(readings, now=at, clock_skew=CLOCK_SKEW, where=where)
        rule_set = rule_book().in_force(header.product_class, readings[0].time)
        record_id, next_excursion = store.next_ids(conn)
        fresh, series = _merge_with_stored(conn, actor, header, readings, where, rule_set.lookback)
        evaluation = evaluate(series, rule_set)
        span = (readings[0].time, readings[-1].time)
        new, known = _sort_out(conn, actor, header, evaluation, span)
        held = {found: _held_by(conn, actor, header, found) for found in new}
        ids = dict(zip(new, range(next_excursion, next_excursion + len(new)), strict=True))
        body = _answer(record_id, header, readings, fresh, evaluation, span, ids, known, held)
        kept = _Kept(actor, header, record_id, at)
        store.add_record(conn, _record_row(kept, digest, source, readings, body, rule_set.key))
        store.add_readings(
            conn,
            unit_uscc=actor,
            equipment_id=header.equipment_id,
            record_id=record_id,
            readings=fresh,
        )
        for found, excursion_id in ids.items():
            row = _excursion_row(kept, excursion_id, rule_set.key, found) | {"codes": held[found]}
            store.add_excursion(conn, row, hold=header.kind == "storage")
            journey = {"related_document_no": header.related_document_no}
            report_excursion(conn, outbox, row | {"document_no": header.document_no} | journey)
        return WriteResult(body, replayed=False)

    return write_once(engine, _find_record, key, first_write)


def _held_by(conn: Connection, actor: str, header: TemperatureHeader, found: Excursion) -> int:
    """How many codes an excursion holds: what the unit had in the fridge by its end; none
    for a journey (a transport record), whose goods are judged when their receipt is
    confirmed (see receiving.confirm_receipt)."""
    if header.kind != "storage":
        return 0
    return store.in_stock_count(conn, actor, found.end)


def _merge_with_stored(
    conn: Connection,
    actor: str,
    header: TemperatureHeader,
    readings: list[Reading],
    where: Where,
    lookback: timedelta,
) -> tuple[list[Reading], list[Reading]]:
    """The readings not stored before, and the series to judge: for a storage record, the
    new readings among those already stored around them; for a transport record, its own.
    A reading stored before with another temperature is refused."""
    first, last = readings[0].time, readings[-1].time
    around = lookback if header.kind == "storage" else timedelta(0)
    stored = store.readings_between(conn, actor, header.equipment_id, first - around, last + around)
    fresh = []
    for i, reading in enumerate(readings):
        before = stored.get(reading.time.astimezone(UTC))
        if before is None:
            fresh.append(reading)
        elif before != reading.celsius:
            field, label = where(i, "celsius")
            raise DomainError(
                Reason.READING_CONFLICT,
                f"{label}: {header.equipment_id} was already recorded at "
                f"{reading.time.isoformat()} with {before} °C, not {reading.celsius} °C",
                field=field,
            )
    if header.kind != "storage":
        return fresh, readings
    merged = {time: celsius for time, celsius in stored.items()}
    merged.update({r.time.astimezone(UTC): r.celsius for r in readings})
    return fresh, [Reading(time, merged[time]) for time in sorted(merged)]


def _sort_out(
    conn: Connection,
    actor: str,
    header: TemperatureHeader,
    evaluation: Evaluation,
    span: tuple[datetime, datetime],
) -> tuple[list[Excursion], dict[Excursion, int]]:
    """Holding excursions new to this equipment, and those already recorded (by their id)."""
    new: list[Excursion] = []
    known: dict[Excursion, int] = {}
    for found in evaluation.holding:
        prior = store.overlapping_excursion(
            conn,
            unit_uscc=actor,
            equipment_id=header.equipment_id,
            rule_id=found.rule_id,
            start=found.start,
            end=found.end,
        )
        if prior is not None:
            if _touches(found, span):
                known[found] = prior
        else:
            new.append(found)
    return new, known


def _touches(found: Excursion, span: tuple[datetime, datetime]) -> bool:
    return found.start <= span[1] and found.end >= span[0]


def _answer(
    record_id: int,
    header: TemperatureHeader,
    readings: list[Reading],
    fresh: list[Reading],
    evaluation: Evaluation,
    span: tuple[datetime, datetime],
    ids: dict[Excursion, int],
    known: dict[Excursion, int],
    held: Mapping[Excursion, int],
) -> dict[str, Any]:
    notices = [e for e in evaluation.excursions if not e.holds and _touches(e, span)]
    seen = [*ids, *known, *notices]
    tier = max((e.tier for e in seen), key=lambda t: t.rank, default=None)
    return {
        "record_id": record_id,
        "document_no": header.document_no,
        "equipment_id": header.equipment_id,
        "kind": header.kind,
        "product_class": header.product_class,
        "rule_set": evaluation.rule_set.key,
        "related_document_no": header.related_document_no,
        "readings": len(readings),
        "new_readings": len(fresh),
        "first_time": span[0].isoformat(),
        "last_time": span[1].isoformat(),
        "min_celsius": min(r.celsius for r in readings),
        "max_celsius": max(r.celsius for r in readings),
        "tier": None if tier is None else tier.value,
        "in_range": not ids and not known,
        "excursions": [
            found.as_dict() | {"id": excursion_id, "state": "open", "codes_held": held[found]}
            for found, excursion_id in ids.items()
        ],
        "known_excursions": sorted(set(known.values())),
        "notices": [n.as_dict() for n in notices[:NOTICES_SHOWN]],
        "notice_count": len(notices),
    }


@dataclass(frozen=True, slots=True)
class _Kept:
    """A temperature record being kept: whose, of which equipment, its id, when."""

    actor: str
    header: TemperatureHeader
    record_id: int
    at: datetime

    def columns(self) -> dict[str, Any]:
        """What the record's row and its excursions' rows share."""
        return {
            "unit_uscc": self.actor,
            "equipment_id": self.header.equipment_id,
            "recorded_at": self.at,
        }


def _record_row(
    kept: _Kept,
    digest: str,
    source: str,
    readings: list[Reading],
    body: dict[str, Any],
    rule_set: str,
) -> dict[str, Any]:
    header = kept.header
    return kept.columns() | {
        "id": kept.record_id,
        "client_document_id": header.client_document_id,
        "request_sha256": digest,
        "document_no": header.document_no,
        "kind": header.kind,
        "related_document_no": header.related_document_no,
        "source": source,
        "rule_set": rule_set,
        "first_time": readings[0].time,
        "last_time": readings[-1].time,
        "readings": len(readings),
        "min_celsius": min(r.celsius for r in readings),
        "max_celsius": max(r.celsius for r in readings),
        "tier": body["tier"],
        "response": body,
    }


def _excursion_row(
    kept: _Kept, excursion_id: int, rule_set: str, found: Excursion
) -> dict[str, Any]:
    return kept.columns() | {
        "id": excursion_id,
        "record_id": kept.record_id,
        "rule_set": rule_set,
        "rule_id": found.rule_id,
        "rule_kind": found.kind.value,
        "tier": found.tier.value,
        "start_time": found.start,
        "end_time": found.end,
        "minutes": found.minutes,
        "min_celsius": found.min_celsius,
        "max_celsius": found.max_celsius,
        "state": ExcursionState.OPEN.value,
    }


# --- excursions: list, show, decide --------------------------------------------------------


def excursions(
    engine: Engine, actor: str, state: ExcursionState | None = None
) -> list[dict[str, Any]]:
    """The unit's excursions, newest first."""
    with read_tx(engine) as conn:
        unit(conn, actor)
        return [_excursion_body(row) for row in store.excursions_of(conn, actor, state)]


def excursion(engine: Engine, actor: str, excursion_id: int) -> dict[str, Any]:
    """One of the unit's excursions with the codes it holds (the first thousand)."""
    with read_tx(engine) as conn:
        row = _own_excursion(conn, actor, excursion_id)
        codes = store.codes_held(conn, excursion_id, CODES_SHOWN)
    return _excursion_body(row) | {"held_codes": codes}


def decide(
    engine: Engine,
    actor: str,
    excursion_id: int,
    decision: ExcursionDecision,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> WriteResult:
    """温度超标处置: usable releases the codes; abnormal keeps them out for good. Only the unit
    whose equipment it was decides; a decision is final (the same decision sent again is
    answered again)."""
    state = ExcursionState(decision.decision)

    def attempt(conn: Connection) -> WriteResult:
        row = _own_excursion(conn, actor, excursion_id)
        if row["state"] != ExcursionState.OPEN.value:
            return _decided(row, decision)
        store.decide(
            conn,
            excursion_id,
            state=state,
            decided_by=decision.decided_by,
            reason=decision.reason,
            at=now(),
        )
        decided = store.excursion_row(conn, excursion_id)
        assert decided is not None
        return WriteResult(_excursion_body(decided), replayed=False)

    def committed() -> WriteResult | None:
        """A concurrent twin of this decision may have won: answer as its retry."""
        with read_tx(engine) as conn:
            row = _own_excursion(conn, actor, excursion_id)
        return None if row["state"] == ExcursionState.OPEN.value else _decided(row, decision)

    return apply_once(engine, attempt, committed)


def _decided(row: RowMapping, decision: ExcursionDecision) -> WriteResult:
    same = (row["state"], row["decided_by"], row["decision_reason"]) == (
        decision.decision,
        decision.decided_by,
        decision.reason,
    )
    if not same:
        raise DomainError(
            Reason.EXCURSION_DECIDED,
            f"excursion {row['id']} was already decided {row['state']} by {row['decided_by']}",
            field="decision",
        )
    return WriteResult(_excursion_body(row), replayed=True)


def _own_excursion(conn: Connection, actor: str, excursion_id: int) -> RowMapping:
    row = store.excursion_row(conn, excursion_id)
    if row is None:
        raise DomainError(Reason.UNKNOWN_EXCURSION, f"no excursion {excursion_id}")
    if row["unit_uscc"] != actor:
        raise DomainError(
            Reason.NOT_YOUR_EXCURSION,
            f"excursion {excursion_id} is another unit's: only that unit decides it",
        )
    return row


def _excursion_body(row: RowMapping) -> dict[str, Any]:
    decided_at = row["decided_at"]
    return {
        "id": int(row["id"]),
        "equipment_id": row["equipment_id"],
        "record_id": int(row["record_id"]),
        "rule_set": row["rule_set"],
        "rule": row["rule_id"],
        "kind": row["rule_kind"],
        "tier": Tier(row["tier"]).value,
        "start": as_utc(row["start_time"]).isoformat(),
        "end": as_utc(row["end_time"]).isoformat(),
        "minutes": round(float(row["minutes"]), 2),
        "min_celsius": float(row["min_celsius"]),
        "max_celsius": float(row["max_celsius"]),
        "codes_held": int(row["codes"]),
        "state": row["state"],
        "decided_by": row["decided_by"],
        "decision_reason": row["decision_reason"],
        "decided_at": None if decided_at is None else as_utc(decided_at).isoformat(),
    }
