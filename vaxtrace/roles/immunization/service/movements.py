"""Movements of codes out of a unit's stock: 209 distribution to a lower CDC or a vaccination
site, 322 vaccination, 202 return up the chain, 215 damage. Each takes the listed codes — and
everything inside them — out of the unit's stock in one set-based step, and reports it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.datasets.elements import Write
from vaxtrace.core.dose_gate import DoseRefused, Label, local_date, stop_reasons
from vaxtrace.core.downstream import DownstreamBill, DownstreamEvent
from vaxtrace.core.errors import DomainError, examples
from vaxtrace.core.immunization import (
    OUT_OF_STOCK_REASONS,
    DamageReport,
    Distribution,
    GoodsReturn,
    StockState,
    Unit,
    Vaccination,
    VaccinationUndo,
    check_return_within,
    check_supply,
)
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recipients import is_child_id
from vaxtrace.core.times import Clock, Earliest, as_utc, check_order
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service import dose_checks, due, receiving, recipients
from vaxtrace.roles.immunization.service.lookups import (
    find_unit,
    parse,
    refuse_listed,
    require_kind,
    unit,
)
from vaxtrace.roles.immunization.service.writes import (
    SYSTEM_CLOCK,
    Step,
    province_write,
)
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.immunization import safety, stock, vaccinations
from vaxtrace.store.write_frame import WriteResult


@dataclass(frozen=True, slots=True)
class Moved:
    """What a movement did: listed codes, codes moved with what was inside them, and the
    listed codes it took out of a container."""

    listed: tuple[str, ...]
    moved: int
    unpacked: list[str]

    def body(self) -> dict[str, object]:
        return {"codes": len(self.listed), "moved": self.moved, "unpacked": self.unpacked}


def distribute(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: Distribution,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """209 供应出库: a CDC supplies a lower CDC or a vaccination site of its area. The goods
    are in transit to the receiver, not in its usable stock, until it scans and confirms
    them (107) against the distribution, which it now expects."""

    def apply(conn: Connection, acting: Unit, now: datetime) -> Step:
        receiver = unit(conn, request.receiver_uscc, "receiver_uscc")
        check_supply(acting, receiver)
        codes = take_listed(conn, actor, codes_.listed_values(request.codes), request.business_time)
        _refuse_stopped(conn, local_date(request.business_time))
        moved = hand_over(conn, actor, codes, receiver.uscc, StockState.IN_TRANSIT, now, request)
        receiving.expect_distribution(conn, request, actor, codes, now)
        event = event_of(
            DownstreamBill.DISTRIBUTION, request, actor, codes, counterparty_uscc=receiver.uscc
        )
        return Step(moved.body() | {"receiver_uscc": receiver.uscc}, event)

    return province_write(engine, outbox, actor, "distribution", request, apply, clock)


def vaccinate(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: Vaccination,
    user: str,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """322 接种: a vaccination site uses one dose it holds, loose or still in its box, if the
    dose gate lets it (every refusal is audited, as is the dose given), and keeps the record
    the law asks for; ``user`` (who recorded it) alone may undo it."""

    def apply(conn: Connection, acting: Unit, now: datetime) -> Step:
        require_kind(acting, OrgKind.POV, "vaccinate")
        if request.vaccinee_ref is not None and is_child_id(request.vaccinee_ref):
            recipients.check_vaccinee(conn, actor, request.vaccinee_ref, request.business_time)
        scanned = parse(request.code, "code")
        decision = dose_checks.decide(conn, actor, scanned, request.business_time)
        if not decision.allowed:
            raise DoseRefused.of(decision)
        codes = take_listed(conn, actor, [scanned.value], request.business_time, field="code")
        moved = hand_over(conn, actor, codes, actor, StockState.USED, now, request)
        dose_checks.audit(conn, actor, scanned.value, "vaccination", decision)
        vaccinations.record_vaccination(
            conn, request, site=actor, code=scanned.value, recorded_by=user, recorded_at=now
        )
        due.refresh(conn, [request.vaccinee_ref], now)
        body: dict[str, Any] = {"code": scanned.value, "unpacked": moved.unpacked}
        if request.vaccinee_ref is not None and is_child_id(request.vaccinee_ref):
            body["schedule"] = recipients.verdict_of(
                conn, request.vaccinee_ref, scanned.value, request.business_time
            )
        return Step(body, event_of(DownstreamBill.VACCINATION, request, actor, codes))

    try:
        return province_write(engine, outbox, actor, "vaccination", request, apply, clock)
    except DomainError as exc:
        dose_checks.audit_refused(engine, actor, request.code, exc)
        raise


def undo_vaccination(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: VaccinationUndo,
    user: str,
    window: timedelta,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """接种冲销: whoever recorded a vaccination takes it back within ``window`` of recording
    it; the dose is in the site's stock again and the undo (323) travels like the original."""

    def apply(conn: Connection, acting: Unit, now: datetime) -> Step:
        require_kind(acting, OrgKind.POV, "undo a vaccination")
        field = "vaccination_document_no"
        record = vaccinations.find_record(conn, actor, request.vaccination_document_no)
        if record is None:
            raise DomainError(
                Reason.UNKNOWN_VACCINATION, "no such vaccination at your site", field=field
            )
        if record["undone_by"] is not None:
            raise DomainError(
                Reason.ALREADY_UNDONE, f"undone by {record['undone_by']}", field=field
            )
        if record["recorded_by"] != user:
            raise DomainError(
                Reason.NOT_THE_RECORDER, "only whoever recorded it may undo it", field=field
            )
        if now - as_utc(record["recorded_at"]) > window:
            raise DomainError(
                Reason.UNDO_WINDOW_PASSED,
                f"a vaccination may be undone within {window} of recording it",
                field=field,
            )
        earlier = Earliest(previous_step=as_utc(record["vaccinated_at"]))
        check_order(request.business_time, earlier)
        if vaccinations.restore_used(conn, record["code"], actor, now, request.business_time) != 1:
            raise DomainError(
                Reason.STOCK_CHANGED, "the dose is no longer used at your site", field=field
            )
        vaccinations.record_undo(
            conn,
            record_id=record["id"],
            document_no=request.document_no,
            reason=request.reason,
            recorded_by=user,
            recorded_at=now,
        )
        due.refresh(conn, [record["vaccinee_ref"]], now)
        event = event_of(
            DownstreamBill.VACCINATION_UNDO,
            request,
            actor,
            (str(record["code"]),),
            reason=request.reason,
            undoes_document_no=request.vaccination_document_no,
        )
        body = {"code": record["code"], "undoes": request.vaccination_document_no}
        return Step(body, event)

    return province_write(engine, outbox, actor, "vaccination_undo", request, apply, clock)


def return_goods(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: GoodsReturn,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """202 退货出库: back to a CDC above (into its stock), or out of the province to the MAH
    that supplied the goods."""

    def apply(conn: Connection, returner: Unit, now: datetime) -> Step:
        receiver = find_unit(conn, request.counterparty_uscc)
        if receiver is not None:
            check_return_within(returner, receiver)
        codes = take_listed(conn, actor, codes_.listed_values(request.codes), request.business_time)
        if receiver is None:
            _refuse_other_supplier(conn, request.counterparty_uscc)
        state = StockState.IN_STOCK if receiver is not None else StockState.RETURNED
        moved = hand_over(conn, actor, codes, request.counterparty_uscc, state, now, request)
        event = event_of(
            DownstreamBill.RETURN,
            request,
            actor,
            codes,
            counterparty_uscc=request.counterparty_uscc,
            return_reason=request.reason_code,
        )
        body = {"counterparty_uscc": request.counterparty_uscc, "state": state.value}
        return Step(moved.body() | body, event)

    return province_write(engine, outbox, actor, "return", request, apply, clock)


def _refuse_other_supplier(conn: Connection, counterparty: str) -> None:
    suppliers = stock.suppliers_of_listed(conn)
    if suppliers != {counterparty}:
        raise DomainError(
            Reason.NOT_THE_SUPPLIER,
            "goods leave the province only back to the MAH that supplied them "
            f"({examples(sorted(suppliers))})",
            field="counterparty_uscc",
        )


def report_damage(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    request: DamageReport,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """215 损坏出库: codes a unit holds are broken, frozen or lost."""

    def apply(conn: Connection, _acting: Unit, now: datetime) -> Step:
        codes = take_listed(conn, actor, codes_.listed_values(request.codes), request.business_time)
        moved = hand_over(conn, actor, codes, actor, StockState.DAMAGED, now, request)
        event = event_of(DownstreamBill.DAMAGE, request, actor, codes, reason=request.reason)
        return Step(moved.body(), event)

    return province_write(engine, outbox, actor, "damage", request, apply, clock)


# --- the shared steps --------------------------------------------------------------------


def _refuse_stopped(conn: Connection, on: date) -> None:
    """Refuse moving codes (with what they hold) that a lock, recall, the MAH's status or
    expiry stops (the dose gate's rule, :func:`vaxtrace.core.dose_gate.stop_reasons`)."""
    for facts in safety.stopped_candidates(conn, stock.AFFECTED, on):
        found = stop_reasons(facts, Label(), on)
        if found:
            reasons = [r.value for r, _ in dict(found).items()]
            raise DomainError(
                found[0][0].value,
                f"{facts.code}: " + "; ".join(m for _, m in found),
                field="codes",
                details={"reasons": reasons},
            )


IN_STOCK_ONLY = (StockState.IN_STOCK.value,)
"""What a movement takes goods from: stock in hand."""
OUT_OF_STOCK = {state.value: reason for state, reason in OUT_OF_STOCK_REASONS.items()}


def take_listed(
    conn: Connection,
    actor: str,
    codes: Sequence[str],
    at: datetime,
    field: str = "codes",
    states: Collection[str] = IN_STOCK_ONLY,
) -> tuple[str, ...]:
    """Check that the actor holds every listed (canonical, distinct) code in one of
    ``states`` (in stock, unless a disposal takes damaged goods too), and none twice (a code
    and its container); then everything inside them is in the affected set, and a step on
    them at ``at`` must not precede their last step or their batch's production (the rule
    the codes' trace system applies to the report: :func:`vaxtrace.core.times.check_order`)."""
    stock.load_listed(conn, codes)
    unknown = stock.unknown_listed(conn)
    refuse_listed(unknown, Reason.UNKNOWN_CODE, "never received in this province", field)
    gone = stock.listed_not_in(conn, states)
    if gone:
        first = gone[0]
        state = str(first["state"])
        raise DomainError(
            OUT_OF_STOCK.get(state, state), f"{first['code']} is {state}", field=field
        )
    elsewhere = stock.listed_elsewhere(conn, actor)
    if elsewhere:
        first = elsewhere[0]
        raise DomainError(
            Reason.NOT_HELD, f"{first['code']} is held by {first['holder_uscc']}", field=field
        )
    twice = stock.expand_listed(conn)
    inside = "listed and also inside a listed container"
    refuse_listed(twice, Reason.LISTED_TWICE, inside, field)
    check_order(at, stock.earliest_for_affected(conn))
    return tuple(codes)


def hand_over(
    conn: Connection,
    actor: str,
    codes: tuple[str, ...],
    to_holder: str,
    to_state: StockState,
    now: datetime,
    request: Write,
    from_states: Collection[str] = IN_STOCK_ONLY,
) -> Moved:
    """Move the checked codes and everything inside them (in one of ``from_states``) by
    ``request``'s step; listed codes leave their containers."""
    unpacked = stock.detach_listed(conn, now)
    expected = stock.affected_count(conn)
    moved = stock.move_affected(
        conn,
        actor,
        from_states,
        to_holder=to_holder,
        to_state=to_state,
        now=now,
        stepped_at=request.business_time,
    )
    if moved != expected:
        raise DomainError(Reason.STOCK_CHANGED, "the stock changed meanwhile; retry", field="codes")
    return Moved(codes, moved, unpacked)


def event_of(
    bill: DownstreamBill,
    request: Write,
    actor: str,
    codes: tuple[str, ...],
    **bill_fields: Any,
) -> DownstreamEvent:
    """The report of a movement, with the fields its bill type carries."""
    return DownstreamEvent(
        bill_type=bill,
        document_no=request.document_no,
        business_time=request.business_time,
        org_uscc=actor,
        codes=codes,
        **bill_fields,
    )
