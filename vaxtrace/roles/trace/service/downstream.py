"""What provinces report back about this system's codes (下游数据回传): receipts by CDCs,
distributions to vaccination sites, vaccinations, returns and damage, forwarded by the platform
(split by owner, so only this system's codes arrive here). Each report becomes an event of the
codes' history, by the organisation that did the step, through the one status table. A
regulator's lock or unlock of this system's goods comes the same way (see
``regulator_locks``)."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.elements import Write
from vaxtrace.core.downstream import ACTIONS, DownstreamEvent, read_event
from vaxtrace.core.errors import DomainError
from vaxtrace.core.forwarding import origin_of
from vaxtrace.core.reasons import Reason
from vaxtrace.core.replay import MOVES_TO_COUNTERPARTY
from vaxtrace.core.signals import SafetySignal, read_signal
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import FromPlatform
from vaxtrace.exchange.envelope import Opened, Verifier
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service import regulator_locks
from vaxtrace.roles.trace.service.writes import codes_step, write_in, write_key
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.trace.exchange import exchange_store


class Reported(Write):
    """A province's step as this system records it; the province's envelope id is the client
    document id, so the step is recorded once however often it arrives."""

    event: DownstreamEvent


class DownstreamReceiver:
    """Takes the platform's envelopes of province reports, each once, a batch all or none."""

    def __init__(
        self,
        engine: Engine,
        platform_id: str,
        platform_key: Verifier | None,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.from_platform = FromPlatform(engine, exchange_store(), platform_id, platform_key)
        self.clock = clock or Clock()

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        return self.from_platform.take(caller.system_id, envelopes, _taken, self._record)

    def _record(
        self, conn: Connection, opened: Opened, taken: Reported | SafetySignal
    ) -> dict[str, Any]:
        if isinstance(taken, SafetySignal):
            return {"trace_event_id": regulator_locks.take_order(conn, opened, taken, self.clock)}
        return {"trace_event_id": record(conn, taken, self.clock)}


def _taken(opened: Opened) -> Reported | SafetySignal:
    """A province's report, or a regulator's lock or unlock of this system's goods."""
    payload = opened.payload
    if isinstance(payload, dict) and "safety_signal" in payload:
        signal = read_signal(payload)
        if signal.issued_by is None:
            raise DomainError(
                Reason.WRONG_SENDER_ROLE,
                "a trace system takes a regulator's signals only (issued_by)",
                field="payload.safety_signal.issued_by",
            )
        return signal
    return _reported(opened)


def _reported(opened: Opened) -> Reported:
    event = read_event(opened.payload)
    origin = origin_of(opened.payload, sender="province", event_id=opened.header["event_id"])
    return Reported(
        client_document_id=origin.event_id,
        business_time=event.business_time,
        document_no=event.document_no,
        source_document=f"{origin.system_id}:{event.document_no}"[:120],
        event=event,
    )


def record(conn: Connection, reported: Reported, clock: Clock) -> int:
    """Write the step in the caller's transaction (the inbox's), by the organisation that did
    it: the codes must be held by it, the status table must allow the step, and its business
    time must pass the rule every node applies (not in the future, not before the codes'
    previous step or their production)."""
    event = reported.event
    bill = event.bill_type
    holder = event.counterparty_uscc if bill in MOVES_TO_COUNTERPARTY else event.org_uscc
    payload = event.model_dump(
        mode="json", exclude={"codes", "document_no", "business_time", "org_uscc", "bill_type"}
    )
    step = codes_step(
        event.org_uscc,
        event.codes,
        ACTIONS[bill],
        holder=holder,
        payload={k: v for k, v in payload.items() if v is not None},
        any_mah=True,
    )
    operation = f"downstream_{bill.name.lower()}"
    key = write_key(event.org_uscc, operation, reported)
    result = write_in(conn, key, reported, step, bill_type=bill.value, clock=clock)
    return int(result.body["event_id"])
