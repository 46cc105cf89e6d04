"""HTTP routes of the supervision system: the exchange with the platform (mutual TLS) and what
regulators' staff see (bearer tokens), limited to their own division."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from vaxtrace.core.datasets.elements import MAX_ID
from vaxtrace.core.recalls import RecallClosing, RecallOrder
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.supervision.service import MAX_FINDINGS, MAX_STEPS, SupervisionService
from vaxtrace.roles.supervision.service.recalls import MAX_RECALLS
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


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the problem answers a route gives."""
    return {
        status: {"description": "RFC 9457 problem", "content": {"application/problem+json": {}}}
        for status in statuses
    }
