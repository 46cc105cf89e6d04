"""The trace system's side of the exchange: province reports the platform forwards (mutual
TLS; the caller is known only from its certificate)."""

# No "from __future__ import annotations": routes are built in a function (see ledger/api.py).
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver
from vaxtrace.web.identity import app_state


def trace_exchange_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    router = APIRouter(prefix="/trace/v1/exchange", tags=["trace system 疫苗追溯系统"])

    Receiver = Annotated[DownstreamReceiver, Depends(app_state("trace_downstream"))]
    Caller = Annotated[SystemIdentity, Depends(caller)]

    @router.post("/batches", status_code=201)
    def receive_batch(
        batch: EnvelopeBatch, svc: Receiver, who: Caller
    ) -> dict[str, list[dict[str, Any]]]:
        """下游数据回传: receipts, distributions, vaccinations, returns and damage of this
        system's codes, forwarded by the platform in sequence order; each taken once, a batch
        all or none."""
        return {"results": svc.receive_batch(who, batch.envelopes)}

    return router
