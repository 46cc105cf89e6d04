"""应种/逾期名单: the children due or overdue for a dose, per site, from a forecast table.

Each active child's next dose of every series (earliest, recommended, overdue and last
allowed day, as the schedule engine forecasts them) is kept in ``child_forecast``. The writes
that change a child's doses or registration refresh it in their own transaction
(:func:`refresh`: a registration, a vaccination and its undo, a move, an export, a merge); a
change of the schedule data, or a new edition taking effect, needs :func:`rebuild` (CLI
``vaxtrace children forecast --rebuild``), which recomputes every child in batches.

A site's due list for a window [first, last] is read through the index by (site, recommended
date, child, vaccine), a page at a time: every dose recommended on or before ``last`` that may
still be given on ``first`` (its last allowed day not before it). A dose is ``overdue`` when
its overdue day is on or before ``first`` (overdue as the window opens), else ``due``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recipients import is_child_id, vaccine_of
from vaxtrace.core.schedule import Child, DoseGiven, Schedule, evaluate, national_schedule
from vaxtrace.store.engine import Connection, Engine, read_tx, write_tx
from vaxtrace.store.immunization import forecasts as store

MAX_WINDOW_DAYS = 366
"""The longest window a due list answers."""

REBUILD_BATCH = 2000
"""Children recomputed per transaction by a rebuild."""

DUE = "due"
OVERDUE = "overdue"
STATUSES = (DUE, OVERDUE)


def week_of(day: date) -> tuple[date, date]:
    """The week (Monday to Sunday) ``day`` is in."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


# --- keeping the forecasts -------------------------------------------------------------------


def refresh(
    conn: Connection, refs: Iterable[str | None], now: datetime, schedule: Schedule | None = None
) -> None:
    """The hook of the writes that change a child's doses or registration, in their own
    transaction: the forecasts of the children ``refs`` name (vaccinee references that are
    not a child's id are skipped; a merged child's count for the record kept) are recomputed
    as of the day ``now`` is in China."""
    named = [r for r in refs if r is not None and is_child_id(r)]
    ids = set(named) | {store.kept_record(conn, r) for r in named}  # a merged one: no rows
    if ids:
        refresh_children(conn, sorted(ids), local_date(now), schedule)


def refresh_children(
    conn: Connection, child_ids: Collection[str], today: date, schedule: Schedule | None = None
) -> int:
    """Recompute the forecasts of ``child_ids`` (locked first): the active ones get their next
    doses, the others none. Answers the rows written."""
    rows = store.lock_children(conn, child_ids)
    active = [r for r in rows if r["state"] == store.ACTIVE]
    found = forecasts_of(conn, active, today, schedule or national_schedule())
    store.put(conn, child_ids, found)
    return len(found)


def forecasts_of(
    conn: Connection, children: Sequence[Mapping[Any, Any]], today: date, schedule: Schedule
) -> list[store.ForecastRow]:
    """The forecast rows of ``children`` (rows with id, site_uscc, birth_date, sex): each
    series' next dose, the doses of every record merged into a child counted as its own."""
    if not children:
        return []
    family = store.families(conn, [str(c["id"]) for c in children])
    given = store.doses_by_ref(conn, [ref for refs in family.values() for ref in refs])
    keys = {f"{mah}/{product or ''}" for doses in given.values() for _, product, mah in doses}
    names = store.generic_names(conn, keys)
    short_names = list(schedule.products)
    vaccines: dict[str, str | None] = {}
    for key in keys:
        code = key.split("/", 1)[1]
        vaccines[key] = vaccine_of(code or None, names.get(key), short_names)
    rows: list[store.ForecastRow] = []
    for c in children:
        child_id, birth = str(c["id"]), c["birth_date"]
        doses: list[DoseGiven] = []
        for ref in family[child_id]:
            for at, product, mah in given.get(ref, ()):
                vaccine = vaccines.get(f"{mah}/{product or ''}")
                if vaccine is not None:
                    doses.append(DoseGiven(vaccine, local_date(at)))
        assessment = max([today, birth, *(d.date for d in doses)])
        found = evaluate(
            Child(birth_date=birth, sex=c["sex"], assessment_date=assessment, doses=tuple(doses)),
            schedule,
        )
        for series in found.series:
            nxt = series.next
            if nxt is None or (nxt.latest is not None and nxt.earliest > nxt.latest):
                continue
            rows.append(
                (
                    child_id,
                    series.vaccine,
                    nxt.dose,
                    str(c["site_uscc"]),
                    nxt.earliest,
                    nxt.recommended,
                    nxt.overdue,
                    nxt.latest,
                    found.edition,
                    today,
                )
            )
    return rows


def rebuild(
    engine: Engine, today: date, schedule: Schedule | None = None, batch: int = REBUILD_BATCH
) -> dict[str, Any]:
    """Every active child's forecasts recomputed, ``batch`` children a transaction (writes
    of other children go on between batches; a child written meanwhile is refreshed by its
    own write, locked against the batch), then the rows of children no longer active
    dropped. Answers the children, rows and seconds."""
    schedule = schedule or national_schedule()
    started = time.perf_counter()
    after, children, rows = "", 0, 0
    while True:
        with write_tx(engine) as conn:
            ids = store.active_ids(conn, after, batch)
            if not ids:
                dropped = store.drop_inactive(conn)
                break
            rows += refresh_children(conn, ids, today, schedule)
        children += len(ids)
        after = ids[-1]
    return {
        "children": children,
        "forecasts": rows,
        "dropped": dropped,
        "edition": schedule.edition_on(today).id,
        "seconds": round(time.perf_counter() - started, 3),
    }


# --- the due list ----------------------------------------------------------------------------


def window(today: date, first: date | None, last: date | None) -> tuple[date, date]:
    """The window asked (default: this week; one end given, a week from or to it)."""
    if first is None and last is None:
        return week_of(today)
    try:
        if first is None:
            assert last is not None
            first = last - timedelta(days=6)
        if last is None:
            last = first + timedelta(days=6)
    except OverflowError as exc:
        raise DomainError(
            Reason.OUT_OF_RANGE, "a window within the calendar", field="from" if last else "to"
        ) from exc
    if last < first:
        raise DomainError(Reason.OUT_OF_RANGE, "`to` is before `from`", field="to")
    if (last - first).days >= MAX_WINDOW_DAYS:
        raise DomainError(
            Reason.OUT_OF_RANGE, f"a window of at most {MAX_WINDOW_DAYS} days", field="to"
        )
    return first, last


def status_of(overdue: date | None, first: date) -> str:
    return OVERDUE if overdue is not None and overdue <= first else DUE


PAGE = 1000
"""The doses a due list answers at once by default."""

MAX_PAGE = 10_000
"""…and at most."""


def cursor_of(text: str | None) -> store.Cursor | None:
    """A page's ``next`` read back: ``RECOMMENDED,CHILD_ID,VACCINE``."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        if len(parts) != 3 or not is_child_id(parts[1]) or not parts[2]:
            raise ValueError(text)
        return date.fromisoformat(parts[0]), parts[1], parts[2]
    except ValueError as exc:
        raise DomainError(
            Reason.MALFORMED_PAYLOAD,
            "not a page's next: RECOMMENDED,CHILD_ID,VACCINE",
            field="after",
        ) from exc


def due_list(
    engine: Engine,
    site_uscc: str,
    today: date,
    first: date | None = None,
    last: date | None = None,
    status: str | None = None,
    *,
    after: str | None = None,
    limit: int = PAGE,
    schedule: Schedule | None = None,
) -> dict[str, Any]:
    """A site's children due or overdue for a dose in a window (default: this week), each
    dose with its dates, status and the child's guardians (name, relation, phone): ``limit``
    doses from ``after`` (the ``next`` of the page before), with the whole list's totals."""
    if status is not None and status not in STATUSES:
        raise DomainError(Reason.OUT_OF_RANGE, "status is due or overdue", field="status")
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError(Reason.OUT_OF_RANGE, f"limit is 1 to {MAX_PAGE}", field="limit")
    first, last = window(today, first, last)
    where = {
        "overdue_by": first if status == OVERDUE else None,
        "not_overdue_by": first if status == DUE else None,
    }
    with read_tx(engine) as conn:
        rows = store.due(
            conn, site_uscc, first, last, after=cursor_of(after), limit=limit + 1, **where
        )
        more = len(rows) > limit
        rows = rows[:limit]
        people = store.children_of(conn, {r[0] for r in rows})
        doses, children = store.due_totals(conn, site_uscc, first, last, **where)
    chosen = schedule or national_schedule()
    opens = first.isoformat()
    guardians: dict[str, list[dict[str, Any]]] = {}  # each child's, read once
    items = []
    for child_id, vaccine, dose, earliest, recommended, overdue, latest in rows:
        name, birth_date, card_no, kept = people[child_id]
        found = guardians.get(child_id)
        if found is None:
            found = guardians[child_id] = [
                {"name": g.get("name"), "relation": g.get("relation"), "phone": g.get("phone")}
                for g in json.loads(kept)
            ]
        items.append(
            {
                "child_id": child_id,
                "name": name,
                "birth_date": birth_date,
                "card_no": card_no,
                "vaccine": vaccine,
                "vaccine_name": chosen.label(vaccine),
                "dose": dose,
                "earliest": earliest,
                "recommended": recommended,
                "overdue": overdue,
                "latest": latest,
                "status": OVERDUE if overdue is not None and overdue <= opens else DUE,
                "guardians": found,
            }
        )
    last_item = items[-1] if items else None
    return {
        "site_uscc": site_uscc,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "status": status,
        "total": doses,
        "children": children,
        "count": len(items),
        "items": items,
        "next": None
        if not more or last_item is None
        else f"{last_item['recommended']},{last_item['child_id']},{last_item['vaccine']}",
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def forecasts_of_child(engine: Engine, child_id: str) -> list[dict[str, Any]]:
    """A child's kept forecasts (what the due lists read), for checks."""
    with read_tx(engine) as conn:
        return [
            {k: _iso(v) if isinstance(v, date) else v for k, v in r.items()}
            for r in store.of_child(conn, child_id)
        ]
