"""SQL of flows and statistics (流向与统计) over the steps the supervision system keeps: one
batch's movements summed per step (dose-level codes only: those never a container), counts
of doses produced, shipped, received, used, returned, lost and in stock by division, product,
MAH or month, and where a recalled batch's doses are now, inside an area. Set-based: one
statement each, never a loop over codes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from vaxtrace.core.flows import (
    LOSSES,
    MOVEMENTS,
    PRODUCTION,
    RECEIPT,
    RETURN,
    SHIPMENTS,
    VACCINATION,
    VACCINATION_UNDO,
    GroupBy,
    Level,
    Period,
    Sink,
)
from vaxtrace.store.supervision.regulators import BASIC_DATA
from vaxtrace.store.supervision.schema import (
    supervised_batch,
    supervised_code_batch,
    supervised_code_parent,
    supervised_code_step,
    supervised_step,
    supervised_step_batch,
)

_FORMATS: dict[Period, tuple[str, str]] = {
    "day": ("%Y-%m-%d", "YYYY-MM-DD"),
    "month": ("%Y-%m", "YYYY-MM"),
}

LEVELS: dict[Level, int] = {"province": 2, "city": 4, "county": 6}
"""How many leading digits of a division code each level keeps."""

_STOCKED = (PRODUCTION, RECEIPT, RETURN, VACCINATION_UNDO)
"""Steps after which a dose is in someone's stock (a return: the receiver's)."""


def period_of(conn: Connection, moment: Any, unit: Period) -> ColumnElement[str]:
    """The day (``YYYY-MM-DD``) or month (``YYYY-MM``) of a stored time in China Standard
    Time (UTC+8, no daylight saving), as text: business days and months are Beijing's."""
    sqlite_format, pg_format = _FORMATS[unit]
    if conn.dialect.name == "sqlite":
        return func.strftime(sqlite_format, moment, "+8 hours")
    local = func.timezone("UTC", moment) + literal_column("interval '8 hours'")
    return func.to_char(local, pg_format)


def _dose(code: Any) -> ColumnElement[bool]:
    """A dose-level code: one that holds nothing."""
    p = supervised_code_parent.c
    return ~exists().where(p.parent == code)


def batch_known(conn: Connection, mah_uscc: str, batch_no: str) -> RowMapping | None:
    """The batch's master data (or just its identity, if only a production named it)."""
    b, cb = supervised_batch.c, supervised_code_batch.c
    found = (
        conn.execute(select(supervised_batch).where(b.mah_uscc == mah_uscc, b.batch_no == batch_no))
        .mappings()
        .first()
    )
    if found is not None:
        return found
    named = select(cb.mah_uscc, cb.batch_no).where(cb.mah_uscc == mah_uscc, cb.batch_no == batch_no)
    return conn.execute(named.limit(1)).mappings().first()


def batch_moves(
    conn: Connection, mah_uscc: str, batch_no: str, area_prefix: str, period: Period
) -> list[RowMapping]:
    """The batch's dose movements done inside the area, summed per (bill type, doer,
    counterparty, period): ``moved`` the doses the steps named, ``now`` those for which the
    step is still their latest movement (judged over every step the node knows, inside the
    area or not, so a dose that went on elsewhere is not counted here).

    Summed per step first (an integer key), then per step's facts: sorting a batch's code
    rows by anything wider is what costs (100,000 doses: some 600,000 rows)."""
    cs, cb, s = supervised_code_step.c, supervised_code_batch.c, supervised_step.c
    of_batch = (cb.mah_uscc == mah_uscc, cb.batch_no == batch_no, _dose(cb.code))
    movement = cs.bill_type.in_(sorted(MOVEMENTS))
    moved = (
        select(cs.step_id, func.count().label("n"))
        .join_from(supervised_code_batch, supervised_code_step, cs.code == cb.code)
        .where(*of_batch, movement)
        .group_by(cs.step_id)
        .subquery("moved")
    )
    # materialized, else SQLite copies the correlated subquery into the GROUP BY and runs it twice
    latest = (
        select(_latest_movement(cb.code).label("step_id"))
        .where(*of_batch)
        .cte("latest")
        .prefix_with("MATERIALIZED")
    )
    now = (
        select(latest.c.step_id, func.count().label("n")).group_by(latest.c.step_id).subquery("now")
    )
    bucket = period_of(conn, s.business_time, period).label("period")
    query = (
        select(
            s.bill_type,
            s.org_uscc,
            s.counterparty_uscc,
            bucket,
            func.sum(moved.c.n).label("moved"),
            func.coalesce(func.sum(now.c.n), 0).label("now"),
        )
        .select_from(
            moved.join(supervised_step, s.id == moved.c.step_id).outerjoin(
                now, now.c.step_id == moved.c.step_id
            )
        )
        .where(s.division_code.like(area_prefix + "%"))
        .group_by(s.bill_type, s.org_uscc, s.counterparty_uscc, bucket)
        .order_by(bucket, s.bill_type, s.org_uscc)
    )
    return list(conn.execute(query).mappings())


def _latest_movement(code: Any, column: str = "step_id") -> Any:
    """``column`` of ``code``'s latest movement (by business time, then as kept)."""
    later = supervised_code_step.alias("later")
    return (
        select(later.c[column])
        .where(later.c.code == code, later.c.bill_type.in_(sorted(MOVEMENTS)))
        .order_by(later.c.business_time.desc(), later.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def statistics(
    conn: Connection,
    *,
    group_by: GroupBy,
    level: Level,
    area_prefix: str,
    since: datetime | None,
    until: datetime | None,
) -> list[RowMapping]:
    """Doses produced (101), shipped (201/209), received (107), used (322 less 323), returned
    (202), lost (215/216/205) and in stock (whose latest movement put them in stock) by the
    steps done inside the area between ``since`` and ``until`` (either open), per group: the
    division where the step was done (at ``level``), the batch's product or MAH, or the
    month. A return says who received it, not where: its dose counts in stock where the
    return was recorded."""
    cs = supervised_code_step.c
    rows = (
        select(
            _group_key(conn, group_by, level).label("key"),
            cs.bill_type,
            and_(cs.bill_type.in_(_STOCKED), ~_later_movement()).label("stocked"),
        )
        .select_from(_joined(group_by))
        .where(
            cs.division_code.like(area_prefix + "%"),
            cs.bill_type.in_(sorted(MOVEMENTS)),
            _dose(cs.code),
        )
    )
    if since is not None:
        rows = rows.where(cs.business_time >= since)
    if until is not None:
        rows = rows.where(cs.business_time < until)
    r = rows.subquery("r")
    query = select(
        r.c.key,
        _count(r.c.bill_type == PRODUCTION).label("produced"),
        _count(r.c.bill_type.in_(sorted(SHIPMENTS))).label("shipped"),
        _count(r.c.bill_type == RECEIPT).label("received"),
        func.sum(
            case(
                (r.c.bill_type == VACCINATION, 1), (r.c.bill_type == VACCINATION_UNDO, -1), else_=0
            )
        ).label("used"),
        _count(r.c.bill_type == RETURN).label(Sink.RETURNED),
        _count(r.c.bill_type.in_(sorted(LOSSES))).label("lost"),
        _count(r.c.stocked).label("in_stock"),
    )
    return list(conn.execute(query.group_by(r.c.key).order_by(r.c.key)).mappings())


RECALL = "913"
"""A MAH's recall (召回), kept as a step on codes or whole batches."""


def recalled_batches(conn: Connection) -> list[RowMapping]:
    """Every whole batch a MAH's recall step names, with the recall (its ``detail``: recall
    number and level) and when it was ordered, oldest first."""
    s, sb = supervised_step.c, supervised_step_batch.c
    query = (
        select(s.id, s.business_time, s.detail, sb.mah_uscc, sb.batch_no)
        .join_from(supervised_step_batch, supervised_step, s.id == sb.step_id)
        .where(s.bill_type == RECALL)
        .order_by(s.business_time, s.id, sb.batch_no)
    )
    return list(conn.execute(query).mappings())


def recall_progress(
    conn: Connection, mah_uscc: str, batch_no: str, *, level: Level, area_prefix: str
) -> list[RowMapping]:
    """Where a recalled batch's doses are now, per division (at ``level``) of the step that
    left each where it is, inside the area: returned (202), destroyed or scrapped (205, 216),
    used (322), still out (in stock or in transit), of all its doses there."""
    cs, cb = supervised_code_step.c, supervised_code_batch.c
    latest = (
        select(_latest_movement(cb.code, "id").label("id"))
        .where(cb.mah_uscc == mah_uscc, cb.batch_no == batch_no, _dose(cb.code))
        .cte("latest")
        .prefix_with("MATERIALIZED")
    )
    now = (
        select(func.substr(cs.division_code, 1, LEVELS[level]).label("key"), cs.bill_type)
        .join_from(latest, supervised_code_step, cs.id == latest.c.id)
        .where(cs.division_code.like(area_prefix + "%"))
        .subquery("now")
    )
    out = (*sorted(SHIPMENTS), PRODUCTION, RECEIPT, VACCINATION_UNDO)
    query = (
        select(
            now.c.key,
            func.count().label("total"),
            _count(now.c.bill_type == RETURN).label(Sink.RETURNED),
            _count(now.c.bill_type.in_(("205", "216"))).label(Sink.DESTROYED),
            _count(now.c.bill_type == VACCINATION).label("used"),
            _count(now.c.bill_type == "215").label(Sink.DAMAGED),
            _count(now.c.bill_type.in_(out)).label("outstanding"),
        )
        .group_by(now.c.key)
        .order_by(now.c.key)
    )
    return list(conn.execute(query).mappings())


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _later_movement() -> ColumnElement[bool]:
    """Another movement of the same code after this one."""
    cs = supervised_code_step.c
    later = supervised_code_step.alias("later")
    return exists().where(
        later.c.code == cs.code,
        later.c.bill_type.in_(sorted(MOVEMENTS)),
        or_(
            later.c.business_time > cs.business_time,
            and_(later.c.business_time == cs.business_time, later.c.id > cs.id),
        ),
    )


def _joined(group_by: GroupBy) -> Any:
    """The code steps, with their batch (and its master data) when grouping by them."""
    cs, cb, b = supervised_code_step.c, supervised_code_batch.c, supervised_batch.c
    if group_by == "mah":
        return supervised_code_step.outerjoin(supervised_code_batch, cb.code == cs.code)
    if group_by == "product":
        return supervised_code_step.outerjoin(supervised_code_batch, cb.code == cs.code).outerjoin(
            supervised_batch, and_(b.mah_uscc == cb.mah_uscc, b.batch_no == cb.batch_no)
        )
    return supervised_code_step


def _group_key(conn: Connection, group_by: GroupBy, level: Level) -> ColumnElement[Any]:
    cs, cb, b = supervised_code_step.c, supervised_code_batch.c, supervised_batch.c
    if group_by == "division":
        return func.substr(cs.division_code, 1, LEVELS[level])
    if group_by == "month":
        return period_of(conn, cs.business_time, "month")
    if group_by == "mah":
        return func.coalesce(cb.mah_uscc, literal(""))
    return func.coalesce(b.mah_uscc + literal("/") + b.product_code, literal(""))


def organisations(conn: Connection, usccs: Collection[str]) -> dict[str, Any]:
    """The node's copy of each organisation's registry data (name, kind, division)."""
    return BASIC_DATA.copied(conn, "organisation", usccs)


def products(conn: Connection, keys: Collection[str]) -> dict[str, Any]:
    """The node's copy of each product's registry data, by ``<mah_uscc>/<product_code>``."""
    return BASIC_DATA.copied(conn, "product", keys)
