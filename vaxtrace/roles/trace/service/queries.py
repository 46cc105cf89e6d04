"""Queries about codes and batches: a code's full trace, a batch's whereabouts, the public view."""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vaxtrace.core import codes as codes_
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.roles.trace.service.lookups import own_batch, parse
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx
from vaxtrace.store.held_reads import HeldReads
from vaxtrace.store.trace.batches import batch_where_now
from vaxtrace.store.trace.codes import children_of, code_by_id, code_detail
from vaxtrace.store.trace.events import corrections_of
from vaxtrace.store.trace.history import containment_intervals, history
from vaxtrace.store.trace.public import public_view_row
from vaxtrace.store.trace.quality import release_of
from vaxtrace.store.trace.registry import identification_owners, organisation_name


def trace(engine: Engine, text: str) -> dict[str, Any]:
    """Everything known about one code of any level, with its full history."""
    code = parse(text, "code")
    with read_tx(engine) as conn:
        row = _commissioned(conn, code)
        spans = containment_intervals(conn, row["id"])
        events = history(conn, spans, row["batch_id"], row["commission_event_id"])
        events = sorted(
            [*events, *corrections_of(conn, [e["id"] for e in events])],
            key=lambda e: int(e["id"]),
        )
        containers = _containers(conn, row)
        children = children_of(conn, row["id"])
        replaced_by = None
        if row["replaced_by_id"] is not None:
            new = code_by_id(conn, row["replaced_by_id"])
            replaced_by = None if new is None else new["code"]
    data = row["product_data"]
    return {
        "code": row["code"],
        "family": code.family.value,
        "level": row["level"],
        "product": {
            "product_code": row["product_code"],
            "generic_name": data["generic_name"],
            "trade_name": data["trade_name"],
            "mah_uscc": row["mah_uscc"],
            "strength": data["strength"],
            "dosage_form": data["dosage_form"],
        },
        "batch_no": row["batch_no"],
        "production_date": str(row["production_date"]),
        "expiry_date": str(row["expiry_date"]),
        "status": row["status"],
        "holder_uscc": row["holder_uscc"],
        "containers": containers,
        "children": [dict(c) for c in children],
        "replaced_by": replaced_by,
        "history": [_event_json(e) for e in events],
    }


def mah_of(engine: Engine, text: str) -> str:
    """The MAH whose code it is: the one reader of its full record (see
    :meth:`TraceService.code_record`)."""
    code = parse(text, "code")
    with read_tx(engine) as conn:
        return str(_commissioned(conn, code)["mah_uscc"])


def may_read_event(engine: Engine, reader: str, document: bytes) -> bool:
    """Whether ``reader`` may see an event's logged document: the organisation that recorded
    it, or the MAH whose codes every one of them are (a province's report about them)."""
    event = json.loads(document)
    if event["org_uscc"] == reader:
        return True
    codes = sorted(set(event["codes"]))
    if not codes:
        return False
    with read_tx(engine) as conn:
        return all(_mah_of_code(conn, value) == reader for value in codes)


def _mah_of_code(conn: Connection, value: str) -> str | None:
    row = code_detail(conn, value)
    return None if row is None else str(row["mah_uscc"])


def _commissioned(conn: Connection, code: codes_.TraceCode) -> RowMapping:
    """A commissioned code's row.

    An unknown code is refused saying whether its identification code is known, so a typo
    reads as one.
    """
    row = code_detail(conn, code.value)
    if row is not None:
        return row
    owner = identification_owners(conn, [code.identification_code])
    if code.identification_code in owner:
        level = owner[code.identification_code]["level"]
        raise DomainError(
            Reason.NOT_COMMISSIONED,
            f"{code.value}: identification code {code.identification_code} is level {level} "
            "of a registered product, but this serial was never issued (a typo?)",
            field="code",
        )
    raise DomainError(
        Reason.NOT_COMMISSIONED,
        f"{code.value}: identification code {code.identification_code} is not registered "
        "with this trace system",
        field="code",
    )


def _containers(conn: Connection, row: RowMapping) -> list[str]:
    """The codes a code is inside, innermost first."""
    chain: list[str] = []
    parent_id = row["parent_id"]
    while parent_id is not None:
        parent = code_by_id(conn, parent_id)
        if parent is None:
            break
        chain.append(parent["code"])
        parent_id = parent["parent_id"]
    return chain


EVENT_FIELDS = (
    *("event_uuid", "bill_type", "org_uscc", "business_time", "recorded_time"),
    *("document_no", "source_document", "payload"),
)
"""What a code's history shows of each event besides its id, in this order."""


def _event_json(e: RowMapping) -> dict[str, Any]:
    shown = {f: _iso(e[f]) if f.endswith("_time") else e[f] for f in EVENT_FIELDS}
    return {"event_id": e["id"]} | shown


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()
    return str(value)


def batch_summary(engine: Engine, actor: str, batch_no: str) -> dict[str, Any]:
    """Where a batch's doses are now, counted by holder and status."""
    with read_tx(engine) as conn:
        found = own_batch(conn, actor, batch_no)
        rows = batch_where_now(conn, found["id"])
    return {
        "batch_no": batch_no,
        "product_code": found["product_data"]["product_code"],
        "expiry_date": str(found["expiry_date"]),
        "doses": sum(int(r["doses"]) for r in rows),
        "by_holder_and_status": [
            {"holder_uscc": r["holder_uscc"], "status": r["status"], "doses": int(r["doses"])}
            for r in rows
        ],
    }


def consumer_view(engine: Engine, text: str) -> dict[str, Any]:
    """The public subset (消费者查询): product, MAH, batch, expiry, lot release, status."""
    code = parse(text, "code")
    with read_tx(engine) as conn:
        row = _commissioned(conn, code)
        release = release_of(conn, row["batch_id"])
        mah = organisation_name(conn, row["mah_uscc"])
    return _public_view(row, mah, release)


def consumer_view_at_once(engine: Engine, text: str) -> dict[str, Any] | None:
    """:func:`consumer_view` in one read through a connection held for ``engine`` (on the
    event loop: a parent's scan); None for a code unreadable or never commissioned, which
    :func:`consumer_view` refuses."""
    try:
        code = parse(text, "code")
    except DomainError:
        return None
    row = public_view_row(_held_reads(engine), code.value)
    if row is None:
        return None
    release = None if row["release_id"] is None else row
    return _public_view(row, row["mah"], release)


_held: weakref.WeakKeyDictionary[Engine, HeldReads] = weakref.WeakKeyDictionary()


def _held_reads(engine: Engine) -> HeldReads:
    reads = _held.get(engine)
    if reads is None:
        reads = _held[engine] = HeldReads(engine)
    return reads


def _public_view(
    row: Mapping[Any, Any], mah: str | None, release: Mapping[Any, Any] | None
) -> dict[str, Any]:
    data = row["product_data"]
    return {
        "code": row["code"],
        "generic_name": data["generic_name"],
        "trade_name": data["trade_name"],
        "strength": data["strength"],
        "mah": mah,
        "manufacturer": data["manufacturer"],
        "approval_number": data["approval_number"],
        "batch_no": row["batch_no"],
        "expiry_date": str(row["expiry_date"]),
        "lot_release": None
        if release is None
        else {
            "certificate_no": release["certificate_no"],
            "release_date": str(release["release_date"]),
            "authority": release["authority"],
        },
        "status": row["status"],
    }
