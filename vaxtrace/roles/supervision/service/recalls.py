"""召回管理 at the supervision node: a MAH's recall as its 913 step tells it (closed by its
914), or one a regulator orders; where every unit of it is, how far it is complete over
time, its milestones and the overdue ones, and its closing.

Who sees a recall: the regulator of the MAH's area oversees it (sees every unit, may order
and close it); a regulator of another area where units went sees the units whose latest
step was done inside its area, and may not close it; any other does not learn it exists.

Vaccinated units: this node holds no personal data (a vaccination step names the site and its
document, never the vaccinee), so a recall shows which site vaccinated each dose and the
document number; who received it is for the province's immunization system to tell its
authorised health staff, for medical follow-up.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from vaxtrace.core.datasets.recalls import RecallLevel
from vaxtrace.core.digests import order_number
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recalls import (
    ACCOUNTED_FOR,
    NOTICE,
    SEVERITY,
    Completion,
    Milestone,
    Placed,
    RecallClosing,
    RecallFacts,
    RecallOrder,
    UnitState,
    check_closing,
    closing_summary,
    completion,
    milestones,
    notice_of,
    overdue,
    placed,
)
from vaxtrace.core.signals import SignalKind
from vaxtrace.core.supervision import SIGNAL_BILLS, SupervisedStep, area_prefix
from vaxtrace.core.times import as_stored, as_utc
from vaxtrace.core.validation.findings import RuleFinding, SubjectKind
from vaxtrace.exchange.delivery import PLATFORM, Outbox
from vaxtrace.roles.supervision.service.regulators import division
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx, write_tx
from vaxtrace.store.supervision import recalls as store

MAX_RECALLS = 1000
"""Recalls one page of ``recalls`` answers at most."""

OVERDUE_RULE = "recall_overdue"
"""The rule a missed recall milestone is found by."""

RECIPIENT = (
    "not kept here: the province's immunization system tells its authorised health staff "
    "who received this dose, for medical follow-up"
)

_STARTED, _CLOSED = SIGNAL_BILLS[SignalKind.RECALL], SIGNAL_BILLS[SignalKind.RECALL_CLOSED]


# --- a MAH's recall, as its steps arrive -------------------------------------------------------


def follow_mah_step(conn: Connection, step: SupervisedStep) -> None:
    """A MAH's recall starts with its 913 step and closes with its 914 (its summary): kept
    once each. A 914 while units are still out leaves the recall open here, noted, for the
    regulator to close with a justification."""
    if step.bill_type not in (_STARTED, _CLOSED) or step.mah_uscc is None:
        return
    detail = step.detail or {}
    recall_no = str(detail.get("recall_no") or step.document_no)
    at = as_utc(step.business_time)
    if step.bill_type == _STARTED:
        _open(
            conn,
            store.NewRecall(
                recall_no=recall_no,
                mah_uscc=step.mah_uscc,
                division_code=step.division_code,
                level=int(detail.get("recall_level") or RecallLevel.ONE),  # unknown: strictest
                mock=False,  # a MAH's mock recall is not sent
                initiator="mah",
                initiated_by=step.org_uscc,
                reason=detail.get("reason"),
                started_at=at,
                batch_nos=step.batch_nos,
            ),
        )
        return
    kept = store.recall_of(conn, step.mah_uscc, recall_no)
    if kept is None or kept["state"] == store.CLOSED:
        return
    done = _completion(conn, kept, "")
    if not done.complete:
        store.note_mah_closed(conn, kept["id"], at)
        return
    summary = str(detail.get("reason") or "closed by the MAH")
    store.close_recall(
        conn, kept["id"], step.org_uscc, at, closing_summary(done, summary, None, at)
    )
    store.add_progress(conn, kept["id"], at, done)


def _open(conn: Connection, new: store.NewRecall) -> int | None:
    recall_id = store.open_recall(conn, new)
    if recall_id is not None:
        kept = store.recall_by_id(conn, recall_id)
        assert kept is not None
        store.add_progress(conn, recall_id, new.started_at, _completion(conn, kept, ""))
    return recall_id


# --- what a regulator does ---------------------------------------------------------------------


def order_recall(
    engine: Engine, actor: str, order: RecallOrder, now: datetime, outbox: Outbox | None = None
) -> dict[str, Any]:
    """责令召回: a regulator of the MAH's area orders a recall of batches this node knows."""
    with write_tx(engine) as conn:
        area = division(conn, actor)
        where = store.mah_divisions(conn, order.mah_uscc, order.batch_nos)
        unknown = [b for b in order.batch_nos if b not in where]
        if unknown:
            raise DomainError(
                Reason.UNKNOWN_BATCH,
                f"no production of batch {unknown[0]} of {order.mah_uscc} is known here",
                field="batch_nos",
            )
        mah_division = min(where.values())
        _check_oversees(area, mah_division, "mah_uscc")
        recall_no = _order_no(actor, order.client_document_id, now)
        kept = store.recall_of(conn, order.mah_uscc, recall_no)
        if kept is not None:  # a retry of an order opened already: answered as it stands
            return _view(conn, kept, "", now)
        recall_id = _open(
            conn,
            store.NewRecall(
                recall_no=recall_no,
                mah_uscc=order.mah_uscc,
                division_code=mah_division,
                level=int(order.level),
                mock=order.mock,
                initiator="regulator",
                initiated_by=actor,
                reason=order.reason,
                started_at=now,
                batch_nos=tuple(dict.fromkeys(order.batch_nos)),
                divisions=order.divisions,
            ),
        )
        if recall_id is None:  # the same order's retry, committed in between
            raced = store.recall_of(conn, order.mah_uscc, recall_no)
            assert raced is not None
            return _view(conn, raced, "", now)
        publish_notices(conn, outbox)
        return _view(conn, _kept(conn, recall_id), "", now)


def _order_no(actor: str, client_document_id: str | None, now: datetime) -> str:
    """An ordered recall's number: the same for every retry of one caller's order."""
    if client_document_id is None:
        return f"ORD-{now:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
    return order_number("ORD", actor, client_document_id, 16)


def close_recall(
    engine: Engine,
    actor: str,
    recall_id: int,
    closing: RecallClosing,
    now: datetime,
    outbox: Outbox | None = None,
) -> dict[str, Any]:
    """召回完成: the regulator of the MAH's area closes a recall, complete or with a
    justification; its summary keeps the units' states then."""
    with write_tx(engine) as conn:
        area = division(conn, actor)
        kept = _visible(conn, area, recall_id)
        _check_oversees(area, kept["division_code"])
        if kept["state"] == store.CLOSED:
            raise DomainError(
                Reason.RECALL_CLOSED, f"recall {kept['recall_no']} is closed", field="recall_id"
            )
        done = _completion(conn, kept, "")
        check_closing(done, closing.justification)
        summary = closing_summary(done, closing.summary, closing.justification, now)
        store.close_recall(conn, recall_id, actor, now, summary)
        store.add_progress(conn, recall_id, now, done)
        publish_notices(conn, outbox)
        return _view(conn, _kept(conn, recall_id), "", now)


def recalls(
    engine: Engine, actor: str, *, before: int | None = None, limit: int = 100
) -> dict[str, Any]:
    """The recalls the actor sees, newest first, a page at a time."""
    most = min(max(limit, 1), MAX_RECALLS)
    with read_tx(engine) as conn:
        area = division(conn, actor)
        rows = store.recalls_in(conn, area_prefix(area), before=before, limit=most)
        return {"division_code": area, "recalls": [_header(conn, r) for r in rows]}


def recall(engine: Engine, actor: str, recall_id: int, now: datetime) -> dict[str, Any]:
    """One recall as the actor sees it: its units by state and by holder, its completion,
    its progress over time and its milestones."""
    with read_tx(engine) as conn:
        area = division(conn, actor)
        kept = _visible(conn, area, recall_id)
        return _view(conn, kept, _scope(area, kept), now)


# --- the public notice (召回公告) ---------------------------------------------------------------


def publish_notices(conn: Connection, outbox: Outbox | None) -> int:
    """Send the platform's public entry the notice of every real recall whose state the
    public was not told yet (opened, or closed since), as the regulator of the MAH's area
    this node serves (the most local one); answers how many were sent. Nothing without an
    exchange, or for a recall no regulator here oversees."""
    if outbox is None:
        return 0
    sent = 0
    served = store.regulators(conn)
    for row in store.unannounced(conn):
        publisher = _overseer(served, row["division_code"])
        if publisher is None:
            continue
        notice = notice_of(row, store.batches_of(conn, int(row["id"])))
        outbox.post(
            conn,
            PLATFORM,
            event_type="20",
            event_subtype=NOTICE,
            data_owner=publisher,
            payload={NOTICE: notice.model_dump(mode="json")},
        )
        store.mark_announced(conn, int(row["id"]), row["state"])
        sent += 1
    return sent


def _overseer(served: list[tuple[str, str]], division_code: str) -> str | None:
    """The most local regulator served here whose area holds ``division_code``."""
    holding = [
        (len(area_prefix(d)), u) for u, d in served if division_code.startswith(area_prefix(d))
    ]
    return max(holding)[1] if holding else None


# --- for the background work (the lead wires these) --------------------------------------------


def record_progress(conn: Connection, now: datetime) -> int:
    """Keep how far every open recall is now (its completion over time); answers how many."""
    kept = store.open_recalls(conn)
    for row in kept:
        store.add_progress(conn, row["id"], now, _completion(conn, row, ""))
    return len(kept)


def overdue_milestones(conn: Connection, now: datetime) -> list[RuleFinding]:
    """One finding per open recall with a missed milestone (rule ``recall_overdue``, about
    the recall, owed by its MAH, where the MAH is; severity by the recall's level)."""
    found = []
    for row in store.open_recalls(conn):
        missed = overdue(_milestones(conn, row, _placed(conn, row, ""), now))
        if not missed:
            continue
        level = RecallLevel(row["level"])
        found.append(
            RuleFinding(
                rule=OVERDUE_RULE,
                severity=SEVERITY[level],
                subject_kind=SubjectKind.RECALL,
                subject=f"{row['mah_uscc']}:{row['recall_no']}",
                owing_uscc=row["mah_uscc"],
                division_code=row["division_code"],
                occurred_at=missed[0].due_at,
                detail={
                    "recall_id": int(row["id"]),
                    "level": int(level),
                    "mock": bool(row["mock"]),
                    "missed": [_milestone_view(m) for m in missed],
                },
            )
        )
    return found


# --- helpers -----------------------------------------------------------------------------------


def _check_oversees(area: str, mah_division: str, field: str | None = None) -> None:
    """Only the regulator of the MAH's area orders or closes its recalls."""
    if not mah_division.startswith(area_prefix(area)):
        raise DomainError(
            Reason.RECALL_OUTSIDE_AREA,
            f"the MAH is in division {mah_division}, outside {area}: its regulator acts on it",
            field=field,
        )


def _kept(conn: Connection, recall_id: int) -> RowMapping:
    kept = store.recall_by_id(conn, recall_id)
    if kept is None:
        raise DomainError(Reason.UNKNOWN_RECALL, f"no recall {recall_id}", field="recall_id")
    return kept


def _visible(conn: Connection, area: str, recall_id: int) -> RowMapping:
    """The recall, if the area oversees its MAH or a unit of it had a step there; else not
    found, as an unknown one."""
    kept = _kept(conn, recall_id)
    prefix = area_prefix(area)
    if kept["division_code"].startswith(prefix) or store.has_units_in(conn, recall_id, prefix):
        return kept
    raise DomainError(Reason.UNKNOWN_RECALL, f"no recall {recall_id}", field="recall_id")


def _scope(area: str, kept: RowMapping) -> str:
    """The prefix of the units the area sees of a recall: all of them where it oversees the
    MAH, else those whose latest step was done inside it."""
    prefix = area_prefix(area)
    return "" if kept["division_code"].startswith(prefix) else prefix


def _placed(conn: Connection, kept: RowMapping, prefix: str) -> list[Placed]:
    started = as_utc(kept["started_at"])
    return [
        placed(step, kept["mah_uscc"], started)
        for step in store.latest_steps(conn, kept["id"], prefix)
    ]


def _completion(conn: Connection, kept: RowMapping, prefix: str) -> Completion:
    return completion(_placed(conn, kept, prefix))


def _milestones(
    conn: Connection, kept: RowMapping, units: list[Placed], now: datetime
) -> list[Milestone]:
    started = as_utc(kept["started_at"])
    done = completion(units)
    back = [
        (u.step.business_time, u.step.units)
        for u in units
        if u.state in ACCOUNTED_FOR and u.step.business_time > started
    ]
    complete_at = max((at for at, _ in back), default=started) if done.complete else None
    facts = RecallFacts(
        started_at=started,
        level=RecallLevel(kept["level"]),
        last_onward_at=store.last_onward(conn, kept["id"], started),
        complete_at=complete_at,
        recovered_at=tuple(back),
    )
    closed = kept["closed_at"]
    return milestones(facts, now, None if closed is None else as_utc(closed))


def _header(conn: Connection, row: RowMapping) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "recall_no": row["recall_no"],
        "mah_uscc": row["mah_uscc"],
        "division_code": row["division_code"],
        "level": int(row["level"]),
        "mock": bool(row["mock"]),
        "initiator": row["initiator"],
        "initiated_by": row["initiated_by"],
        "reason": row["reason"],
        "batch_nos": store.batches_of(conn, int(row["id"])),
        "divisions": list(row["divisions"] or ()),
        "started_at": as_stored(row["started_at"]).isoformat(),
        "state": row["state"],
        "closed_at": None if row["closed_at"] is None else as_stored(row["closed_at"]).isoformat(),
        "closed_by": row["closed_by"],
        "mah_closed_at": (
            None if row["mah_closed_at"] is None else as_stored(row["mah_closed_at"]).isoformat()
        ),
    }


def _view(conn: Connection, kept: RowMapping, prefix: str, now: datetime) -> dict[str, Any]:
    units = _placed(conn, kept, prefix)
    done = completion(units)
    found = _milestones(conn, kept, units, now)
    return _header(conn, kept) | {
        "scope": "all" if prefix == "" else f"units last seen in {prefix}*",
        "completion": done.as_dict(),
        "holders": _holders(units),
        "vaccinated": [_vaccinated(u) for u in units if u.state in _USED],
        "progress": [_progress_point(r) for r in store.progress_of(conn, kept["id"])]
        + [{"at": now.isoformat(), **_counts(done)}],
        "milestones": [_milestone_view(m) for m in found],
        "overdue": any(m.overdue for m in found),
        "summary": kept["summary"],
    }


_USED = frozenset({UnitState.VACCINATED, UnitState.USED_DURING_RECALL})


def _holders(units: list[Placed]) -> list[dict[str, Any]]:
    """Units by state, holder and division (most first)."""
    totals: dict[tuple[str, str, str], int] = {}
    for u in units:
        key = (u.state.value, u.holder_uscc, u.step.division_code)
        totals[key] = totals.get(key, 0) + u.step.units
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        {"state": s, "holder_uscc": h, "division_code": d, "units": n} for (s, h, d), n in ordered
    ]


def _vaccinated(u: Placed) -> dict[str, Any]:
    return {
        "state": u.state.value,
        "site_uscc": u.step.org_uscc,
        "division_code": u.step.division_code,
        "document_no": u.step.document_no,
        "vaccinated_at": u.step.business_time.isoformat(),
        "units": u.step.units,
        "recipient": RECIPIENT,
    }


def _counts(done: Completion) -> dict[str, Any]:
    return {
        "units": done.total,
        "accounted_for": done.accounted_for,
        "completion_rate": round(done.rate, 4),
    }


def _progress_point(row: RowMapping) -> dict[str, Any]:
    units, accounted = int(row["units"]), int(row["accounted_for"])
    return {
        "at": as_stored(row["taken_at"]).isoformat(),
        "units": units,
        "accounted_for": accounted,
        "completion_rate": round(1.0 if units == 0 else accounted / units, 4),
    }


def _milestone_view(m: Milestone) -> dict[str, Any]:
    return {
        "kind": m.kind.value,
        "period": m.period,
        "due_at": m.due_at.isoformat(),
        "met": m.met,
        "overdue": m.overdue,
    }
