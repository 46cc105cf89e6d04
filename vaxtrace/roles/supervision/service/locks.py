"""监管锁定: a regulator locks a MAH's batches or codes (pending / to be recalled / abnormal),
with reason and evidence, and resolves a pending lock. The order is kept and journaled here and
sent to the platform as a safety signal naming the regulator, in the same transaction; the
platform forwards it on the path of the MAH's own locks, so every province's gate stops the
goods. What this node checks first is what the platform would refuse: goods unknown here, or
without a step inside the regulator's area (national: anywhere)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.digests import order_number
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.refusal import notice_of
from vaxtrace.core.regulator_locks import (
    LockOrder,
    LockResolution,
    lock_signal,
    resolution_signal,
    state_after,
)
from vaxtrace.core.signals import SIGNAL_SUBTYPE, SafetySignal, read_signal
from vaxtrace.core.supervision import NATIONAL, area_prefix
from vaxtrace.exchange.delivery import PLATFORM, Outbox, Refused
from vaxtrace.exchange.envelope import payload_of
from vaxtrace.roles.supervision.service.regulators import division
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx, write_tx
from vaxtrace.store.supervision import findings
from vaxtrace.store.supervision import locks as store

MAX_LOCKS = 1000
"""Lock orders one page of ``locks`` answers at most."""

REFUSED = "refused"
"""The state of an order the platform refused (nothing was locked anywhere)."""


def lock(engine: Engine, outbox: Outbox | None, actor: str, order: LockOrder) -> dict[str, Any]:
    """Lock the goods ``order`` names, by the regulator ``actor``: kept, journaled and sent
    to the platform in one transaction (nothing is kept when refused)."""
    now = datetime.now(UTC)
    document_no = _document_no(actor, order.client_document_id)
    with write_tx(engine) as conn:
        area = division(conn, actor)
        kept = store.lock_by_document(conn, document_no)
        if kept is not None:  # a retry of an order kept already: answered as it stands
            return _view(kept)
        batch_nos, codes = _goods(conn, order, area)
        signal = lock_signal(
            order,
            regulator=actor,
            document_no=document_no,
            at=now,
            batch_nos=batch_nos,
            codes=codes,
        )
        row = {
            "document_no": signal.document_no,
            "regulator_uscc": actor,
            "division_code": area,
            "mah_uscc": order.mah_uscc,
            "batch_nos": list(batch_nos),
            "codes": None if order.codes is None else list(order.codes),
            "lock_kind": order.lock_kind.value,
            "state": order.lock_kind.value,
            "reason": order.reason,
            "evidence": list(order.evidence),
            "signal": signal.model_dump(mode="json"),
            "locked_at": now,
        }
        lock_id = store.add_lock(conn, row)
        _send(conn, outbox, signal)
        return _view(row | {"id": lock_id, "resolution": None, "refusal": None})


def _document_no(actor: str, client_document_id: str | None) -> str:
    """The order's document number: the same for every retry of one caller's order."""
    if client_document_id is None:
        return f"JGSD-{uuid.uuid4().hex[:20].upper()}"
    return order_number("JGSD", actor, client_document_id, 20)


def resolve(
    engine: Engine, outbox: Outbox | None, actor: str, lock_id: int, resolution: LockResolution
) -> dict[str, Any]:
    """Resolve a pending lock made inside the actor's area: to normal (an unlock goes down),
    to be recalled or abnormal (the lock goes down again with its new kind)."""
    now = datetime.now(UTC)
    with write_tx(engine) as conn:
        found = _lock(conn, actor, lock_id)
        state = state_after(str(found["state"]), resolution)
        signal = resolution_signal(SafetySignal.model_validate(found["signal"]), resolution, now)
        signal = signal.model_copy(update={"issued_by": actor})
        decided = {
            "outcome": resolution.outcome.value,
            "reason": resolution.reason,
            "by": actor,
            "at": now.isoformat(),
            "document_no": signal.document_no,
        }
        store.set_state(conn, lock_id, "regulator_lock_resolved", state=state, resolution=decided)
        _send(conn, outbox, signal)
        return _view(dict(found) | {"state": state, "resolution": decided})


def locks(
    engine: Engine, actor: str, *, before: int | None = None, limit: int = 100
) -> dict[str, Any]:
    """The lock orders made inside the actor's area, newest first."""
    most = min(max(limit, 1), MAX_LOCKS)
    with read_tx(engine) as conn:
        area = division(conn, actor)
        rows = store.locks_in(conn, area_prefix(area), before=before, limit=most)
    return {"division_code": area, "locks": [_view(r) for r in rows]}


def refused_by_platform(conn: Connection, message: RowMapping, refused: Refused) -> None:
    """The platform refused a message of this node (final): a lock order it carried stands
    refused (nothing was locked anywhere; a refused resolution leaves the lock pending), and
    the refusal is kept as a finding where the regulator is, for its staff to see."""
    envelope = message["envelope"]
    payload = payload_of(envelope)
    if not isinstance(payload, dict) or "safety_signal" not in payload:
        return
    signal = read_signal(payload)
    found = store.lock_by_document(conn, signal.document_no.removesuffix("-R"))
    notice = notice_of(
        payload,
        refused_event_id=str(message["event_id"]),
        sender=str(envelope["system_id"]),
        data_owner=str(envelope["data_owner"]),
        receiver=str(message["receiver"]),
        refusal=refused.parts,
        at=datetime.now(UTC),
    )
    refusal = notice.model_dump(mode="json")
    if found is None:  # not an order of this node's: the platform's alert is the record
        return
    resolving = signal.document_no != found["document_no"]
    state = str(found["lock_kind"]) if resolving else REFUSED  # only a pending lock resolves
    store.set_state(conn, int(found["id"]), "regulator_lock_refused", state=state, refusal=refusal)
    findings.add_finding(
        conn,
        str(message["event_id"]),
        findings.Finding(
            kind="regulator_lock_refused",
            org_uscc=str(found["regulator_uscc"]),
            division_code=str(found["division_code"]),
            reason=notice.reason,
            bill_type=None,
            document_no=signal.document_no,
            detail=refusal,
            found_at=notice.refused_at,
        ),
    )


def _goods(
    conn: Connection, order: LockOrder, area: str
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """The batches the order concerns (for routing), and its codes with what they hold
    (None: whole batches); refused unless every one had a step inside the regulator's area.
    A batch unknown here and one seen only elsewhere answer the same to a local regulator
    (``batch_not_seen``), so an order reveals nothing outside its area; national is told
    ``unknown_batch``."""
    prefix = area_prefix(area)
    if order.batch_nos is not None:
        seen = store.batches_seen(conn, order.mah_uscc, order.batch_nos, prefix)
        missing = [b for b in order.batch_nos if b not in seen]
        if missing:
            reason = Reason.UNKNOWN_BATCH if area == NATIONAL else Reason.BATCH_NOT_SEEN
            raise DomainError(
                reason,
                f"no step of {order.mah_uscc}'s batch {missing[0]} in division {area}",
                field="batch_nos",
            )
        return tuple(dict.fromkeys(order.batch_nos)), None
    assert order.codes is not None
    batches = store.codes_seen(conn, order.mah_uscc, order.codes, prefix)
    missing = [c for c in order.codes if c not in batches]
    if missing:
        raise DomainError(
            Reason.CODE_NOT_SEEN,
            f"no step of {order.mah_uscc}'s code {missing[0]} in division {area}",
            field="codes",
        )
    codes = tuple(store.with_contents(conn, order.codes))
    return tuple(dict.fromkeys(batches[c] for c in order.codes)), codes


def _lock(conn: Connection, actor: str, lock_id: int) -> RowMapping:
    found = store.lock_of(conn, lock_id, area_prefix(division(conn, actor)))
    if found is None:
        raise DomainError(
            Reason.LOCK_NOT_FOUND, f"no lock {lock_id} in the regulator's area", field="lock_id"
        )
    return found


def _send(conn: Connection, outbox: Outbox | None, signal: SafetySignal) -> None:
    """Queue the signal for the platform (nothing when this node has no exchange)."""
    if outbox is None:
        return
    assert signal.issued_by is not None
    outbox.post(
        conn,
        PLATFORM,
        event_type="20",
        event_subtype=SIGNAL_SUBTYPE,
        data_owner=signal.issued_by,
        payload={"safety_signal": signal.model_dump(mode="json")},
    )


def _view(r: Any) -> dict[str, Any]:
    """A lock order as a regulator's staff see it."""
    keys = (
        "id",
        "document_no",
        "regulator_uscc",
        "division_code",
        "mah_uscc",
        "batch_nos",
        "codes",
        "lock_kind",
        "state",
        "reason",
        "evidence",
        "resolution",
        "refusal",
    )
    view = {k: r[k] for k in keys}
    view["locked_at"] = _iso(r["locked_at"])
    return view


def _iso(value: Any) -> str:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return str(moment.astimezone(UTC).isoformat())
