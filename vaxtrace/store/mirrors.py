"""Which tables of a journal role mirror its journal, and how an entry says what row it keeps:
one declaration per table, read by ``vaxtrace ledger verify --role R`` (see
vaxtrace.log.mirrors), which compares them row for row (vaxtrace.core.mirror).

Each :class:`Mirror` names a table, the kinds of entry that keep its rows, its key, the fields
compared, which of them are moments, and how the entries (of those kinds, oldest first) give
the rows. A field is compared only where the entry keeps it exactly as the row holds it; what
an entry does not keep (the time a row was received or raised, a request the province keeps to
itself) is left out and said so below.

A table that is not a history but the state the entries leave (the province's ``stock``) is
rebuilt from them instead (:attr:`Journaled.replayed`; :func:`stock_replayed`, by
vaxtrace.core.province_replay) and compared code for code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, Table, select

from vaxtrace.core import province_replay
from vaxtrace.core.mirror import (
    Difference,
    Kept,
    first_difference,
    in_key_order,
    kept_in_key_order,
    normalised,
)
from vaxtrace.core.replay import LogBroken
from vaxtrace.store.immunization import schema as immunization
from vaxtrace.store.journal import Journal
from vaxtrace.store.platform import schema as platform
from vaxtrace.store.supervision import schema as supervision

Entry = Mapping[str, Any]
"""A journal entry's document, with its ``id``."""

RowsKept = Callable[[Sequence[Entry]], Iterator[Kept]]
"""The rows a table holds, as the entries of its kinds (oldest first) say."""


@dataclass(frozen=True, slots=True)
class Mirror:
    """A table whose rows the journal's entries of ``kinds`` keep (:attr:`rows_kept`), compared
    by ``key`` on ``fields``; ``times`` are moments (compared as instants)."""

    table: Table
    kinds: tuple[str, ...]
    key: tuple[str, ...]
    fields: tuple[str, ...]
    rows_kept: RowsKept
    times: tuple[str, ...] = ()


def each(row_of: Callable[[Entry], Mapping[str, Any]]) -> RowsKept:
    """One row per entry."""

    def rows(entries: Sequence[Entry]) -> Iterator[Kept]:
        for entry in entries:
            yield Kept(int(entry["id"]), row_of(entry))

    return rows


# --- immunization (省级免疫规划信息系统) -----------------------------------------------------

WRITE_OPERATIONS = province_replay.WRITE_KINDS
"""The operations of province writes (the ``operation`` each service passes to the write
frame, vaxtrace.roles.immunization.service): each write's entry is of its operation's kind."""


def _write(entry: Entry) -> dict[str, Any]:
    """The row of a write: all but the request (its digest is kept), written at
    ``written_at``."""
    kept = {name: entry.get(name) for name in (*_WRITE_KEY, *_WRITE_FIELDS)}
    return kept | {"recorded_at": entry.get("written_at")}


_WRITE_KEY = ("org_uscc", "client_document_id")
_WRITE_FIELDS = ("operation", "bill_type", "document_no", "request_sha256", "response")


def _alert(entry: Entry) -> dict[str, Any]:
    notice: Mapping[str, Any] = entry["notice"]
    return {
        "id": entry["alert_id"],
        "org_uscc": entry["org_uscc"],
        "refused_event_id": notice.get("refused_event_id"),
        "origin_event_id": notice.get("origin_event_id"),
        "receiver": notice.get("receiver_system_id"),
        "reason": notice.get("reason"),
        "bill_type": notice.get("bill_type"),
        "document_no": notice.get("document_no"),
        "notice": notice,
        "acknowledged_at": None,
        "acknowledgement": None,
    }


def _alerts(entries: Sequence[Entry]) -> Iterator[Kept]:
    """Each alert with its acknowledgement, if any: the first (a later one changes nothing)."""
    kept: dict[int, Kept] = {}
    for entry in entries:
        alert_id = int(entry["alert_id"])
        if entry["kind"] == "alert":
            kept[alert_id] = Kept(int(entry["id"]), _alert(entry))
        elif alert_id in kept and kept[alert_id].row["acknowledged_at"] is None:
            acknowledged = {"acknowledged_at": entry["at"], "acknowledgement": entry.get("note")}
            kept[alert_id] = Kept(int(entry["id"]), {**kept[alert_id].row, **acknowledged})
    yield from kept.values()


def _expiry_run(entry: Entry) -> dict[str, Any]:
    batches: Sequence[Mapping[str, Any]] = entry["batches"]
    return {
        "id": entry["run_id"],
        "run_on": entry["run_on"],
        "source": entry["source"],
        "batches": len(batches),
        "doses": sum(int(b["doses"]) for b in batches),
    }


def _expired_batches(entries: Sequence[Entry]) -> Iterator[Kept]:
    for entry in entries:
        for batch in entry["batches"]:
            yield Kept(int(entry["id"]), {**batch, "run_id": entry["run_id"]})


def _signal(entry: Entry) -> dict[str, Any]:
    signal: Mapping[str, Any] = entry["signal"]
    same = {name: signal.get(name) for name in ("mah_uscc", "kind", "document_no")}
    return same | {
        "event_id": entry["event_id"],
        "business_time": signal.get("business_time"),
        "signal": signal,
    }


def _excursions(entries: Sequence[Entry]) -> Iterator[Kept]:
    """Each excursion as recorded, in the state its last decision left it (else open)."""
    kept: dict[int, Kept] = {}
    for entry in entries:
        if entry["kind"] == "excursion":
            row = entry["excursion"]
            kept[int(row["id"])] = Kept(int(entry["id"]), row)
        elif int(entry["excursion_id"]) in kept:
            found = kept[int(entry["excursion_id"])]
            decided = {
                "state": entry["state"],
                "decided_by": entry["decided_by"],
                "decision_reason": entry["reason"],
                "decided_at": entry["at"],
            }
            kept[int(entry["excursion_id"])] = Kept(int(entry["id"]), {**found.row, **decided})
    yield from kept.values()


def _scans(entries: Sequence[Entry]) -> Iterator[Kept]:
    for entry in entries:
        for scan in entry["scans"]:
            yield Kept(int(entry["id"]), scan)


_TEMPERATURE_RECORD = (
    "unit_uscc",
    "client_document_id",
    "request_sha256",
    "document_no",
    "equipment_id",
    "kind",
    "rule_set",
    "related_document_no",
    "source",
    "first_time",
    "last_time",
    "readings",
    "min_celsius",
    "max_celsius",
    "tier",
    "response",
    "recorded_at",
)
_EXCURSION = (
    "unit_uscc",
    "equipment_id",
    "record_id",
    "rule_set",
    "rule_id",
    "rule_kind",
    "tier",
    "start_time",
    "end_time",
    "minutes",
    "min_celsius",
    "max_celsius",
    "codes",
    "state",
    "decided_by",
    "decision_reason",
    "decided_at",
    "recorded_at",
)
_SCAN = (
    "note_event_id",
    "note_no",
    "code",
    "result",
    "reason",
    "operator_uscc",
    "scanned_at",
)

IMMUNIZATION = (
    Mirror(
        immunization.province_write,
        WRITE_OPERATIONS,
        key=_WRITE_KEY,
        fields=(*_WRITE_FIELDS, "recorded_at"),
        rows_kept=each(_write),
        times=("recorded_at",),
    ),
    Mirror(
        immunization.refusal_alert,
        ("alert", "alert_acknowledged"),
        key=("id",),
        fields=(
            "org_uscc",
            "refused_event_id",
            "origin_event_id",
            "receiver",
            "reason",
            "bill_type",
            "document_no",
            "notice",
            "acknowledged_at",
            "acknowledgement",
        ),
        rows_kept=_alerts,
        times=("acknowledged_at",),
    ),
    Mirror(
        immunization.expiry_run,
        ("expiry_run",),
        key=("id",),
        fields=("run_on", "source", "batches", "doses"),
        rows_kept=each(_expiry_run),
    ),
    Mirror(
        immunization.expired_batch,
        ("expiry_run",),
        key=("mah_uscc", "batch_no"),
        fields=("product_code", "expiry_date", "run_id", "doses", "units"),
        rows_kept=_expired_batches,
    ),
    Mirror(
        immunization.safety_signal,
        ("safety_signal",),
        key=("event_id",),
        fields=("mah_uscc", "kind", "document_no", "business_time", "signal"),
        rows_kept=each(_signal),
        times=("business_time",),
    ),
    Mirror(
        immunization.temperature_record,
        ("temperature_record",),
        key=("id",),
        fields=_TEMPERATURE_RECORD,
        rows_kept=each(lambda entry: entry["record"]),
        times=("first_time", "last_time", "recorded_at"),
    ),
    Mirror(
        immunization.excursion,
        ("excursion", "excursion_decision"),
        key=("id",),
        fields=_EXCURSION,
        rows_kept=_excursions,
        times=("start_time", "end_time", "decided_at", "recorded_at"),
    ),
    Mirror(
        immunization.receipt_scan,
        ("receipt_scans",),
        key=_SCAN,  # entries do not number scans: every scan kept, as a multiset
        fields=(),
        rows_kept=_scans,
        times=("scanned_at",),
    ),
    Mirror(
        immunization.batch,
        province_replay.BATCH_KINDS,
        key=("mah_uscc", "batch_no"),
        fields=province_replay.BATCH_FIELDS,
        rows_kept=province_replay.batches_kept,
    ),
)
"""Not compared: ``province_write.request`` (the entry keeps its digest only, as it may name
a vaccinee), ``refusal_alert.raised_at``, ``expiry_run.recorded_at``,
``safety_signal.codes_affected`` and ``received_at`` (not in their entries), ``batch.updated_at``.
The ``stock`` table is not a history: it is rebuilt from the entries (:func:`stock_replayed`)."""


# --- platform (平台) -------------------------------------------------------------------------


def _registry_change(entry: Entry) -> dict[str, Any]:
    return {
        "version": entry["version"],
        "kind": entry["change"],
        "key": entry["key"],
        "data": entry["data"],
    }


def _coding_rule(entry: Entry) -> dict[str, Any]:
    same = {name: entry[name] for name in ("system_id", "mah_uscc")}
    return same | {"id": entry["rule_id"], "data": entry["rule"]}


def _rule_entries(entries: Sequence[Entry]) -> Iterator[Kept]:
    for entry in entries:
        same = {name: entry[name] for name in ("rule_id", "mah_uscc", "system_id")}
        for value in entry["entries"]:
            yield Kept(int(entry["id"]), same | {"entry": value, "kind": entry["entry_kind"]})


def _routes(entries: Sequence[Entry]) -> Iterator[Kept]:
    for entry in entries:
        for route in entry["routes"]:
            yield Kept(int(entry["id"]), route)


PLATFORM = (
    Mirror(
        platform.registry_change,
        ("registry_change",),
        key=("version",),
        fields=("kind", "key", "data"),
        rows_kept=each(_registry_change),
    ),
    Mirror(
        platform.coding_rule,
        ("coding_rule",),
        key=("id",),
        fields=("system_id", "mah_uscc", "data"),
        rows_kept=each(_coding_rule),
    ),
    Mirror(
        platform.rule_entry,
        ("rule_entries",),
        key=("entry",),
        fields=("kind", "rule_id", "mah_uscc", "system_id"),
        rows_kept=_rule_entries,
    ),
    Mirror(
        platform.batch_route,
        ("batch_routes",),
        key=("mah_uscc", "batch_no", "system_id", "consignee_uscc"),
        fields=(),
        rows_kept=_routes,
    ),
    Mirror(
        platform.exchange_alert,
        ("exchange_alert",),
        key=("event_id", "sender", "reason", "detail"),  # not numbered in entries: a multiset
        fields=(),
        rows_kept=each(lambda entry: entry),
    ),
)
"""Not compared: ``registry_change.changed_at``, ``coding_rule.registered_at``,
``exchange_alert.raised_at`` (not in their entries)."""


# --- supervision (监管) ----------------------------------------------------------------------


def _step(entry: Entry) -> dict[str, Any]:
    same = {name: entry[name] for name in ("event_id", "reported_by", "data_owner")}
    return {**entry["step"], **same}


def _finding(entry: Entry) -> dict[str, Any]:
    return {**entry["finding"], "event_id": entry["event_id"]}


def _rule_findings(entries: Sequence[Entry]) -> Iterator[Kept]:
    """The findings each validation run kept."""
    for entry in entries:
        for found in entry["findings"]:
            yield Kept(int(entry["id"]), found)


SUPERVISION = (
    Mirror(
        supervision.supervised_step,
        ("step",),
        key=("event_id",),
        fields=(
            "reported_by",
            "data_owner",
            "bill_type",
            "org_uscc",
            "division_code",
            "document_no",
            "business_time",
            "codes",
            "counterparty_uscc",
            "source_document_no",
            "reported_at",
        ),
        rows_kept=each(_step),
        times=("business_time", "reported_at"),
    ),
    Mirror(
        supervision.finding,
        ("finding",),
        key=("event_id",),
        fields=(
            "kind",
            "org_uscc",
            "division_code",
            "reason",
            "bill_type",
            "document_no",
            "detail",
            "found_at",
        ),
        rows_kept=each(_finding),
        times=("found_at",),
    ),
    Mirror(
        supervision.rule_finding,
        ("validation_run",),
        key=("rule", "subject_kind", "subject"),
        fields=(
            "severity",
            "owing_uscc",
            "division_code",
            "occurred_at",
            "detail",
            "found_at",
            "run_id",
        ),
        rows_kept=_rule_findings,
        times=("occurred_at", "found_at"),
    ),
)
"""Not compared: ``received_at`` of steps and findings (not in their entries)."""


# --- the province's stock, replayed -------------------------------------------------------------

READ_IN = 10_000
"""Rows and entries read from the database at a time (streamed, never all at once)."""


def stock_entries(conn: Connection) -> Iterator[dict[str, Any]]:
    """The entries that change the province's stock, oldest first, as their documents say."""
    entries = immunization.journal.table
    query = (
        select(entries.c.id, entries.c.document)
        .where(entries.c.kind.in_(province_replay.STOCK_KINDS))
        .order_by(entries.c.id)
        .execution_options(yield_per=READ_IN)
    )
    for entry_id, document in conn.execute(query):
        yield _document(int(entry_id), bytes(document))


def stock_rows(conn: Connection) -> Iterator[Sequence[Any]]:
    """The ``stock`` table's rows as compared (:class:`province_replay.StockRow`'s columns,
    ``stepped_at`` as the driver hands it back), in code order (the code column is byte-wise
    on both backends, as Python orders text). Read through the driver, without the ORM's row
    processing: a million rows are compared."""
    columns = ", ".join(province_replay.StockRow._fields)
    query = f"SELECT {columns} FROM stock ORDER BY code"
    result = conn.execution_options(yield_per=READ_IN).exec_driver_sql(query)
    yield from result


def stock_replayed(conn: Connection) -> province_replay.StockDifference | None:
    """Replay the province's journal into its stock and compare it with the ``stock`` table:
    the first code that differs (or the entry the replay could not apply); None when all
    agree."""
    replay = province_replay.StockReplay()
    try:
        replay.apply_all(stock_entries(conn))
    except LogBroken as broken:
        return province_replay.StockDifference(broken.message, broken.event_id)
    return province_replay.first_stock_difference(replay, stock_rows(conn))


Replayed = Callable[[Connection], province_replay.StockDifference | None]
"""A table rebuilt from the journal and compared with it (the first difference, or None)."""


@dataclass(frozen=True, slots=True)
class Journaled:
    """A journal role's journal, the tables that mirror it, and the tables rebuilt from it
    (by name)."""

    journal: Journal
    mirrors: tuple[Mirror, ...]
    replayed: tuple[tuple[str, Replayed], ...] = ()


MIRRORS: dict[str, Journaled] = {
    "immunization": Journaled(
        immunization.journal, IMMUNIZATION, replayed=(("stock", stock_replayed),)
    ),
    "platform": Journaled(platform.journal, PLATFORM),
    "supervision": Journaled(supervision.journal, SUPERVISION),
}


def table_rows(conn: Connection, mirror: Mirror) -> list[dict[str, Any]]:
    """The table's rows, normalised, in key order (ordered in SQL, but by JSON; sorted again
    as Python orders text, which a database's collation need not)."""
    columns = [mirror.table.c[name] for name in (*mirror.key, *mirror.fields)]
    ordered = [mirror.table.c[name] for name in mirror.key]
    query = select(*columns).order_by(*(c for c in ordered if not isinstance(c.type, JSON)))
    rows = (normalised(dict(row), mirror.times) for row in conn.execute(query).mappings())
    return [dict(row) for row in in_key_order(rows, mirror.key)]


def kept_rows(conn: Connection, journal: Journal, mirror: Mirror) -> list[Kept]:
    """The rows the journal's entries of the mirror's kinds keep, normalised, in key order."""
    entries = journal.table
    query = (
        select(entries.c.id, entries.c.document)
        .where(entries.c.kind.in_(mirror.kinds))
        .order_by(entries.c.id)
    )
    documents = [_document(int(i), bytes(d)) for i, d in conn.execute(query)]
    kept = (Kept(k.entry_id, normalised(k.row, mirror.times)) for k in mirror.rows_kept(documents))
    return kept_in_key_order(kept, mirror.key)


def _document(entry_id: int, document: bytes) -> dict[str, Any]:
    return {"id": entry_id, **json.loads(document)}


def first_difference_in(conn: Connection, role: str) -> tuple[Mirror, Difference] | None:
    """The first table of a journal role that differs from its journal, and where."""
    journaled = MIRRORS[role]
    for mirror in journaled.mirrors:
        rows = table_rows(conn, mirror)
        kept = kept_rows(conn, journaled.journal, mirror)
        found = first_difference(rows, kept, mirror.key, mirror.fields)
        if found is not None:
            return mirror, found
    return None
