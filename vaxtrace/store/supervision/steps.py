"""SQL of the steps of the chain the platform copies to the supervision system: each step once,
and one row per code of it (filled set-based, from the step's own row), so that a code's chain
is one indexed query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, text, union

from vaxtrace.store.rows import insert_new
from vaxtrace.store.supervision.areas import newest_in_area
from vaxtrace.store.supervision.schema import (
    journal,
    supervised_batch,
    supervised_code_batch,
    supervised_code_parent,
    supervised_code_step,
    supervised_step,
    supervised_step_batch,
)

PRODUCTION = "101"
"""The step that says which batch a code is of (see vaxtrace.core.supervision)."""

SHIPPING_NOTE = "201"
"""The step that carries its batches' master data (product, expiry, lot release)."""

_CODE_ROWS = (
    "WITH RECURSIVE held(code) AS ("
    "SELECT j.value FROM supervised_step s, {elements} WHERE s.id = :step_id "
    "UNION SELECT p.code FROM supervised_code_parent p JOIN held h ON p.parent = h.code) "
    "INSERT INTO supervised_code_step "
    "(step_id, code, bill_type, org_uscc, division_code, document_no, business_time, "
    "counterparty_uscc, source_document_no) "
    "SELECT s.id, h.code, s.bill_type, s.org_uscc, s.division_code, s.document_no, "
    "s.business_time, s.counterparty_uscc, s.source_document_no "
    "FROM supervised_step s, held h WHERE s.id = :step_id"
)
_ELEMENTS = {
    "sqlite": "json_each(s.codes) j",
    "postgresql": "json_array_elements_text(s.codes) AS j(value)",
}


def _code_rows_sql(dialect: str) -> str:
    """The INSERT that gives every code of step ``:step_id`` its row: the codes it lists and
    every code inside them, as far as the node knows the packing."""
    return _CODE_ROWS.format(elements=_ELEMENTS[dialect])


def add_step(
    conn: Connection, *, event_id: str, reported_by: str, data_owner: str, step: Mapping[str, Any]
) -> None:
    """Keep a step as copied in envelope ``event_id`` (``step``: its bill type, doer, division,
    document number, business time in UTC, codes, and the batches it names), one row per code
    and, for a step on whole batches, one per batch."""
    contents = step.get("contents") or {}
    row = {k: v for k, v in step.items() if k != "contents"}
    row |= {"codes": list(step["codes"]), "batch_nos": list(step.get("batch_nos", ()))}
    step_id = conn.execute(
        insert(supervised_step)
        .values(
            event_id=event_id,
            reported_by=reported_by,
            data_owner=data_owner,
            received_at=datetime.now(UTC),
            **row,
        )
        .returning(supervised_step.c.id)
    ).scalar_one()
    if contents:
        _packing(conn, contents)
    if row["codes"]:
        conn.execute(text(_code_rows_sql(conn.dialect.name)), {"step_id": step_id})
    mah, batches = row.get("mah_uscc"), row["batch_nos"]
    if batches and not row["codes"]:
        conn.execute(
            insert(supervised_step_batch),
            [{"step_id": step_id, "mah_uscc": mah, "batch_no": b} for b in batches],
        )
    if row["bill_type"] in (PRODUCTION, SHIPPING_NOTE) and len(batches) == 1 and row["codes"]:
        # a note says it too: a province's node gets the notes of a MAH elsewhere, not its 101
        _code_batches(conn, step_id, mah, batches[0])
    if row["bill_type"] == SHIPPING_NOTE and mah is not None:
        _batch_master_data(conn, mah, (row.get("detail") or {}).get("batches") or ())
    kept = {"event_id": event_id, "reported_by": reported_by, "data_owner": data_owner}
    packed = {"contents": {k: list(v) for k, v in contents.items()}} if contents else {}
    journal.keep(conn, "step", kept | {"step": row | packed})


def _packing(conn: Connection, contents: Mapping[str, Any]) -> None:
    """Keep which container holds which code (once each pair)."""
    pairs = [{"parent": p, "code": c} for p, held in contents.items() for c in held]
    conn.execute(insert_new(conn, supervised_code_parent), pairs)


def _batch_master_data(conn: Connection, mah: str, batches: Sequence[Mapping[str, Any]]) -> None:
    """Keep each batch's master data as the first note of it said (later notes repeat it)."""
    now = datetime.now(UTC)
    rows = [batch_row(mah, b, now) for b in batches]
    if rows:
        conn.execute(insert_new(conn, supervised_batch), rows)


def batch_row(mah: str, batch: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The ``supervised_batch`` row of a note's batch (its master data and lot release)."""
    return {
        "mah_uscc": mah,
        "batch_no": batch["batch_no"],
        "product_code": batch["product_code"],
        "expiry_date": _day(batch["expiry_date"]),
        "production_date": _day(batch.get("production_date")),
        "certificate_no": (batch.get("lot_release") or {}).get("certificate_no"),
        "received_at": now,
    }


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _code_batches(conn: Connection, step_id: int, mah: Any, batch_no: str) -> None:
    """Each code a production (or a note of one batch) names is of its batch (the first step
    that said so)."""
    conn.execute(
        text(
            "INSERT INTO supervised_code_batch (code, mah_uscc, batch_no) "
            "SELECT DISTINCT cs.code, :mah, :batch FROM supervised_code_step cs "
            "WHERE cs.step_id = :step_id AND NOT EXISTS "
            "(SELECT 1 FROM supervised_code_batch cb WHERE cb.code = cs.code)"
        ),
        {"step_id": step_id, "mah": mah, "batch": batch_no},
    )


def steps_in(
    conn: Connection,
    area_prefix: str,
    *,
    bill_type: str | None,
    before: int | None,
    limit: int,
) -> list[RowMapping]:
    """The steps done inside an area (of one bill type, when given), newest first."""
    equal = {} if bill_type is None else {"bill_type": bill_type}
    return newest_in_area(conn, supervised_step, area_prefix, before=before, limit=limit, **equal)


def code_seen_in(conn: Connection, code: str, area_prefix: str) -> bool:
    """Whether a step on ``code`` (itself, not its batch) was done inside the area."""
    cs = supervised_code_step.c
    query = select(cs.id).where(cs.code == code, cs.division_code.like(area_prefix + "%")).limit(1)
    return conn.execute(query).first() is not None


def chain_of(conn: Connection, code: str) -> list[RowMapping]:
    """Every step the node knows of on ``code``: those naming it, and those on its whole
    batch (self-inspection, lot release, batch locks and recalls), in time order."""
    s, cs, sb, cb = (
        supervised_step.c,
        supervised_code_step.c,
        supervised_step_batch.c,
        supervised_code_batch.c,
    )
    by_code = select(cs.step_id.label("step_id")).where(cs.code == code)
    by_batch = (
        select(sb.step_id.label("step_id"))
        .join_from(
            supervised_step_batch,
            supervised_code_batch,
            (cb.mah_uscc == sb.mah_uscc) & (cb.batch_no == sb.batch_no),
        )
        .where(cb.code == code)
    )
    ids = union(by_code, by_batch).subquery()
    query = (
        select(
            s.id,
            s.event_id,
            s.bill_type,
            s.org_uscc,
            s.division_code,
            s.document_no,
            s.business_time,
            s.mah_uscc,
            s.batch_nos,
            s.detail,
            s.data_owner,
            s.reported_by,
        )
        .where(s.id.in_(select(ids.c.step_id)))
        .order_by(s.business_time, s.id)
    )
    return list(conn.execute(query).mappings())


def batch_of(conn: Connection, code: str) -> RowMapping | None:
    """The batch a code is of, if a production step said so."""
    cb = supervised_code_batch.c
    query = select(cb.mah_uscc, cb.batch_no).where(cb.code == code)
    return conn.execute(query).mappings().first()
