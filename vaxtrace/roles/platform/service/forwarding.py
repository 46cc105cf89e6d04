"""The exchange (数据交换) between makers and provinces: take a batch of signed envelopes from
a connected system, each once, and forward what was taken in the same transaction: a shipping
note to the province serving its consignee, a province's report to the trace system owning
each of its codes, a MAH's safety signal to every system its batches went to (a supervision
system's public recall notice is kept for the public entry, not forwarded), and every step
to the supervision systems of the area (a MAH's production, self-inspection and lot release
facts and its signals, as steps, where the MAH is; a province's cold-chain excursions where
the unit is: these go to the supervision systems only). What cannot be routed is kept as an
operator alert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vaxtrace.core.downstream import DownstreamEvent
from vaxtrace.core.errors import DomainError
from vaxtrace.core.forwarding import forwarded_from
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recalls import RecallNotice
from vaxtrace.core.registry import SystemRole
from vaxtrace.core.signals import SafetySignal
from vaxtrace.core.supervision import ExcursionReport, Step, TraceFact, sees, signal_step
from vaxtrace.exchange.delivery import Inbox, Outbox, take_batch
from vaxtrace.exchange.envelope import Opened, open_envelope
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import regulator_locks
from vaxtrace.roles.platform.service.documents import (
    Report,
    checked_document,
    exchange_verifier,
    step_of,
)
from vaxtrace.roles.platform.service.registry import registered_system
from vaxtrace.roles.platform.service.resolution import owners
from vaxtrace.store.engine import Connection, Engine, write_tx
from vaxtrace.store.platform import alerts, recall_notices, registry, routes


def receive_batch(
    engine: Engine,
    inbox: Inbox,
    outbox: Outbox | None,
    caller: SystemIdentity,
    envelopes: list[Any],
) -> list[dict[str, Any]]:
    """Take a batch of signed envelopes from a connected system, each once, all or none:
    the sender is the verified certificate, each signature is checked against the key
    that system registered, and it may only carry data of organisations it represents."""
    with write_tx(engine) as conn:
        system = registered_system(conn, caller)
        areas = registry.supervised_areas(conn)  # the same for every envelope of the batch
        return take_batch(
            envelopes,
            lambda envelope: _take(conn, inbox, outbox, caller, system["data"], areas, envelope),
        )


def _take(
    conn: Connection,
    inbox: Inbox,
    outbox: Outbox | None,
    caller: SystemIdentity,
    system: Any,
    areas: list[tuple[str, str]],
    envelope: Any,
) -> dict[str, Any]:
    if isinstance(envelope, dict) and envelope.get("system_id") != caller.system_id:
        raise DomainError(
            Reason.SENDER_MISMATCH, "the envelope names another sending system", field="system_id"
        )
    opened = open_envelope(
        envelope, lambda _sender, alg, key_id: exchange_verifier(system, alg, key_id)
    )
    if opened.header["data_owner"] not in system["represents"]:
        raise DomainError(
            Reason.NOT_REPRESENTED,
            f"{caller.system_id} does not represent {opened.header['data_owner']}",
            field="data_owner",
        )
    report = checked_document(opened, system["role"])
    if isinstance(report, SafetySignal) and report.issued_by is not None:
        regulator_locks.check_order(conn, report)
    fresh = inbox.receive(conn, opened)
    forwarded = _forward(conn, outbox, opened, report, areas) if fresh else None
    return {
        "event_id": opened.header["event_id"],
        "accepted": fresh,
        "duplicate": not fresh,
        "forwarded_to": forwarded,
    }


def _forward(
    conn: Connection,
    outbox: Outbox | None,
    opened: Opened,
    report: Report,
    areas: list[tuple[str, str]],
) -> list[str] | None:
    """Route what was taken on, in the transaction that took it (so it is forwarded
    exactly when it is taken): a shipping note to the province serving its consignee, a
    province's report to the trace system owning each of its codes. What cannot be
    routed is kept and raises an operator alert."""
    if isinstance(report, RecallNotice):  # for the public entry: kept here, sent nowhere
        header = opened.header
        recall_notices.keep_notice(conn, report, header["data_owner"], header["event_id"])
        return []
    if outbox is None:
        return None
    taken = _Taken(conn, outbox, opened, areas)
    if isinstance(report, SafetySignal):
        return _forward_signal(taken, report)
    step, where = step_of(opened, report)
    if isinstance(report, TraceFact | ExcursionReport):
        return _copy_to_supervision(taken, step, where)
    routed = _forward_note(taken) if report is None else _split_by_owner(taken, report)
    return routed + _copy_to_supervision(taken, step, where)


@dataclass(frozen=True, slots=True)
class _Taken:
    """An envelope being forwarded, in the transaction that took it, and the areas the
    supervision systems see (``areas``: system id and area prefix)."""

    conn: Connection
    outbox: Outbox
    opened: Opened
    areas: list[tuple[str, str]]

    def post(self, receiver: str, payload: dict[str, Any]) -> None:
        """Forward ``payload`` to ``receiver``, saying which envelope it came from."""
        header = self.opened.header
        self.outbox.post(
            self.conn,
            receiver,
            event_type=str(header["event_type"]),
            event_subtype=str(header["event_subtype"]),
            data_owner=str(header["data_owner"]),
            payload=payload | {"forwarded_from": forwarded_from(header)},
        )

    def alert(self, reason: str, **detail: Any) -> None:
        """Keep an operator alert about what could not be routed."""
        header = self.opened.header
        alerts.raise_alert(
            self.conn, reason, str(header["event_id"]), str(header["system_id"]), detail
        )


def _copy_to_supervision(
    taken: _Taken, step: Step, where: str, also: frozenset[str] = frozenset()
) -> list[str]:
    """Every step also goes, whole, to each supervision system whose regulator's area
    holds where it happened (``where``: a note's consignee CDC, a report's doer, the MAH of
    its own facts and control steps), and to the systems in ``also``."""
    division = registry.division_of(taken.conn, where) if taken.areas else None
    here = {s for s, area in taken.areas if division and sees(area, division)}
    receivers = sorted(here | also) if division else []
    if not receivers:
        return []
    copy = step.model_dump(mode="json") | {"division_code": division}
    for system_id in receivers:
        taken.post(system_id, {"supervised_step": copy})
    return receivers


def _forward_note(taken: _Taken) -> list[str]:
    note = taken.opened.payload["shipping_note"]
    receiver = registry.system_representing(
        taken.conn, SystemRole.IMMUNIZATION.value, note["consignee_uscc"]
    )
    if receiver is None:
        taken.alert("no_province_system", consignee_uscc=note["consignee_uscc"])
        return []
    batch_nos = [str(b["batch_no"]) for b in note.get("batches") or []]
    mah = str(taken.opened.header["data_owner"])
    routes.add_routes(taken.conn, mah, batch_nos, receiver, str(note["consignee_uscc"]))
    taken.post(receiver, {"shipping_note": note})
    return [receiver]


def _forward_signal(taken: _Taken, signal: SafetySignal) -> list[str]:
    """A MAH's safety signal goes to every immunization system the platform sent goods
    of its batches to, in each one's queue after the notes it concerns (a batch nobody
    was sent yet needs no signal: its note will carry the batch's state), and to the
    supervision systems whose area holds a consignee of those goods, once per division. A
    regulator's lock goes the same way, and to the MAH's trace system too."""
    routed = routes.routes_of(taken.conn, signal.mah_uscc, signal.batch_nos)
    systems = sorted({s for s, _ in routed} | set(regulator_locks.mah_system(taken.conn, signal)))
    payload = {"safety_signal": signal.model_dump(mode="json")}
    for system_id in systems:
        taken.post(system_id, payload)
    divisions = sorted({d for _, c in routed if (d := registry.division_of(taken.conn, c))})
    copies = sorted({(w, d) for w, area in taken.areas for d in divisions if sees(area, d)})
    for watcher, division in copies:
        taken.post(watcher, payload | {"division_code": division})
    watchers = frozenset(w for w, _ in copies)
    step = signal_step(signal)
    stepped = [] if step is None else _copy_to_supervision(taken, step, signal.mah_uscc, watchers)
    return systems + sorted(watchers | set(stepped))


def _split_by_owner(taken: _Taken, event: DownstreamEvent) -> list[str]:
    held_by: dict[str, list[str]] = {}
    unroutable: list[str] = []
    for code, system_id in owners(taken.conn, event.codes):
        if system_id is None:
            unroutable.append(code)
        else:
            held_by.setdefault(system_id, []).append(code)
    if unroutable:
        taken.alert(Reason.NO_RULE, codes=unroutable[:100], count=len(unroutable))
    for part, (system_id, codes) in enumerate(sorted(held_by.items()), start=1):
        piece = event.only(tuple(codes)).model_dump(mode="json")
        split = {"part": part, "parts": len(held_by), "codes_in_event": len(event.codes)}
        taken.post(system_id, {"downstream_event": piece, "split": split})
    return sorted(held_by)
