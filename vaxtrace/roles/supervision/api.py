"""HTTP routes of the supervision system: the exchange with the platform (mutual TLS) and what
regulators' staff see (bearer tokens), limited to their own division."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from vaxtrace.core.datasets.elements import MAX_ID
from vaxtrace.core.regulator_locks import LockOrder, LockResolution
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.supervision.service import (
    MAX_FINDINGS,
    MAX_LOCKS,
    MAX_STEPS,
    SupervisionService,
)
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

    return router


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the problem answers a route gives."""
    return {
        status: {"description": "RFC 9457 problem", "content": {"application/problem+json": {}}}
        for status in statuses
    }
