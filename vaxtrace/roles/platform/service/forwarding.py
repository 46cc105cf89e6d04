"""The exchange (数据交换) between makers and provinces: take a batch of signed envelopes from
a connected system, each once, and forward what was taken in the same transaction: a shipping
note to the province serving its consignee, a province's report to the trace system owning
each of its codes, a MAH's safety signal to every system its batches went to, and every step
to the supervision systems of the area. What cannot be routed is kept as an operator alert."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.downstream import DownstreamEvent
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.registry import SystemRole
from vaxtrace.core.signals import SafetySignal
from vaxtrace.core.supervision import Step, sees
from vaxtrace.exchange.delivery import Inbox, Outbox, take_batch
from vaxtrace.exchange.envelope import Opened, open_envelope
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service.documents import checked_document, exchange_verifier, step_of
from vaxtrace.roles.platform.service.resolution import owners
from vaxtrace.store.engine import Connection, Engine, write_tx
from vaxtrace.store.platform import alerts, registry, routes


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
        system = registry.find_system(conn, caller.system_id)
        if system is None:
            raise DomainError(Reason.UNKNOWN_SYSTEM, f"{caller.system_id} is not registered")
        if system["operator_uscc"] != caller.org_uscc:
            raise DomainError(
                Reason.CERTIFICATE_MISMATCH,
                "the certificate's organisation does not run this system",
            )
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
    report: DownstreamEvent | SafetySignal | None,
    areas: list[tuple[str, str]],
) -> list[str] | None:
    """Route what was taken on, in the transaction that took it (so it is forwarded
    exactly when it is taken): a shipping note to the province serving its consignee, a
    province's report to the trace system owning each of its codes. What cannot be
    routed is kept and raises an operator alert."""
    if outbox is None:
        return None
    if isinstance(report, SafetySignal):
        return _forward_signal(conn, outbox, opened, report, areas)
    step, where = step_of(opened, report)
    if report is None:
        routed = _forward_note(conn, outbox, opened)
    else:
        routed = _split_by_owner(conn, outbox, opened, report)
    return routed + _copy_to_supervision(conn, outbox, opened, step, where, areas)


def _copy_to_supervision(
    conn: Connection,
    outbox: Outbox,
    opened: Opened,
    step: Step,
    where: str,
    areas: list[tuple[str, str]],
) -> list[str]:
    """Every step also goes, whole, to each supervision system whose regulator's area
    holds where it happened (``where``: a note's consignee CDC, a report's doer)."""
    division = registry.division_of(conn, where) if areas else None
    receivers = sorted({s for s, area in areas if division and sees(area, division)})
    if not receivers:
        return []
    copy = step.model_dump(mode="json") | {"division_code": division}
    for system_id in receivers:
        _post(conn, outbox, system_id, opened, {"supervised_step": copy})
    return receivers


def _forward_note(conn: Connection, outbox: Outbox, opened: Opened) -> list[str]:
    note = opened.payload["shipping_note"]
    receiver = registry.system_representing(
        conn, SystemRole.IMMUNIZATION.value, note["consignee_uscc"]
    )
    if receiver is None:
        _alert(conn, "no_province_system", opened, consignee_uscc=note["consignee_uscc"])
        return []
    batch_nos = [str(b["batch_no"]) for b in note.get("batches") or []]
    mah = str(opened.header["data_owner"])
    routes.add_routes(conn, mah, batch_nos, receiver, str(note["consignee_uscc"]))
    _post(conn, outbox, receiver, opened, {"shipping_note": note})
    return [receiver]


def _forward_signal(
    conn: Connection,
    outbox: Outbox,
    opened: Opened,
    signal: SafetySignal,
    areas: list[tuple[str, str]],
) -> list[str]:
    """A MAH's safety signal goes to every immunization system the platform sent goods
    of its batches to, in each one's queue after the notes it concerns (a batch nobody
    was sent yet needs no signal: its note will carry the batch's state), and to the
    supervision systems whose area holds a consignee of those goods, once per division."""
    routed = routes.routes_of(conn, signal.mah_uscc, signal.batch_nos)
    systems = sorted({s for s, _ in routed})
    payload = {"safety_signal": signal.model_dump(mode="json")}
    for system_id in systems:
        _post(conn, outbox, system_id, opened, payload)
    divisions = sorted({d for _, c in routed if (d := registry.division_of(conn, c))})
    copies = sorted({(w, d) for w, area in areas for d in divisions if sees(area, d)})
    for watcher, division in copies:
        _post(conn, outbox, watcher, opened, payload | {"division_code": division})
    return systems + sorted({w for w, _ in copies})


def _split_by_owner(
    conn: Connection, outbox: Outbox, opened: Opened, event: DownstreamEvent
) -> list[str]:
    held_by: dict[str, list[str]] = {}
    unroutable: list[str] = []
    for code, system_id in owners(conn, event.codes):
        if system_id is None:
            unroutable.append(code)
        else:
            held_by.setdefault(system_id, []).append(code)
    if unroutable:
        _alert(conn, Reason.NO_RULE, opened, codes=unroutable[:100], count=len(unroutable))
    for part, (system_id, codes) in enumerate(sorted(held_by.items()), start=1):
        piece = event.only(tuple(codes)).model_dump(mode="json")
        split = {"part": part, "parts": len(held_by), "codes_in_event": len(event.codes)}
        _post(conn, outbox, system_id, opened, {"downstream_event": piece, "split": split})
    return sorted(held_by)


def _post(
    conn: Connection, outbox: Outbox, receiver: str, opened: Opened, payload: dict[str, Any]
) -> None:
    outbox.post(
        conn,
        receiver,
        event_type=str(opened.header["event_type"]),
        event_subtype=str(opened.header["event_subtype"]),
        data_owner=str(opened.header["data_owner"]),
        payload=payload
        | {
            "forwarded_from": {
                "system_id": opened.header["system_id"],
                "event_id": opened.header["event_id"],
            }
        },
    )


def _alert(conn: Connection, reason: str, opened: Opened, **detail: Any) -> None:
    alerts.raise_alert(
        conn, reason, str(opened.header["event_id"]), str(opened.header["system_id"]), detail
    )
