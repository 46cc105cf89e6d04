"""A regulator's lock or unlock (监管锁定) of this system's goods, forwarded by the platform:
recorded as the MAH's own lock or unlock would be, in the codes' history and the one status
table, naming the regulator, so this system's answer about the goods agrees with every
province's. Nothing is sent down again: the platform forwarded the order to the provinces
already. A step the status table refuses (the goods used or destroyed …) refuses the
envelope, and the refusal goes back to the regulator as a finding."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.locks import Lock, Unlock
from vaxtrace.core.forwarding import origin_of
from vaxtrace.core.replay import LOCK_ACTIONS
from vaxtrace.core.signals import SafetySignal, SignalKind
from vaxtrace.core.status import Action
from vaxtrace.core.times import Clock
from vaxtrace.exchange.envelope import Opened
from vaxtrace.roles.trace.service.locks import status_apply
from vaxtrace.roles.trace.service.writes import write_in, write_key
from vaxtrace.store.engine import Connection
from vaxtrace.store.trace.codes import outermost


def take_order(conn: Connection, opened: Opened, signal: SafetySignal, clock: Clock) -> int:
    """Record a regulator's lock or unlock in the inbox's transaction, once (the origin
    envelope's id is the write's client document id); answers the trace event's id."""
    assert signal.issued_by is not None
    origin = origin_of(opened.payload, sender="platform", event_id=opened.header["event_id"])
    target: dict[str, Any] = {"batch_nos": signal.batch_nos}
    if signal.codes is not None:
        target = {"codes": tuple(outermost(conn, signal.codes))}
    common = {
        "client_document_id": origin.event_id,
        "business_time": signal.business_time,
        "document_no": signal.document_no,
        "source_document": f"{signal.issued_by}:{signal.document_no}"[:120],
        "reason": signal.reason or "监管部门锁定",
        **target,
    }
    request: Lock | Unlock
    if signal.kind is SignalKind.UNLOCK:
        request, action, operation = Unlock.model_validate(common), Action.UNLOCK, "unlock"
    else:
        assert signal.lock_kind is not None
        request = Lock.model_validate(common | {"kind": signal.lock_kind})
        action, operation = LOCK_ACTIONS[signal.lock_kind], "lock"
    payload = request.model_dump(mode="json", include={"kind", "reason", "batch_nos"})
    payload["issued_by"] = signal.issued_by
    apply = status_apply(signal.mah_uscc, request, action, payload)
    key = write_key(signal.mah_uscc, operation, request)
    result = write_in(conn, key, request, apply, bill_type=operation, clock=clock)
    return int(result.body["event_id"])
