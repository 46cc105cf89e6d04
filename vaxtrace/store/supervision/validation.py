"""SQL of the validation rules (vaxtrace.core.validation.rules): one statement per rule id,
set-based over the steps the supervision system keeps, in full or on a scope (the codes of the
steps received since the last run, and the codes of the batches they concern).

Each statement answers ``(step_id, n, sample)``: the step at fault, how many of its codes the
rule caught, and one of them (the subject of a rule on codes). Times are compared as stored,
in UTC; a day of expiry in China time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, RowMapping, func, insert, select, text

from vaxtrace.core.validation.findings import RuleFinding
from vaxtrace.core.validation.rules import REQUIRED_COLUMNS, REQUIRED_FIELDS, RuleId
from vaxtrace.store.rows import insert_new
from vaxtrace.store.supervision.schema import (
    journal,
    regulator,
    rule_finding,
    supervised_step,
    validation_run,
)

CS = "supervised_code_step"
SHIPMENTS = "('201', '209')"
OUTGOING = "('209', '202')"
HOLDER_STEPS = "('209', '202', '322', '215', '216', '205')"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a run judges: every step (``after`` 0, ``full``), or the codes of the steps with
    an id above ``after`` (and of the batches those name) up to ``through``."""

    after: int
    through: int
    full: bool
    areas: tuple[str, ...] = ("",)
    """The area prefixes of the regulators this node serves ("" national: everywhere): a
    MAH's own facts (its production) reach only the nodes of its area."""


def _codes_in_scope(scope: Scope, alias: str) -> str:
    """The condition that keeps a code row of ``alias`` inside the scope."""
    if scope.full:
        return ""
    return (
        f" AND {alias}.code IN ("
        f"SELECT n.code FROM {CS} n WHERE n.step_id > :after AND n.step_id <= :through "
        # CROSS JOIN: SQLite reads the few batch steps first (not every code's batch)
        "UNION SELECT cb.code FROM supervised_step_batch sb CROSS JOIN supervised_code_batch cb "
        "WHERE cb.mah_uscc = sb.mah_uscc AND cb.batch_no = sb.batch_no "
        "AND sb.step_id > :after AND sb.step_id <= :through)"
    )


def _steps_in_scope(scope: Scope, alias: str) -> str:
    return "" if scope.full else f" AND {alias}.id > :after AND {alias}.id <= :through"


def _json_text(dialect: str, column: str, key: str) -> str:
    """The text of ``key`` in JSON ``column`` (NULL when absent), per dialect."""
    if dialect == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _china_day(dialect: str, column: str) -> str:
    """The day in China time (UTC+8, no summer time) of a UTC moment, as ISO text."""
    if dialect == "postgresql":
        return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
    return f"date({column}, '+8 hours')"


def _hours_after(dialect: str, later: str, earlier: str) -> str:
    """Whether ``later`` is more than ``:hours`` hours after ``earlier``."""
    if dialect == "postgresql":
        return f"{later} > {earlier} + CAST(:hours AS double precision) * interval '1 hour'"
    return f"(julianday({later}) - julianday({earlier})) * 24 > :hours"


def _org_kind(dialect: str, uscc: str) -> str:
    """The kind (mah, cdc, pov …) of organisation ``uscc`` as the registry copy says."""
    kind = _json_text(dialect, "o.data", "kind")
    return f"(SELECT {kind} FROM basic_data o WHERE o.kind = 'organisation' AND o.key = {uscc})"


def _org_division(dialect: str, uscc: str) -> str:
    division = _json_text(dialect, "o.data", "division_code")
    return f"(SELECT {division} FROM basic_data o WHERE o.kind = 'organisation' AND o.key = {uscc})"


def _grouped(rows: str, where: str) -> str:
    """A rule on code rows ``r``: the step each caught row belongs to, with counts."""
    return (
        f"SELECT r.step_id, COUNT(*) AS n, MIN(r.code) AS sample FROM {CS} r "
        f"WHERE {where}{rows} GROUP BY r.step_id"
    )


def _missing_production(scope: Scope, dialect: str) -> str:
    """A note whose codes its MAH never reported producing, judged where the MAH's own
    reports arrive (a province's node gets the notes of MAHs elsewhere, not their
    production)."""
    return _grouped(
        _codes_in_scope(scope, "r") + _in_areas(scope, _org_division(dialect, "r.org_uscc")),
        "r.bill_type = '201' AND NOT EXISTS (SELECT 1 FROM "
        f"{CS} p WHERE p.code = r.code AND p.bill_type = '101' AND p.org_uscc = r.org_uscc)",
    )


def _in_areas(scope: Scope, division: str) -> str:
    """The condition that ``division`` is inside one of the node's areas (none: national)."""
    if "" in scope.areas:
        return ""
    inside = " OR ".join(f"{division} LIKE :area{n}" for n in range(len(scope.areas)))
    return f" AND ({inside or 'FALSE'})"


_CITED = (
    f"SELECT 1 FROM {CS} m WHERE m.code = r.code AND m.bill_type IN {SHIPMENTS} "
    "AND m.org_uscc = r.counterparty_uscc AND m.document_no = r.source_document_no"
)
"""The shipment a receipt ``r`` cites, on its code."""

_SHIPPED_HERE = (
    f"SELECT 1 FROM {CS} m WHERE m.code = r.code AND m.bill_type IN {SHIPMENTS} "
    "AND m.counterparty_uscc = r.org_uscc"
)
"""A shipment of code ``r.code`` to the unit of ``r``."""


def _missing_shipment(scope: Scope, _d: str) -> str:
    return _grouped(
        _codes_in_scope(scope, "r"),
        f"r.bill_type = '107' AND NOT EXISTS ({_CITED}) AND NOT EXISTS ({_SHIPPED_HERE})",
    )


def _source_mismatch(scope: Scope, _d: str) -> str:
    return _grouped(
        _codes_in_scope(scope, "r"),
        f"r.bill_type = '107' AND NOT EXISTS ({_CITED} AND m.counterparty_uscc = r.org_uscc) "
        f"AND (EXISTS ({_CITED}) OR EXISTS ({_SHIPPED_HERE}))",
    )


_RECEIVED_HERE = (
    f"SELECT 1 FROM {CS} p WHERE p.code = r.code AND p.bill_type = '107' "
    "AND p.org_uscc = r.org_uscc"
)


def _missing_receipt(scope: Scope, _d: str) -> str:
    return _grouped(
        _codes_in_scope(scope, "r"),
        f"r.bill_type IN {HOLDER_STEPS} AND NOT EXISTS ({_RECEIVED_HERE}) "
        f"AND (EXISTS ({_SHIPPED_HERE}) OR r.bill_type NOT IN {OUTGOING})",
    )


def _shipped_by_non_holder(scope: Scope, _d: str) -> str:
    return _grouped(
        _codes_in_scope(scope, "r"),
        f"r.bill_type IN {OUTGOING} AND NOT EXISTS ({_RECEIVED_HERE}) "
        f"AND NOT EXISTS ({_SHIPPED_HERE})",
    )


def _time_order(scope: Scope, _d: str) -> str:
    """A receipt before the shipment it cites; a holder's step before every receipt of it
    there; a note before the production of its codes (each one probe of the code's index)."""
    where = _codes_in_scope(scope, "r")
    cited_at = (
        f"SELECT MAX(m.business_time) FROM {CS} m WHERE m.code = r.code "
        f"AND m.bill_type IN {SHIPMENTS} AND m.org_uscc = r.counterparty_uscc "
        "AND m.document_no = r.source_document_no AND m.counterparty_uscc = r.org_uscc"
    )
    first = (
        f"SELECT MIN(p.business_time) FROM {CS} p WHERE p.code = r.code "
        "AND p.bill_type = '{bill}' AND p.org_uscc = r.org_uscc"
    )
    before_shipment = f"r.bill_type = '107' AND ({cited_at}) > r.business_time"
    before_receipt = (
        f"r.bill_type IN {HOLDER_STEPS} AND ({first.format(bill='107')}) > r.business_time"
    )
    before_production = f"r.bill_type = '201' AND ({first.format(bill='101')}) > r.business_time"
    return _grouped(where, f"(({before_shipment}) OR ({before_receipt}) OR ({before_production}))")


def _received_twice(scope: Scope, _d: str) -> str:
    earlier = (
        f"SELECT 1 FROM {CS} p WHERE p.code = r.code AND p.bill_type = '107' "
        "AND p.org_uscc = r.org_uscc AND p.step_id <> r.step_id "
        "AND (p.business_time < r.business_time "
        "OR (p.business_time = r.business_time AND p.id < r.id)) "
        f"AND NOT EXISTS (SELECT 1 FROM {CS} o WHERE o.code = r.code "
        f"AND o.bill_type IN {OUTGOING} AND o.org_uscc = r.org_uscc "
        "AND o.business_time >= p.business_time AND o.business_time <= r.business_time)"
    )
    return _grouped(_codes_in_scope(scope, "r"), f"r.bill_type = '107' AND EXISTS ({earlier})")


def _used_twice(scope: Scope, _d: str) -> str:
    undone = f"(SELECT COUNT(*) FROM {CS} u WHERE u.code = r.code AND u.bill_type = '323')"
    return (
        "SELECT MAX(r.step_id) AS step_id, COUNT(*) AS n, r.code AS sample "
        f"FROM {CS} r WHERE r.bill_type = '322'{_codes_in_scope(scope, 'r')} "
        f"GROUP BY r.code HAVING COUNT(*) - {undone} > 1"
    )


def _late_report(scope: Scope, dialect: str) -> str:
    late = _hours_after(dialect, "s.reported_at", "s.business_time")
    first = (
        "SELECT reported_by, MIN(reported_at) AS first_report FROM supervised_step "
        "GROUP BY reported_by"
    )
    return (
        "SELECT s.id AS step_id, 0 AS n, NULL AS sample FROM supervised_step s "
        f"JOIN ({first}) joined ON joined.reported_by = s.reported_by "
        "WHERE s.reported_at IS NOT NULL AND s.business_time >= joined.first_report "
        f"AND {late}{_steps_in_scope(scope, 's')}"
    )


def _quantity_mismatch(scope: Scope, _d: str) -> str:
    """Codes of a shipment its consignee never received though it reported receiving from
    that document; in a partial run, the shipments received or shipped since the last."""
    shipments = (
        ""
        if scope.full
        else " AND r.step_id IN (SELECT x.id FROM supervised_step x "
        "WHERE x.id > :after AND x.id <= :through "
        "UNION SELECT x.id FROM supervised_step q JOIN supervised_step x "
        "ON x.document_no = q.source_document_no AND x.org_uscc = q.counterparty_uscc "
        "WHERE q.id > :after AND q.id <= :through AND q.bill_type = '107')"
    )
    receipt_of_it = (
        "SELECT 1 FROM supervised_step q WHERE q.source_document_no = r.document_no "
        "AND q.bill_type = '107' AND q.org_uscc = r.counterparty_uscc "
        "AND q.counterparty_uscc = r.org_uscc"
    )
    received = (
        f"SELECT 1 FROM {CS} p WHERE p.code = r.code AND p.bill_type = '107' "
        "AND p.org_uscc = r.counterparty_uscc AND p.source_document_no = r.document_no"
    )
    return _grouped(
        shipments,
        f"r.bill_type IN {SHIPMENTS} AND NOT EXISTS ({received}) AND EXISTS ({receipt_of_it})",
    )


def _flow(scope: Scope, condition: str, bill: str) -> str:
    return (
        "SELECT s.id AS step_id, 0 AS n, NULL AS sample FROM supervised_step s "
        f"WHERE s.bill_type = '{bill}' AND {condition}{_steps_in_scope(scope, 's')}"
    )


def _mah_to_site(scope: Scope, dialect: str) -> str:
    return _flow(scope, f"{_org_kind(dialect, 's.counterparty_uscc')} = 'pov'", "201")


def _site_supplies(scope: Scope, dialect: str) -> str:
    return _flow(scope, f"{_org_kind(dialect, 's.org_uscc')} = 'pov'", "209")


def _cross_province(scope: Scope, dialect: str) -> str:
    other = _org_division(dialect, "s.counterparty_uscc")
    return _flow(scope, f"substr({other}, 1, 2) <> substr(s.division_code, 1, 2)", "209")


def _used_after_expiry(scope: Scope, dialect: str) -> str:
    day = _china_day(dialect, "r.business_time")
    expiry = (
        "CAST(b.expiry_date AS TEXT)"
        if dialect == "sqlite"
        else "to_char(b.expiry_date, 'YYYY-MM-DD')"
    )
    return (
        "SELECT r.step_id, 1 AS n, r.code AS sample FROM "
        f"{CS} r JOIN supervised_code_batch cb ON cb.code = r.code "
        "JOIN supervised_batch b ON b.mah_uscc = cb.mah_uscc AND b.batch_no = cb.batch_no "
        f"WHERE r.bill_type = '322' AND {day} > {expiry}{_codes_in_scope(scope, 'r')}"
    )


def _standing(start: str, end: str | None) -> str:
    """A ``start`` control step on the code or its batch, at or before the use ``r``, not
    ended by an ``end`` step on the same code or batch before the use."""
    on_code = (
        f"SELECT 1 FROM {CS} l WHERE l.code = r.code AND l.bill_type = '{start}' "
        "AND l.business_time <= r.business_time"
    )
    on_batch = (
        "SELECT 1 FROM supervised_code_batch cb JOIN supervised_step_batch sb "
        "ON sb.mah_uscc = cb.mah_uscc AND sb.batch_no = cb.batch_no "
        "JOIN supervised_step l ON l.id = sb.step_id "
        f"WHERE cb.code = r.code AND l.bill_type = '{start}' AND l.business_time <= r.business_time"
    )
    if end is not None:
        on_code += (
            f" AND NOT EXISTS (SELECT 1 FROM {CS} e WHERE e.code = r.code "
            f"AND e.bill_type = '{end}' AND e.business_time >= l.business_time "
            "AND e.business_time <= r.business_time)"
        )
        on_batch += (
            " AND NOT EXISTS (SELECT 1 FROM supervised_step_batch eb JOIN supervised_step e "
            "ON e.id = eb.step_id WHERE eb.mah_uscc = cb.mah_uscc AND eb.batch_no = cb.batch_no "
            f"AND e.bill_type = '{end}' AND e.business_time >= l.business_time "
            "AND e.business_time <= r.business_time)"
        )
    return f"(EXISTS ({on_code}) OR EXISTS ({on_batch}))"


def _used_when(condition: str, scope: Scope) -> str:
    return (
        f"SELECT r.step_id, 1 AS n, r.code AS sample FROM {CS} r "
        f"WHERE r.bill_type = '322' AND {condition}{_codes_in_scope(scope, 'r')}"
    )


def _used_while_locked(scope: Scope, _d: str) -> str:
    return _used_when(_standing("911", "912"), scope)


def _used_while_recalled(scope: Scope, _d: str) -> str:
    return _used_when(_standing("913", None), scope)


def _used_after_excursion(scope: Scope, _d: str) -> str:
    return _used_when(_standing("931", None), scope)


def _required_fields(scope: Scope, dialect: str) -> str:
    lacks = []
    for bill, names in REQUIRED_FIELDS.items():
        absent = [
            f"s.{name} IS NULL"
            if name in REQUIRED_COLUMNS
            else f"{_json_text(dialect, 's.detail', name)} IS NULL"
            for name in names
        ]
        lacks.append(f"(s.bill_type = '{bill}' AND ({' OR '.join(absent)}))")
    return (
        "SELECT s.id AS step_id, 0 AS n, NULL AS sample FROM supervised_step s "
        f"WHERE ({' OR '.join(lacks)}){_steps_in_scope(scope, 's')}"
    )


STATEMENTS: dict[str, Callable[[Scope, str], str]] = {
    RuleId.MISSING_PRODUCTION: _missing_production,
    RuleId.MISSING_SHIPMENT: _missing_shipment,
    RuleId.MISSING_RECEIPT: _missing_receipt,
    RuleId.SOURCE_MISMATCH: _source_mismatch,
    RuleId.TIME_ORDER: _time_order,
    RuleId.REQUIRED_FIELDS: _required_fields,
    RuleId.RECEIVED_TWICE: _received_twice,
    RuleId.USED_TWICE: _used_twice,
    RuleId.SHIPPED_BY_NON_HOLDER: _shipped_by_non_holder,
    RuleId.LATE_REPORT: _late_report,
    RuleId.QUANTITY_MISMATCH: _quantity_mismatch,
    RuleId.MAH_TO_SITE: _mah_to_site,
    RuleId.SITE_SUPPLIES: _site_supplies,
    RuleId.CROSS_PROVINCE: _cross_province,
    RuleId.USED_AFTER_EXPIRY: _used_after_expiry,
    RuleId.USED_WHILE_LOCKED: _used_while_locked,
    RuleId.USED_WHILE_RECALLED: _used_while_recalled,
    RuleId.USED_AFTER_EXCURSION: _used_after_excursion,
}
"""The statement of each rule id (every rule of vaxtrace.core.validation.rules has one)."""


def caught(
    conn: Connection, rule_id: str, scope: Scope, hours: float
) -> Iterator[Mapping[str, Any]]:
    """The steps rule ``rule_id`` catches in ``scope``, with the step's own facts."""
    statement = STATEMENTS[rule_id](scope, conn.dialect.name)
    query = (
        "SELECT s.id, s.bill_type, s.org_uscc, s.counterparty_uscc, s.division_code, "
        "s.document_no, s.business_time, s.reported_at, s.detail, f.n, f.sample "
        f"FROM ({statement}) f JOIN supervised_step s ON s.id = f.step_id ORDER BY s.id"
    )
    params = {"after": scope.after, "through": scope.through, "hours": hours} | {
        f"area{n}": prefix + "%" for n, prefix in enumerate(scope.areas)
    }
    typed = text(query).columns(
        business_time=DateTime(timezone=True),
        reported_at=DateTime(timezone=True),
        detail=JSON,
    )
    for row in conn.execute(typed, params).mappings():
        yield dict(row)


def regulated_divisions(conn: Connection) -> list[str]:
    """The divisions of the regulators this node serves."""
    return [str(d) for d in conn.execute(select(regulator.c.division_code)).scalars()]


def last_step_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(supervised_step.c.id), 0))).scalar_one())


def last_validated(conn: Connection) -> int:
    """The last step id a run judged (0 before the first run)."""
    found = select(func.coalesce(func.max(validation_run.c.through_step_id), 0))
    return int(conn.execute(found).scalar_one())


def codes_in(conn: Connection, scope: Scope) -> int:
    """How many code rows a run judges (every one in full)."""
    rows = select(func.count()).select_from(text(CS))
    if not scope.full:
        rows = rows.where(text("step_id > :after AND step_id <= :through"))
    params = {"after": scope.after, "through": scope.through}
    return int(conn.execute(rows, params).scalar_one())


def keep_findings(
    conn: Connection, run: Mapping[str, Any], found: Sequence[RuleFinding]
) -> list[RuleFinding]:
    """Keep the run and the findings not kept before (by rule and subject); the new ones."""
    now = datetime.now(UTC)
    run_id = conn.execute(
        insert(validation_run)
        .values(**run, found=0, finished_at=now)
        .returning(validation_run.c.id)
    ).scalar_one()
    before = _kept_keys(conn, found)
    new = [f for f in found if f.key not in before]
    if new:
        conn.execute(insert_new(conn, rule_finding), [_row(f, run_id, now) for f in new])
        conn.execute(
            validation_run.update().where(validation_run.c.id == run_id).values(found=len(new))
        )
    journal.keep(
        conn,
        "validation_run",
        {
            "run": {**run, "run_id": run_id},
            "findings": [_row(f, run_id, now) for f in new],
        },
    )
    return new


def _kept_keys(conn: Connection, found: Sequence[RuleFinding]) -> set[tuple[str, str, str]]:
    f = rule_finding.c
    kept: set[tuple[str, str, str]] = set()
    subjects = sorted({x.subject for x in found})
    for start in range(0, len(subjects), 500):
        query = select(f.rule, f.subject_kind, f.subject).where(
            f.subject.in_(subjects[start : start + 500])
        )
        kept.update((str(a), str(b), str(c)) for a, b, c in conn.execute(query))
    return kept


def _row(found: RuleFinding, run_id: int, now: datetime) -> dict[str, Any]:
    return {
        "rule": found.rule,
        "severity": found.severity.value,
        "subject_kind": found.subject_kind.value,
        "subject": found.subject,
        "owing_uscc": found.owing_uscc,
        "division_code": found.division_code,
        "occurred_at": found.occurred_at,
        "detail": dict(found.detail),
        "found_at": now,
        "run_id": run_id,
    }


def findings_in(
    conn: Connection, area_prefix: str, *, rule: str | None, before: int | None, limit: int
) -> list[RowMapping]:
    """The findings inside an area (of one rule, when given), newest first."""
    f = rule_finding.c
    query = select(rule_finding).where(f.division_code.like(area_prefix + "%"))
    if rule is not None:
        query = query.where(f.rule == rule)
    if before is not None:
        query = query.where(f.id < before)
    return list(conn.execute(query.order_by(f.id.desc()).limit(limit)).mappings())


def counts_by_rule(conn: Connection) -> dict[str, int]:
    """How many findings each rule has kept."""
    f = rule_finding.c
    query = select(f.rule, func.count()).group_by(f.rule)
    return {str(rule): int(n) for rule, n in conn.execute(query)}


def all_findings(conn: Connection) -> list[RowMapping]:
    return list(conn.execute(select(rule_finding).order_by(rule_finding.c.id)).mappings())
