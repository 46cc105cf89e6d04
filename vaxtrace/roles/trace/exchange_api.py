"""The trace system's side of the exchange: province reports the platform forwards, and the
lot release certificates it passes on (mutual TLS; the caller is known only from its
certificate)."""

# No "from __future__ import annotations": routes are built in a function (see ledger/api.py).
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from vaxtrace.core.datasets.elements import Uscc
from vaxtrace.core.signals import CERTIFICATE_SHA256
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver
from vaxtrace.roles.trace.service.facade import TraceService
from vaxtrace.web.identity import app_state
from vaxtrace.web.problems import problem_responses


def trace_exchange_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    router = APIRouter(prefix="/trace/v1/exchange", tags=["trace system 疫苗追溯系统"])

    Receiver = Annotated[DownstreamReceiver, Depends(app_state("trace_downstream"))]
    Trace = Annotated[TraceService, Depends(app_state("trace"))]
    Caller = Annotated[SystemIdentity, Depends(caller)]

    @router.post("/batches", status_code=201)
    def receive_batch(
        batch: EnvelopeBatch, svc: Receiver, who: Caller
    ) -> dict[str, list[dict[str, Any]]]:
        """下游数据回传: receipts, distributions, vaccinations, returns and damage of this
        system's codes, forwarded by the platform in sequence order; each taken once, a batch
        all or none."""
        return {"results": svc.receive_batch(who, batch.envelopes)}

    @router.get(
        "/lot-release-certificates/{mah_uscc}/{batch_no}",
        response_class=Response,
        responses=problem_responses({404: "no lot release of the batch is on file"})
        | {200: {"description": "the certificate file, as filed", "content": {"*/*": {}}}},
    )
    def lot_release_certificate(
        mah_uscc: Uscc, batch_no: str, trace: Trace, _who: Caller
    ) -> Response:
        """批签发证明: the certificate filed with a batch's lot release, for the platform to
        pass on to the provinces that hold the batch (mutual TLS); its SHA-256 in
        ``X-Certificate-SHA256``."""
        found = trace.lot_release_certificate(mah_uscc, batch_no)
        headers = {CERTIFICATE_SHA256: found.sha256}
        return Response(found.content, media_type=found.media_type, headers=headers)

    return router
