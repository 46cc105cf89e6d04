"""HTTP routes of the provincial immunization system (first part: the exchange)."""

# No "from __future__ import annotations": routes are built in a function (see ledger/api.py).
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.immunization.service import ImmunizationService


def immunization_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    router = APIRouter(prefix="/immunization/v1", tags=["provincial immunization 省级免疫规划"])

    def service(request: Request) -> ImmunizationService:
        svc: ImmunizationService = request.app.state.immunization
        return svc

    Service = Annotated[ImmunizationService, Depends(service)]
    Caller = Annotated[SystemIdentity, Depends(caller)]

    @router.post("/exchange/batches", status_code=201)
    def receive_batch(
        batch: EnvelopeBatch, svc: Service, who: Caller
    ) -> dict[str, list[dict[str, Any]]]:
        """Envelopes forwarded by the platform, in sequence order; each taken once, all or
        none (mutual TLS)."""
        return {"results": svc.receive_batch(who, batch.envelopes)}

    @router.post("/exchange/envelopes", status_code=201)
    def receive(envelope: dict[str, Any], svc: Service, who: Caller) -> dict[str, Any]:
        """Shipping notes forwarded by the platform (mutual TLS), taken once."""
        return svc.receive_envelope(who, envelope)

    @router.get("/expected-receipts")
    def expected(consignee: str, svc: Service, _who: Caller) -> list[dict[str, Any]]:
        """What a CDC should expect (mutual TLS: the province's own systems)."""
        return svc.expected(consignee)

    return router
