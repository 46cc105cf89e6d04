"""Disposal of what a CDC or vaccination site holds: 216 报废 scrap (written off) and 205 销毁
destruction (with reason, executor and supervisor). Expired, abnormal (异常), damaged and
excursion-held goods are what they are for. Each takes the listed codes — and everything
inside them — out of the unit's stock for good, in one set-based step, and reports it to the
codes' owners like every other step; the owners' status table is applied first to what the
province knows of their status, so the report is never refused downstream for a reason the
province could have known (goods pending the MAH's decision, or under a recall in progress).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets.movements import Destruction
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import (
    DISPOSABLE_STATES,
    Scrap,
    StockState,
    Unit,
)
from vaxtrace.core.status import Status
from vaxtrace.core.stock import OwnerSignals, disposal_refusal
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service.movements import event_of, hand_over, take_listed
from vaxtrace.roles.immunization.service.writes import (
    SYSTEM_CLOCK,
    Step,
    province_write,
)
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.immunization import stock
from vaxtrace.store.write_frame import WriteResult

DISPOSED_AS = {
    DownstreamBill.SCRAP: StockState.SCRAPPED,
    DownstreamBill.DESTRUCTION: StockState.DESTROYED,
}
OPERATIONS = {DownstreamBill.SCRAP: "scrap", DownstreamBill.DESTRUCTION: "destruction"}
"""The write log's operation of each disposal."""


def scrap(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: Scrap,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """216 报废出库: the unit writes off goods it holds."""
    return _dispose(engine, outbox, actor, request, DownstreamBill.SCRAP, clock)


def destroy(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: Destruction,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """205 销毁出库: the unit destroys goods it holds (in stock, or reported damaged), with
    the reason, who did it and who supervised it."""
    return _dispose(engine, outbox, actor, request, DownstreamBill.DESTRUCTION, clock)


def _dispose(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: Scrap | Destruction,
    bill: DownstreamBill,
    clock: Clock,
) -> WriteResult:
    """Write off or destroy goods by ``bill``, the business time judged by ``clock``."""
    states = {s.value for s in DISPOSABLE_STATES[bill]}
    disposed = DISPOSED_AS[bill]

    def apply(conn: Connection, _acting: Unit, now: datetime) -> Step:
        listed = codes_.listed_values(request.codes)
        codes = take_listed(conn, actor, listed, request.business_time, states=states)
        _refuse_owner_stopped(conn)
        moved = hand_over(conn, actor, codes, actor, disposed, now, request, from_states=states)
        event = event_of(bill, request, actor, codes, **_bill_fields(request))
        return Step(moved.body() | {"state": disposed.value}, event)

    return province_write(engine, outbox, actor, OPERATIONS[bill], request, apply, clock)


def _bill_fields(request: Scrap | Destruction) -> dict[str, Any]:
    """What the bill carries besides the codes: why, and for a destruction who did it, who
    supervised it and where."""
    if isinstance(request, Destruction):
        return {
            "reason": request.reason,
            "executor": request.executor,
            "supervisor": request.supervisor,
            "place": request.place or None,
        }
    return {"reason": request.reason}


def _refuse_owner_stopped(conn: Connection) -> None:
    """Refuse what the codes' owner would refuse to record as destroyed (see
    :func:`vaxtrace.core.stock.disposal_refusal`), naming a code of it."""
    for row in stock.owner_signals_of_affected(conn):
        known = OwnerSignals(
            code_status=None if row["mah_status"] is None else Status(row["mah_status"]),
            batch_lock=None if row["lock_kind"] is None else Status(row["lock_kind"]),
            under_recall=bool(row["under_recall"]),
        )
        why = disposal_refusal([known])
        if why is not None:
            raise DomainError(why.reason, f"{row['code']}: {why.message}", field="codes")
