"""How every trace write runs in the write frame (:mod:`vaxtrace.store.write_frame`).

Every write runs in one transaction: checks first, writes after; any refusal rolls back, so a
rejected request writes nothing. Every write carries a client document id: a retry with the same
id and body returns the first answer and writes nothing new. A new write's event gets its leaf
in the trace node's log in the same transaction. Every new write's business time is
judged by the one rule of :mod:`vaxtrace.core.times`: against the node's clock here, against
what is recorded of its codes or batches in each step (:func:`codes_step`,
:func:`check_batches_order`, :func:`check_codes_order`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets.elements import Write
from vaxtrace.core.digests import request_digest
from vaxtrace.core.errors import DomainError, at_item, examples
from vaxtrace.core.reasons import Reason
from vaxtrace.core.status import Action, Status, refusal
from vaxtrace.core.times import Clock, Earliest, check_business_time, check_order
from vaxtrace.roles.trace.service.lookups import known_organisation
from vaxtrace.store.engine import Connection, Engine, RowMapping
from vaxtrace.store.trace.affected import (
    Affected,
    affected_batches,
    affected_not_held,
    affected_status_counts,
    affected_summary,
    apply_action,
    detach_listed,
    expand,
    foreign_listed,
    link_listed,
    listed_twice,
    load_listed,
    unknown_listed,
)
from vaxtrace.store.trace.batches import set_status_of_batches
from vaxtrace.store.trace.documents import TRACE_LEDGER
from vaxtrace.store.trace.events import (
    EventHeader,
    append_event,
    find_write,
    link_batches,
    save_write,
)
from vaxtrace.store.trace.order import affected_earliest, batches_earliest
from vaxtrace.store.write_frame import (
    WriteKey,
    WriteResult,
    answered,
    write_all_once,
    write_once,
)

Apply = Callable[[Connection, EventHeader], tuple[int | None, dict[str, Any]]]
"""A write's checks and rows inside its transaction: its event id (if any) and its answer."""


def _header(actor: str, request: Write, bill_type: str) -> EventHeader:
    return EventHeader(
        bill_type=bill_type,
        org_uscc=actor,
        business_time=request.business_time,
        document_no=request.document_no,
        client_document_id=request.client_document_id,
        source_document=request.source_document,
        corrects_event_id=getattr(request, "corrects_event_id", None),
    )


CONTROL_STEPS = ("lock", "unlock")
"""Status-only steps: a decision about codes wherever they are, no step of their custody, so
the steps after them are not ordered after them (a receipt reported late may be dated before
a lock)."""

QUALITY_STEPS = ("commission", "self_inspection", "lot_release")
"""A batch's own chain: codes issued, inspected, released, in that order of time."""


def write_key(actor: str, operation: str, request: Write, extra: bytes = b"") -> WriteKey:
    """What identifies a trace write and what its retry must repeat."""
    digest = request_digest(operation, request, extra)
    return WriteKey(actor, request.client_document_id, operation, digest)


def write(
    engine: Engine,
    actor: str,
    operation: str,
    request: Write,
    apply: Apply,
    *,
    bill_type: str,
    clock: Clock,
    extra: bytes = b"",
) -> WriteResult:
    """Run ``apply`` once per client document id; a retry replays the first answer.

    ``apply`` checks and writes inside the transaction and answers its event id (if any)
    and the response body.
    """
    key = write_key(actor, operation, request, extra)
    return write_once(
        engine,
        find_write,
        key,
        lambda conn: first_write(conn, key, request, apply, bill_type=bill_type, clock=clock),
    )


def write_in(
    conn: Connection, key: WriteKey, request: Write, apply: Apply, **how: Any
) -> WriteResult:
    """The answer of the write under ``key`` again if there was one, else its
    :func:`first_write` (``how``: that function's keywords), in the caller's transaction
    (e.g. with the inbox that took it)."""
    prior = answered(conn, find_write, key)
    return prior if prior is not None else first_write(conn, key, request, apply, **how)


def first_write(
    conn: Connection,
    key: WriteKey,
    request: Write,
    apply: Apply,
    *,
    bill_type: str,
    clock: Clock,
    log: bool = True,
) -> WriteResult:
    """A trace write not made before: checks, its rows, its answer kept in the write log and
    its event's leaf in the log, in the caller's transaction. Without ``log`` the caller gives
    the event its leaf before the transaction ends."""
    check_business_time(request.business_time, now=clock.now(), skew=clock.skew)
    known_organisation(conn, key.actor)
    # The log's turn first: events get their ids in the order they will be leafed (PostgreSQL
    # hands out ids before commit; leaves must follow ids), and every writer takes the log's
    # lock before any row lock, so two writers cannot deadlock over codes and the log.
    TRACE_LEDGER.take_turn(conn)
    event_id, answer = apply(conn, _header(key.actor, request, bill_type))
    body: dict[str, Any] = {"operation": key.operation, "document_no": request.document_no}
    body |= answer
    if event_id is not None:
        body["event_id"] = event_id
    save_write(conn, key, event_id, body)
    size = None if event_id is None or not log else TRACE_LEDGER.append_from(conn, event_id)
    return WriteResult(body, replayed=False, log_size=size)  # no event without its leaf


def write_all(
    engine: Engine,
    actor: str,
    operation: str,
    items: Sequence[tuple[Write, Apply]],
    *,
    bill_type: str,
    collection: str,
    clock: Clock,
) -> list[WriteResult]:
    """Several writes of one upload in one transaction: all or none. Each item is applied
    once per client document id as if posted alone; a refusal names the item at fault
    (``collection[i].field``), and a retried upload replays every answer."""
    keys = [write_key(actor, operation, request) for request, _ in items]

    def first_writes(conn: Connection) -> list[WriteResult]:
        results = []
        for index, ((request, apply), key) in enumerate(zip(items, keys, strict=True)):
            try:
                result = write_in(
                    conn, key, request, apply, bill_type=bill_type, clock=clock, log=False
                )
                results.append(result)
            except DomainError as exc:
                raise at_item(exc, collection, index) from None
        return _logged(conn, results)

    return write_all_once(engine, find_write, keys, first_writes, collection=collection)


def _logged(conn: Connection, results: list[WriteResult]) -> list[WriteResult]:
    """Give the new events of an upload their leaves at once (one pass over the log)."""
    new = [r.body["event_id"] for r in results if not r.replayed and "event_id" in r.body]
    if not new:
        return results
    size = TRACE_LEDGER.append_from(conn, min(new))
    return [
        WriteResult(r.body, r.replayed, size) if "event_id" in r.body and not r.replayed else r
        for r in results
    ]


def batches_step(
    conn: Connection, batch_ids: Sequence[int], event_id: int, action: Action | None
) -> int:
    """Link a step on whole batches to its event; answers the codes ``action`` moved."""
    moved = 0 if action is None else set_status_of_batches(conn, batch_ids, action)
    link_batches(conn, batch_ids, event_id)
    return moved


def check_batches_order(
    conn: Connection,
    header: EventHeader,
    batch_ids: Sequence[int],
    steps: Sequence[str] = (),
) -> None:
    """A step on whole batches is not dated before their production, nor before their latest
    step of a bill type in ``steps`` (e.g. a lot release after the self-inspection)."""
    check_order(header.business_time, batches_earliest(conn, batch_ids, steps))


def check_codes_order(conn: Connection, header: EventHeader, codes: Sequence[RowMapping]) -> None:
    """A step on some codes (their rows) is not dated before their previous step (theirs,
    what they hold, or their containers') nor before their batch's production."""
    load_listed(conn, [c["code"] for c in codes])
    expand(conn)
    batch_ids = sorted({int(c["batch_id"]) for c in codes})
    check_order(header.business_time, affected_earliest(conn, CONTROL_STEPS, batch_ids))


def codes_write(
    engine: Engine,
    actor: str,
    operation: str,
    bill_type: str,
    request: Write,
    codes: Sequence[str],
    action: Action,
    *,
    clock: Clock,
    **step: Unpack[StepOptions],
) -> WriteResult:
    """The frame of every write on a set of codes with no checks or rows of its own (see
    :func:`codes_step`)."""
    apply = codes_step(actor, codes, action, **step)
    return write(engine, actor, operation, request, apply, bill_type=bill_type, clock=clock)


class CheckOptions(TypedDict, total=False):
    """How a step on a set of codes is checked (see :func:`resolve_codes`)."""

    expected_holder: str | None
    already_gone: Reason
    movement: bool
    any_mah: bool
    sale: bool


class StepOptions(CheckOptions, total=False):
    """How a step on a set of codes is checked and written (see :func:`codes_step`)."""

    holder: Required[str | None]
    payload: Required[dict[str, Any]]


def codes_step(
    actor: str,
    codes: Sequence[str],
    action: Action,
    *,
    holder: str | None,
    payload: dict[str, Any],
    **options: Unpack[CheckOptions],
) -> Apply:
    """A step on a set of codes and nothing else, by ``actor``: :func:`resolve_codes`, then
    :func:`step_codes`."""
    movement = options.get("movement", True)

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        resolved = resolve_codes(conn, header, codes, action, **options)
        return step_codes(
            conn, header, resolved, action, holder=holder, payload=payload, movement=movement
        )

    return apply


@dataclass(frozen=True, slots=True)
class Resolved:
    """A step's codes once checked: the listed codes and the batches they touch (the
    affected set's), with the doses they hold."""

    values: list[str]
    batches: Sequence[Mapping[str, Any]]

    @property
    def doses(self) -> int:
        return sum(int(b["doses"]) for b in self.batches)


def resolve_codes(
    conn: Connection,
    header: EventHeader,
    codes: Sequence[str],
    action: Action,
    *,
    expected_holder: str | None = None,
    already_gone: Reason = Reason.NOT_HELD,
    movement: bool = True,
    any_mah: bool = False,
    sale: bool = False,
) -> Resolved:
    """Resolve, expand and check a step on a set of codes, before its own checks.

    A movement (``movement=True``) needs the codes at ``expected_holder`` (default: the
    actor) and is not dated before the codes' previous step, nor (a ``sale``) before their lot
    release. A status-only step (a lock) applies wherever the codes are. No step is dated
    before its batches' production. The codes are the actor's own (a MAH's) unless
    ``any_mah``: a step downstream, by a CDC or a vaccination site, on codes of any MAH this
    system holds.
    """
    actor = header.org_uscc
    values = codes_.listed_values(codes)
    affected = resolve_listed(
        conn,
        values,
        None if any_mah else actor,
        (expected_holder or actor) if movement else None,
        already_gone if expected_holder is None else Reason.NOT_HELD,
    )
    refuse_by_status(affected.statuses, action)
    batch_ids = [int(b["batch_id"]) for b in affected.batches]
    earliest = affected_earliest(conn, CONTROL_STEPS, batch_ids)
    check_order(
        header.business_time,
        Earliest(
            previous_step=earliest.previous_step if movement else None,
            produced=earliest.produced,
            released=earliest.released if sale else None,
        ),
    )
    return Resolved(values, affected.batches)


def step_codes(
    conn: Connection,
    header: EventHeader,
    resolved: Resolved,
    action: Action,
    *,
    holder: str | None,
    payload: dict[str, Any],
    movement: bool = True,
) -> tuple[int, dict[str, Any]]:
    """Write a checked step on a set of codes: its event, linked to the codes; a movement
    takes listed codes out of their containers and hands them to ``holder``, a status-only
    step leaves packing alone. Answers the event id and the step's answer."""
    event_id = append_event(conn, header, payload | {"codes": len(resolved.values)})
    link_listed(conn, event_id)
    unpacked = detach_listed(conn, event_id) if movement else []
    apply_action(conn, action, holder_uscc=holder if movement else None, unpack=bool(unpacked))
    return event_id, {
        "codes": len(resolved.values),
        "doses": resolved.doses,
        "batches": [
            {
                "batch_no": b["batch_no"],
                "product_code": b["product_code"],
                "doses": int(b["doses"]),
            }
            for b in resolved.batches
        ],
        "unpacked": unpacked,
    }


def resolve_listed(
    conn: Connection, values: Sequence[str], mah: str | None, holder: str | None, gone: Reason
) -> Affected:
    """Load a document's codes and expand containers into what they hold (the affected set);
    answer its statuses and batches. The codes must be known, be ``mah``'s unless it is None,
    be listed once (not also inside a listed container) and, unless ``holder`` is None, all
    be at ``holder`` (else refused with reason ``gone``).

    One query answers when all is well; only a refusal asks the questions one by one, in this
    order, to name the codes.
    """
    load_listed(conn, values)
    expand(conn)
    found = affected_summary(conn, mah, holder)
    if found is not None:
        return found
    refuse_if(Reason.UNKNOWN_CODE, "unknown code(s)", unknown_listed(conn))
    if mah is not None:
        refuse_if(Reason.NOT_HELD, "code(s) of another MAH", foreign_listed(conn, mah))
    refuse_if(
        Reason.LISTED_TWICE,
        "code(s) listed and also inside a listed container",
        listed_twice(conn),
    )
    elsewhere = [] if holder is None else affected_not_held(conn, holder)
    if elsewhere:
        first = elsewhere[0]
        raise DomainError(
            gone,
            f"{first['code']} is held by {first['holder_uscc']}, not {holder}",
            field="codes",
        )
    return Affected(affected_status_counts(conn), affected_batches(conn))


def refuse_by_status(statuses: Sequence[tuple[str, int, str]], action: Action) -> None:
    """Refuse ``action`` when any affected code's status does not allow it."""
    for status, n, example in statuses:
        why = refusal(Status(status), action)
        if why is not None:
            raise DomainError(
                why.reason, f"{n} code(s) e.g. {example}: {why.message}", field="codes"
            )


def refuse_if(reason: Reason, what: str, found: list[str]) -> None:
    if found:
        raise DomainError(reason, f"{what}: {examples(found)}", field="codes")
