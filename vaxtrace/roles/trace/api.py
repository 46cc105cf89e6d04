"""HTTP routes of the trace role: translate HTTP to a service call and back, nothing more.

One router: the staff's routes (bearer tokens) beside the system routes of the exchange
(mutual TLS; the caller is known only from its certificate): province reports the platform
forwards, and the lot release certificates it passes on."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from collections.abc import Callable
from typing import Annotated, Any

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

from vaxtrace.core.datasets.basic_data import CodingRule, VaccineProduct
from vaxtrace.core.datasets.corrections import Correction
from vaxtrace.core.datasets.elements import Uscc
from vaxtrace.core.datasets.locks import Lock, Unlock
from vaxtrace.core.datasets.movements import (
    Destruction,
    SalesReturn,
    ShippingNote,
    ShippingNoteUpload,
)
from vaxtrace.core.datasets.production import (
    Batch,
    Commission,
    LotRelease,
    Pack,
    Replace,
    SelfInspection,
    Unpack,
    Warehousing,
)
from vaxtrace.core.datasets.recalls import Recall, RecallClosure, RecallReceipt
from vaxtrace.core.datasets.temperature import TemperatureRecord
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CERTIFICATE_SHA256
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver
from vaxtrace.web.answers import mark_replayed, write_answer
from vaxtrace.web.identity import app_state, bearer_actor
from vaxtrace.web.problems import problem_responses

Service = Annotated[TraceService, Depends(app_state("trace"))]
Actor = Annotated[str, Depends(bearer_actor("trace"))]
Receiver = Annotated[DownstreamReceiver, Depends(app_state("trace_downstream"))]


def trace_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    """Every route of the trace role; ``caller`` names the system calling a system route."""
    router = APIRouter(prefix="/trace/v1", tags=["trace system 疫苗追溯系统"])
    Caller = Annotated[SystemIdentity, Depends(caller)]

    @router.post("/products", status_code=201)
    def register_product(item: VaccineProduct, svc: Service, who: Actor) -> dict[str, Any]:
        return svc.register_product(who, item)

    @router.post("/coding-rules", status_code=201)
    def register_coding_rule(item: CodingRule, svc: Service, who: Actor) -> dict[str, Any]:
        return svc.register_coding_rule(who, item)

    @router.post("/batches", status_code=201)
    def register_batch(item: Batch, svc: Service, who: Actor) -> dict[str, Any]:
        return svc.register_batch(who, item)

    @router.post("/commissions", status_code=201)
    def commission(
        item: Commission, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        return write_answer(svc.commission(who, item), response)

    @router.post("/packs", status_code=201)
    def pack(item: Pack, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        return write_answer(svc.pack(who, item), response)

    @router.post("/unpacks", status_code=201)
    def unpack(item: Unpack, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        return write_answer(svc.unpack(who, item), response)

    @router.post("/replacements", status_code=201)
    def replace(item: Replace, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        return write_answer(svc.replace(who, item), response)

    @router.post("/warehousings", status_code=201)
    def warehouse(
        item: Warehousing, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        return write_answer(svc.warehouse(who, item), response)

    @router.post("/self-inspections", status_code=201)
    def self_inspect(
        item: SelfInspection, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        return write_answer(svc.self_inspect(who, item), response)

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

    @router.post("/shipping-notes", status_code=201)
    def ship(item: ShippingNote, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        return write_answer(svc.ship(who, item), response)

    @router.post("/shipping-note-uploads", status_code=201)
    def ship_all(
        upload: ShippingNoteUpload, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """Several shipping notes at once, all or none; 200 when every note is a replay."""
        results = svc.ship_all(who, upload)
        mark_replayed(response, all(r.replayed for r in results))
        return {"shipping_notes": [r.body | {"replayed": r.replayed} for r in results]}

    @router.post("/sales-returns", status_code=201)
    def sales_return(
        item: SalesReturn, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        return write_answer(svc.sales_return(who, item), response)

    @router.post("/recalls", status_code=201)
    def start_recall(item: Recall, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        return write_answer(svc.start_recall(who, item), response)

    @router.post("/recall-closures", status_code=201)
    def close_recall(
        item: RecallClosure, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """召回完成: close one of your recalls with its summary. Goods not returned stay stopped;
        a real recall's closure reaches every immunization system the recall reached."""
        return write_answer(svc.close_recall(who, item), response)

    @router.post("/recall-receipts", status_code=201)
    def recall_receipt(
        item: RecallReceipt, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        return write_answer(svc.recall_receipt(who, item), response)

    @router.post("/destructions", status_code=201)
    def destroy(item: Destruction, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        return write_answer(svc.destroy(who, item), response)

    @router.post("/temperature-records", status_code=201)
    def record_temperature(
        item: TemperatureRecord, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        return write_answer(svc.record_temperature(who, item), response)

    @router.post("/locks", status_code=201)
    def lock(item: Lock, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        """锁定 codes or whole batches (pending / to_be_recalled / abnormal) with the evidence."""
        return write_answer(svc.lock(who, item), response)

    @router.post("/unlocks", status_code=201)
    def unlock(item: Unlock, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        return write_answer(svc.unlock(who, item), response)

    @router.post("/corrections", status_code=201)
    def correct(item: Correction, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        """更正: a new event citing the event whose header it corrects."""
        return write_answer(svc.correct(who, item), response)

    @router.get("/codes")
    def trace_code(code: str, svc: Service, _who: Actor, proofs: bool = False) -> dict[str, Any]:
        """Full record of a code of any level (typed, scanned or a Digital Link URI); with
        ``proofs=true`` every event carries its inclusion proof in the node's signed log."""
        return svc.trace(code, proofs=proofs)

    @router.get("/batches/{batch_no}")
    def batch_summary(batch_no: str, svc: Service, who: Actor) -> dict[str, Any]:
        return svc.batch_summary(who, batch_no)

    @router.get("/public/codes")
    def consumer_view(code: str, svc: Service) -> dict[str, Any]:
        """消费者查询: the public subset, no authentication, no personal data."""
        return svc.consumer_view(code)

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
