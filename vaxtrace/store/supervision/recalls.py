"""SQL of recalls (召回管理) at the supervision node: the recalls and their batches, where each
unit of a recall is (its latest movement, found set-based over ``supervised_code_step``),
and the recall's progress over time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from vaxtrace.core.recalls import MOVEMENTS, ONWARD, Completion, LatestStep
from vaxtrace.core.supervision import PRODUCTION, area_prefix
from vaxtrace.core.times import as_utc
from vaxtrace.store.supervision.schema import (
    journal,
    recall,
    recall_batch,
    recall_progress,
    regulator,
    supervised_code_batch,
    supervised_code_parent,
    supervised_code_step,
    supervised_step,
)

OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True, slots=True)
class NewRecall:
    """A recall as it starts: whose batches, which, how urgent, who started it and why."""

    recall_no: str
    mah_uscc: str
    division_code: str
    level: int
    mock: bool
    initiator: str  # "mah" or "regulator"
    initiated_by: str
    reason: str | None
    started_at: datetime
    batch_nos: tuple[str, ...]
    divisions: tuple[str, ...] = ()


def open_recall(conn: Connection, new: NewRecall) -> int | None:
    """Keep a new recall and its batches; None if the MAH's recall of that number is kept
    already (a recall is started once)."""
    if recall_of(conn, new.mah_uscc, new.recall_no) is not None:
        return None
    row = asdict(new)
    batch_nos = row.pop("batch_nos")
    row |= {"divisions": list(new.divisions) or None, "state": OPEN}
    recall_id = int(conn.execute(insert(recall).values(row).returning(recall.c.id)).scalar_one())
    conn.execute(
        insert(recall_batch),
        [{"recall_id": recall_id, "mah_uscc": new.mah_uscc, "batch_no": b} for b in batch_nos],
    )
    journal.keep(conn, "recall_opened", {"recall_id": recall_id} | row | {"batch_nos": batch_nos})
    return recall_id


def recall_of(conn: Connection, mah_uscc: str, recall_no: str) -> RowMapping | None:
    """A MAH's recall by its number."""
    r = recall.c
    query = select(recall).where(r.mah_uscc == mah_uscc, r.recall_no == recall_no)
    return conn.execute(query).mappings().first()


def recall_by_id(conn: Connection, recall_id: int) -> RowMapping | None:
    return conn.execute(select(recall).where(recall.c.id == recall_id)).mappings().first()


def batches_of(conn: Connection, recall_id: int) -> list[str]:
    rb = recall_batch.c
    query = select(rb.batch_no).where(rb.recall_id == recall_id).order_by(rb.batch_no)
    return list(conn.execute(query).scalars())


def open_recalls(conn: Connection) -> list[RowMapping]:
    return list(conn.execute(select(recall).where(recall.c.state == OPEN)).mappings())


def recalls_in(
    conn: Connection, prefix: str, *, before: int | None, limit: int
) -> list[RowMapping]:
    """The recalls an area sees, newest first: those of its MAHs, and those with a unit
    that had a step inside it."""
    r = recall.c
    units_here = exists(
        select(1)
        .select_from(recall_batch)
        .join(
            supervised_code_batch,
            (supervised_code_batch.c.mah_uscc == recall_batch.c.mah_uscc)
            & (supervised_code_batch.c.batch_no == recall_batch.c.batch_no),
        )
        .join(supervised_code_step, supervised_code_step.c.code == supervised_code_batch.c.code)
        .where(
            recall_batch.c.recall_id == r.id,
            supervised_code_step.c.division_code.like(prefix + "%"),
        )
    )
    query = select(recall).where(or_(r.division_code.like(prefix + "%"), units_here))
    if before is not None:
        query = query.where(r.id < before)
    return list(conn.execute(query.order_by(r.id.desc()).limit(limit)).mappings())


def has_units_in(conn: Connection, recall_id: int, prefix: str) -> bool:
    """Whether a unit of the recall had a step inside an area."""
    cs = supervised_code_step.c
    query = select(1).where(
        cs.code.in_(_units(conn, recall_id)), cs.division_code.like(prefix + "%")
    )
    return conn.execute(query.limit(1)).first() is not None


def _units(conn: Connection, recall_id: int) -> Select[Any]:
    """The recall's units: every dose-level code (one holding nothing) of its batches, within
    its divisions when it is limited to some (a unit with a step inside one of them)."""
    cb, cs = supervised_code_batch.c, supervised_code_step.c
    divisions = conn.execute(select(recall.c.divisions).where(recall.c.id == recall_id)).scalar()
    query = (
        select(cb.code)
        .join_from(
            supervised_code_batch,
            recall_batch,
            (recall_batch.c.mah_uscc == cb.mah_uscc) & (recall_batch.c.batch_no == cb.batch_no),
        )
        .where(
            recall_batch.c.recall_id == recall_id,
            ~exists().where(supervised_code_parent.c.parent == cb.code),
        )
    )
    if divisions:
        areas: list[ColumnElement[bool]] = [
            cs.division_code.like(area_prefix(d) + "%") for d in divisions
        ]
        query = query.where(exists().where(cs.code == cb.code, or_(*areas)))
    return query


def latest_steps(conn: Connection, recall_id: int, prefix: str = "") -> list[LatestStep]:
    """Where the recall's units are: their latest movement, grouped by document (its bill
    type, doer, division, time and counterparty) with how many units it is the latest step
    of; only units whose latest step was done inside the area ``prefix``.

    Each unit's latest movement is one backward seek of the (code, business_time, id) index
    (a correlated LIMIT 1: about three times faster on SQLite than a window over every step
    of the units, the same on both dialects)."""
    cs, s = supervised_code_step.c, supervised_step.c
    units = _units(conn, recall_id).subquery()
    x = supervised_code_step.alias("x")
    newest = (
        select(x.c.id)
        .where(x.c.code == units.c.code, x.c.bill_type.in_(sorted(MOVEMENTS)))
        .order_by(x.c.business_time.desc(), x.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    latest = (
        select(
            cs.bill_type,
            cs.org_uscc,
            cs.division_code,
            cs.document_no,
            cs.business_time,
            s.counterparty_uscc,
        )
        .select_from(units)
        .join(supervised_code_step, cs.id == newest)
        .join(supervised_step, s.id == cs.step_id)
        .where(cs.division_code.like(prefix + "%"))
        .subquery()
    )
    columns = list(latest.c)
    grouped = select(*columns, func.count().label("units")).group_by(*columns)
    return [
        LatestStep(**(dict(row) | {"business_time": as_utc(row["business_time"])}))
        for row in conn.execute(grouped).mappings()
    ]


def last_onward(conn: Connection, recall_id: int, since: datetime) -> datetime | None:
    """When a unit of the recall was last shipped or used after ``since`` (None: never)."""
    cs = supervised_code_step.c
    query = select(func.max(cs.business_time)).where(
        cs.code.in_(_units(conn, recall_id)),
        cs.bill_type.in_(sorted(ONWARD)),
        cs.business_time > since,
    )
    found = conn.execute(query).scalar()
    return None if found is None else as_utc(found)


def mah_divisions(conn: Connection, mah_uscc: str, batch_nos: Sequence[str]) -> dict[str, str]:
    """Where the MAH produced each of its batches this node knows (its 101 production step's
    division), by batch number."""
    cb, cs = supervised_code_batch.c, supervised_code_step.c
    query = (
        select(cb.batch_no, func.min(cs.division_code))
        .join_from(supervised_code_batch, supervised_code_step, cs.code == cb.code)
        .where(
            cb.mah_uscc == mah_uscc, cb.batch_no.in_(list(batch_nos)), cs.bill_type == PRODUCTION
        )
        .group_by(cb.batch_no)
    )
    return {str(b): str(d) for b, d in conn.execute(query).all()}


def close_recall(
    conn: Connection, recall_id: int, closed_by: str, closed_at: datetime, summary: dict[str, Any]
) -> None:
    """Close a recall with its closing summary."""
    done = {"state": CLOSED, "closed_at": closed_at, "closed_by": closed_by, "summary": summary}
    conn.execute(update(recall).where(recall.c.id == recall_id).values(done))
    journal.keep(conn, "recall_close", {"recall_id": recall_id} | done)


def note_mah_closed(conn: Connection, recall_id: int, at: datetime) -> None:
    """The MAH said the recall closed, with units still out: kept open here."""
    conn.execute(update(recall).where(recall.c.id == recall_id).values(mah_closed_at=at))
    journal.keep(conn, "recall_mah_closed", {"recall_id": recall_id, "at": at})


def add_progress(conn: Connection, recall_id: int, taken_at: datetime, done: Completion) -> None:
    """Keep how far a recall is at ``taken_at``."""
    row = {
        "recall_id": recall_id,
        "taken_at": taken_at,
        "units": done.total,
        "accounted_for": done.accounted_for,
        "by_state": {state.value: n for state, n in done.counts.items()},
    }
    conn.execute(insert(recall_progress).values(row))


def progress_of(conn: Connection, recall_id: int) -> list[RowMapping]:
    """A recall's progress over time, oldest first."""
    p = recall_progress.c
    query = (
        select(p.taken_at, p.units, p.accounted_for, p.by_state)
        .where(p.recall_id == recall_id)
        .order_by(p.taken_at, p.id)
    )
    return list(conn.execute(query).mappings())


def unannounced(conn: Connection) -> list[RowMapping]:
    """The real recalls whose state the public was not told yet."""
    r = recall.c
    query = select(recall).where(
        r.mock.is_(False), or_(r.notice_state.is_(None), r.notice_state != r.state)
    )
    return list(conn.execute(query.order_by(r.id)).mappings())


def mark_announced(conn: Connection, recall_id: int, state: str) -> None:
    conn.execute(update(recall).where(recall.c.id == recall_id).values(notice_state=state))
    journal.keep(conn, "recall_notice", {"recall_id": recall_id, "state": state})


def regulators(conn: Connection) -> list[tuple[str, str]]:
    """Every regulator this node serves, with its division."""
    query = select(regulator.c.uscc, regulator.c.division_code).order_by(regulator.c.uscc)
    return [(str(u), str(d)) for u, d in conn.execute(query).all()]
