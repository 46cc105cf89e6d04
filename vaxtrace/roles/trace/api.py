"""HTTP routes of the trace role: translate HTTP to a service call and back, nothing more.

One router: the staff's routes (bearer tokens) beside the system routes of the exchange
(mutual TLS; the caller is known only from its certificate): province reports the platform
forwards, and the lot release certificates it passes on."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from collections.abc import Callable
from typing import Annotated, Any, get_type_hints

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Request,
    Response,
    UploadFile,
)
from pydantic import ValidationError

from vaxtrace.core.datasets.elements import Uscc
from vaxtrace.core.datasets.movements import ShippingNoteUpload
from vaxtrace.core.datasets.production import LotRelease
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CERTIFICATE_SHA256
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver
from vaxtrace.roles.trace.service.queries import consumer_view_at_once as consumer_view_now
from vaxtrace.store.write_frame import WriteResult
from vaxtrace.web.answers import mark_replayed, write_answer
from vaxtrace.web.identity import app_state, bearer_actor
from vaxtrace.web.lean import json_answer, lean_route, query_param
from vaxtrace.web.problems import problem_responses

Service = Annotated[TraceService, Depends(app_state("trace"))]
Actor = Annotated[str, Depends(bearer_actor("trace"))]
Receiver = Annotated[DownstreamReceiver, Depends(app_state("trace_downstream"))]

Posted = tuple[str, str, str | None]
"""A staff write route: its path, the :class:`TraceService` method it calls with the posted
document, and the route's description when it has one."""

REGISTRATIONS: tuple[Posted, ...] = (
    ("/products", "register_product", None),
    ("/coding-rules", "register_coding_rule", None),
    ("/batches", "register_batch", None),
    ("/commissions", "commission", None),
    ("/packs", "pack", None),
    ("/unpacks", "unpack", None),
    ("/replacements", "replace", None),
    ("/warehousings", "warehouse", None),
    ("/self-inspections", "self_inspect", None),
)
"""Before the lot release: basic data, codes and packaging, the batch's inspection."""

SHIPPING: tuple[Posted, ...] = (("/shipping-notes", "ship", None),)

MOVEMENTS: tuple[Posted, ...] = (
    ("/sales-returns", "sales_return", None),
    ("/recalls", "start_recall", None),
    (
        "/recall-closures",
        "close_recall",
        """召回完成: close one of your recalls with its summary. Goods not returned stay stopped;
        a real recall's closure reaches every immunization system the recall reached.""",
    ),
    ("/recall-receipts", "recall_receipt", None),
    ("/destructions", "destroy", None),
    ("/temperature-records", "record_temperature", None),
    (
        "/locks",
        "lock",
        "锁定 codes or whole batches (pending / to_be_recalled / abnormal) with the evidence.",
    ),
    ("/unlocks", "unlock", None),
    ("/corrections", "correct", "更正: a new event citing the event whose header it corrects."),
)


def post_documents(router: APIRouter, routes: tuple[Posted, ...]) -> None:
    """Declare each route: its body is the document its service method takes (the method's
    signature says which), its answer the method's, as :func:`write_answer` gives a write's."""
    for path, method, description in routes:
        document = next(
            hint
            for name, hint in get_type_hints(getattr(TraceService, method)).items()
            if name not in ("actor", "return")
        )
        router.add_api_route(
            path,
            _endpoint(method, document, description),
            methods=["POST"],
            status_code=201,
        )


def _endpoint(method: str, document: type[Any], description: str | None) -> Callable[..., Any]:
    def endpoint(item: Any, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        answer = getattr(svc, method)(who, item)
        return write_answer(answer, response) if isinstance(answer, WriteResult) else answer

    endpoint.__annotations__["item"] = document  # what FastAPI reads the body as
    endpoint.__name__ = endpoint.__qualname__ = method  # the operation's id and summary
    endpoint.__doc__ = description
    return endpoint


def trace_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    """Every route of the trace role; ``caller`` names the system calling a system route."""
    router = APIRouter(prefix="/trace/v1", tags=["trace system 疫苗追溯系统"])
    Caller = Annotated[SystemIdentity, Depends(caller)]
    post_documents(router, REGISTRATIONS)

    @router.post("/lot-releases", status_code=201)
    async def release_lot(
        request: Request,
        svc: Service,
        who: Actor,
        response: Response,
        data: Annotated[str, Form(description="LotRelease as JSON")],
        certificate: Annotated[UploadFile, File(description="批签发证明 certificate file")],
    ) -> dict[str, Any]:
        try:
            item = LotRelease.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(["data", *(str(p) for p in first["loc"])])
            cause = first.get("ctx", {}).get("error")  # a domain rule's own reason, if one refused
            reason = cause.reason if isinstance(cause, DomainError) else "invalid_" + first["type"]
            raise DomainError(reason, f"{field}: {first['msg']}", field=field) from exc
        limit: int = request.app.state.settings.lot_release_file_max_bytes
        content = await certificate.read(limit + 1)
        if len(content) > limit:
            raise DomainError(
                Reason.CERTIFICATE_TOO_LARGE,
                f"the certificate file is larger than {limit} bytes",
                field="certificate",
            )
        media = certificate.content_type or "application/octet-stream"
        return write_answer(svc.release_lot(who, item, content, media), response)

    post_documents(router, SHIPPING)

    @router.post("/shipping-note-uploads", status_code=201)
    def ship_all(
        upload: ShippingNoteUpload, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """Several shipping notes at once, all or none; 200 when every note is a replay."""
        results = svc.ship_all(who, upload)
        mark_replayed(response, all(r.replayed for r in results))
        return {"shipping_notes": [r.body | {"replayed": r.replayed} for r in results]}

    post_documents(router, MOVEMENTS)

    @router.get("/codes")
    def trace_code(code: str, svc: Service, who: Actor, proofs: bool = False) -> dict[str, Any]:
        """Full record of a code of any level (typed, scanned or a Digital Link URI) for the
        MAH whose code it is; with ``proofs=true`` every event carries its inclusion proof in
        the node's signed log. Of another MAH's code, the public view (as ``/public/codes``)."""
        return svc.code_record(who, code, proofs=proofs)

    @router.get("/batches/{batch_no}")
    def batch_summary(batch_no: str, svc: Service, who: Actor) -> dict[str, Any]:
        return svc.batch_summary(who, batch_no)

    def consumer_view(code: str, svc: Service) -> dict[str, Any]:
        """消费者查询: the public subset, no authentication, no personal data."""
        return svc.consumer_view(code)

    async def consumer_view_at_once(request: Request) -> Response | None:
        """:func:`consumer_view` of a commissioned code in one read on the event loop (the
        platform asks it for every parent's scan); anything else is FastAPI's, refused there."""
        code = query_param(request, "code")
        view = None if code is None else consumer_view_now(request.app.state.trace.engine, code)
        return None if view is None else json_answer(view)

    router.add_api_route(
        "/public/codes",
        consumer_view,
        methods=["GET"],
        route_class_override=lean_route(consumer_view_at_once),
    )

    # --- the exchange: system routes (mutual TLS) ----------------------------------------

    @router.post("/exchange/batches", status_code=201)
    def receive_batch(
        batch: EnvelopeBatch, svc: Receiver, who: Caller
    ) -> dict[str, list[dict[str, Any]]]:
        """下游数据回传: receipts, distributions, vaccinations, returns and damage of this
        system's codes, forwarded by the platform in sequence order; each taken once, a batch
        all or none."""
        return {"results": svc.receive_batch(who, batch.envelopes)}

    @router.get(
        "/exchange/lot-release-certificates/{mah_uscc}/{batch_no}",
        response_class=Response,
        responses=problem_responses({404: "no lot release of the batch is on file"})
        | {200: {"description": "the certificate file, as filed", "content": {"*/*": {}}}},
    )
    def lot_release_certificate(
        mah_uscc: Uscc, batch_no: str, trace: Service, _who: Caller
    ) -> Response:
        """批签发证明: the certificate filed with a batch's lot release, for the platform to
        pass on to the provinces that hold the batch (mutual TLS); its SHA-256 in
        ``X-Certificate-SHA256``."""
        found = trace.lot_release_certificate(mah_uscc, batch_no)
        headers = {CERTIFICATE_SHA256: found.sha256}
        return Response(found.content, media_type=found.media_type, headers=headers)

    return router
