"""HTTP routes of the supervision system: the exchange with the platform (mutual TLS) and what
regulators' staff see (bearer tokens), limited to their own division."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import Field

from vaxtrace.core.alerts.contacts import MAX_CONTACTS, Contact
from vaxtrace.core.alerts.states import MAX_REASON
from vaxtrace.core.datasets.elements import MAX_ID, Model
from vaxtrace.core.recalls import RecallClosing, RecallOrder
from vaxtrace.core.regulator_locks import LockOrder, LockResolution
from vaxtrace.core.times import BusinessTime
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.supervision.service import (
    MAX_ALERTS,
    MAX_FINDINGS,
    MAX_LOCKS,
    MAX_STEPS,
    SupervisionService,
)
from vaxtrace.roles.supervision.service.recalls import MAX_RECALLS
from vaxtrace.roles.supervision.service.views import rules
from vaxtrace.web.identity import app_state, bearer_actor


def supervision_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    router = APIRouter(prefix="/supervision/v1", tags=["supervision 监管系统"])

    Service = Annotated[SupervisionService, Depends(app_state("supervision"))]
    Caller = Annotated[SystemIdentity, Depends(caller)]
    Actor = Annotated[str, Depends(bearer_actor("supervision"))]
    """The regulator behind the bearer token."""

    @router.post("/exchange/batches", status_code=201)
    def receive_batch(
        batch: EnvelopeBatch, svc: Service, who: Caller
    ) -> dict[str, list[dict[str, Any]]]:
        """Steps of the chain the platform copies here, in sequence order; each taken once,
        all or none (mutual TLS)."""
        return {"results": svc.receive_batch(who, batch.envelopes)}

    @router.get("/codes/{code}/chain", responses=_problems(401, 404, 422))
    def chain(
        svc: Service,
        who: Actor,
        code: Annotated[str, Path(min_length=1, max_length=100, description="追溯码")],
    ) -> dict[str, Any]:
        """The chain of one code as this node knows it: every step on it or on its whole
        batch (production, self-inspection, lot release, sale, receipts, distributions,
        vaccination, returns, damage, destruction, locks, recalls, cold-chain excursions), in
        time order. 404 unless a step of it was done inside the regulator's division (so
        that a code elsewhere is not revealed to exist)."""
        return svc.chain(who, code)

    @router.get("/steps", responses=_problems(401, 422))
    def steps(
        svc: Service,
        who: Actor,
        bill_type: Annotated[str | None, Query(max_length=3, description="单据类型")] = None,
        before: Annotated[
            int | None, Query(ge=0, le=MAX_ID, description="only steps older than this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_STEPS)] = 100,
    ) -> dict[str, Any]:
        """Steps done inside the regulator's division (province, city or county), newest
        first: shipping notes where their consignee is, province steps where they were done."""
        return svc.steps(who, bill_type=bill_type, before=before, limit=limit)

    @router.get("/findings", responses=_problems(401, 422))
    def findings(
        svc: Service,
        who: Actor,
        before: Annotated[
            int | None, Query(ge=1, le=2**63 - 1, description="only findings older than this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_FINDINGS)] = 100,
    ) -> dict[str, Any]:
        """What went wrong inside the regulator's division, newest first: reports a receiver
        refused (a MAH's trace system refusing a province's vaccination of a locked dose …),
        where the CDC or site that did the step is; what, which codes, why."""
        return svc.findings(who, before=before, limit=limit)

    AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="告警编号")]

    @router.get("/alerts", responses=_problems(401, 422))
    def alerts(
        svc: Service,
        who: Actor,
        state: Annotated[
            Literal["open", "acknowledged", "resolved"] | None, Query(description="告警状态")
        ] = None,
        rule: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
        severity: Annotated[Literal["notice", "warning", "severe"] | None, Query()] = None,
        mine: Annotated[
            bool, Query(description="only alerts at the regulator's own tier now")
        ] = False,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="only alerts older than this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 100,
    ) -> dict[str, Any]:
        """告警: the alerts that happened inside the regulator's division or are to be handled
        inside it now, newest first; ``warnings`` says when the division has fewer alert
        contacts than drug GSP asks for (3)."""
        return svc.alerts(
            who,
            state=state,
            rule=rule,
            severity=severity,
            mine=mine,
            before=before,
            limit=limit,
        )

    @router.get("/alerts/{alert_id}", responses=_problems(401, 404, 422))
    def alert(svc: Service, who: Actor, alert_id: AlertId) -> dict[str, Any]:
        """One alert, its history (opened, acknowledged, escalated, resolved: who, when, why)
        and who was told. 404 for an alert the regulator does not see, as for none."""
        return svc.alert(who, alert_id)

    @router.post("/alerts/{alert_id}/acknowledge", responses=_problems(401, 404, 409, 422))
    def acknowledge(
        svc: Service,
        who: Actor,
        alert_id: AlertId,
        body: Annotated[Acknowledgement | None, Body()] = None,
    ) -> dict[str, Any]:
        """确认: the regulator has the alert in hand (it climbs no more); again, answered as it
        stands. 409 once resolved; 404 for an alert the regulator does not see."""
        return svc.acknowledge_alert(who, alert_id, None if body is None else body.note)

    @router.post("/alerts/{alert_id}/resolve", responses=_problems(401, 404, 409, 422))
    def resolve(svc: Service, who: Actor, alert_id: AlertId, body: Resolution) -> dict[str, Any]:
        """处理完毕: resolve the alert, saying why (422 ``reason_required`` without a reason,
        nothing changed); 409 once resolved; 404 for an alert the regulator does not see."""
        return svc.resolve_alert(who, alert_id, body.reason)

    @router.get("/contacts", responses=_problems(401, 404))
    def contacts(svc: Service, who: Actor) -> dict[str, Any]:
        """告警联系人: the named people of the regulator's own division its alerts go to."""
        return svc.alert_contacts(who)

    @router.put("/contacts", responses=_problems(401, 404, 422))
    def put_contacts(svc: Service, who: Actor, body: Contacts) -> dict[str, Any]:
        """Set the named people of the regulator's own division (the whole list, replacing
        the last one); fewer than 3 is taken, with a warning (drug GSP asks for 3)."""
        return svc.put_alert_contacts(who, body.contacts)

    @router.get("/validation/rules")
    def validation_rules() -> dict[str, Any]:
        """The validation rules (校验规则): id, severity, what a finding names, who owes the
        fix, what each checks."""
        return rules()

    @router.get("/validation/findings", responses=_problems(401, 422))
    def validation_findings(
        svc: Service,
        who: Actor,
        rule: Annotated[str | None, Query(max_length=40, description="one rule id")] = None,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="only findings older than this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_FINDINGS)] = 100,
    ) -> dict[str, Any]:
        """What the validation rules found where the step at fault happened inside the
        regulator's division, newest first: the rule, the subject (a document, a code), who
        owes the fix, the facts. Validation runs on what arrives, every few minutes; each new
        finding raises an alert (GET /alerts)."""
        return svc.rule_findings(who, rule=rule, before=before, limit=limit)

    # --- flows and statistics (流向与统计) ----------------------------------------------------

    @router.get("/batches/{mah_uscc}/{batch_no}/flow", responses=_problems(401, 404, 422))
    def batch_flow(
        svc: Service,
        who: Actor,
        mah_uscc: Annotated[str, Path(min_length=18, max_length=18, description="持有人")],
        batch_no: Annotated[str, Path(min_length=1, max_length=20, description="批号")],
        period: Annotated[Literal["day", "month"], Query(description="time series by")] = "day",
    ) -> dict[str, Any]:
        """Where one batch's doses went inside the regulator's division (批次流向): a
        Sankey-ready node and link list (holder → holder, → vaccinated, damaged, scrapped,
        destroyed; what went back up the chain into a "returned to" node of its receiver, so
        there is no cycle), each holder's doses in stock, in transit, used and lost now, and
        the movements per day or month. A provincial regulator asking the national node gets
        its province's part only. 404 unless a movement of the batch was done inside the
        division."""
        return svc.batch_flow(who, mah_uscc, batch_no, period=period)

    @router.get("/statistics", responses=_problems(401, 422))
    def statistics(
        svc: Service,
        who: Actor,
        group_by: Annotated[Literal["division", "product", "mah", "month"], Query()],
        level: Annotated[
            Literal["province", "city", "county"], Query(description="when by division")
        ] = "province",
        since: Annotated[BusinessTime | None, Query(description="steps from this time")] = None,
        until: Annotated[BusinessTime | None, Query(description="steps before this time")] = None,
    ) -> dict[str, Any]:
        """Doses shipped (201/209), received (107), used (322 less 323), returned (202), lost
        (215/216/205) and in stock, by the steps done inside the regulator's division, per
        division (province, city or county), product, MAH or month: ``categories`` and one
        series per count, for a chart."""
        return svc.statistics(who, group_by=group_by, level=level, since=since, until=until)

    @router.get("/statistics/recalls", responses=_problems(401, 422))
    def recall_progress(
        svc: Service,
        who: Actor,
        level: Annotated[Literal["province", "city", "county"], Query()] = "province",
    ) -> dict[str, Any]:
        """召回进度 as a statistic: for each whole batch a MAH's recall names, where its doses
        inside the regulator's division are now, per division (province, city or county):
        returned, destroyed, used, damaged, still out, and the share of the recallable ones
        come back (``rate``)."""
        return svc.recall_progress(who, level=level)

    # --- a regulator's own locks (监管锁定): order, resolve, list ------------------------------

    @router.post("/locks", status_code=201, responses=_problems(401, 404, 422))
    def lock(order: LockOrder, svc: Service, who: Actor) -> dict[str, Any]:
        """Lock a MAH's whole batches or codes — pending (待定), to be recalled (待召回) or
        abnormal (异常) — with a reason and the evidence; the lock goes down the chain through
        the platform (as the MAH's own locks do) and every vaccination site's gate refuses the
        doses. Only goods with a step inside the regulator's area: 404 ``batch_not_seen`` /
        ``code_not_seen`` otherwise (a batch nobody reported answers the same, so an order
        reveals nothing outside the area; national regulators are told ``unknown_batch``)."""
        return svc.lock(who, order)

    @router.post("/locks/{lock_id}/resolve", responses=_problems(401, 404, 409, 422))
    def resolve_lock(
        resolution: LockResolution,
        svc: Service,
        who: Actor,
        lock_id: Annotated[int, Path(ge=1, le=MAX_ID, description="the lock order's id")],
    ) -> dict[str, Any]:
        """Resolve a pending lock made inside the regulator's area: ``normal`` unlocks the
        goods, ``to_be_recalled`` or ``abnormal`` keep them locked as that; the decision goes
        down the chain as the lock did. 404 ``lock_not_found``; 409 ``lock_not_pending``."""
        return svc.resolve_lock(who, lock_id, resolution)

    @router.get("/locks", responses=_problems(401, 422))
    def locks(
        svc: Service,
        who: Actor,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="only locks older than this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LOCKS)] = 100,
    ) -> dict[str, Any]:
        """The lock orders of the regulators inside this one's area, newest first: goods,
        kind, reason, evidence, where each stands (its kind, ``resolved`` or ``refused``)."""
        return svc.locks(who, before=before, limit=limit)

    # --- recalls (召回管理) -----------------------------------------------------------------

    RecallId = Annotated[int, Path(ge=1, le=MAX_ID, description="the recall's id here")]

    @router.get("/recalls", responses=_problems(401, 422))
    def recalls(
        svc: Service,
        who: Actor,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="only recalls older than this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_RECALLS)] = 100,
    ) -> dict[str, Any]:
        """The recalls the regulator sees, newest first: those of MAHs inside its division,
        and those with units that went into it."""
        return svc.recalls(who, before=before, limit=limit)

    @router.post("/recalls", status_code=201, responses=_problems(401, 403, 404, 422))
    def order_recall(svc: Service, who: Actor, order: RecallOrder) -> dict[str, Any]:
        """责令召回: order a recall of a MAH's batches (the MAH inside the regulator's
        division; batches this node knows)."""
        return svc.order_recall(who, order)

    @router.get("/recalls/{recall_id}", responses=_problems(401, 404, 422))
    def recall(svc: Service, who: Actor, recall_id: RecallId) -> dict[str, Any]:
        """One recall: its units by state and by holder and division, completion rate,
        progress over time, milestones (due, met, overdue); vaccinated units by site and
        document (who received them: the province's immunization system, for its health
        staff). A regulator elsewhere sees the units last seen in its division."""
        return svc.recall(who, recall_id)

    @router.post("/recalls/{recall_id}/close", responses=_problems(401, 403, 404, 409, 422))
    def close_recall(
        svc: Service, who: Actor, recall_id: RecallId, closing: RecallClosing
    ) -> dict[str, Any]:
        """召回完成: close a recall with its summary; before every unit is accounted for,
        only with a justification (409 ``recall_incomplete`` otherwise)."""
        return svc.close_recall(who, recall_id, closing)

    return router


class Acknowledgement(Model):
    note: str | None = Field(default=None, max_length=MAX_REASON, description="备注")


class Resolution(Model):
    reason: str | None = Field(
        default=None, max_length=MAX_REASON, description="处理理由 why it is resolved (required)"
    )


class Contacts(Model):
    contacts: tuple[Contact, ...] = Field(max_length=MAX_CONTACTS)


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the problem answers a route gives."""
    return {
        status: {"description": "RFC 9457 problem", "content": {"application/problem+json": {}}}
        for status in statuses
    }
