"""HTTP routes of the provincial immunization system: the exchange with the platform (mutual
TLS), and the writes and views of the province's CDCs and vaccination sites (bearer tokens)."""

# No "from __future__ import annotations": routes are built in a function (see ledger/api.py).
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from vaxtrace.core.province import (
    DamageReport,
    Distribution,
    GoodsReturn,
    ReceiptConfirmation,
    ReceiptScan,
    ReceivingNote,
    Vaccination,
)
from vaxtrace.core.receipt import ScanDecision, ScanReason, ScanResult
from vaxtrace.core.refusal import Acknowledgement, AlertState
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.immunization.service.alerts import MAX_ALERTS
from vaxtrace.web.answers import write_answer
from vaxtrace.web.identity import app_state, bearer_actor
from vaxtrace.web.problems import problem

REJECTED_STATUS = {
    ScanReason.UNKNOWN_NOTE: 404,
    ScanReason.WRONG_CONSIGNEE: 403,
    ScanReason.NOTE_CLOSED: 409,
}
"""HTTP status of a rejected scan by its reason; 422 for the others (the code itself)."""

NoteNo = Annotated[str, Path(min_length=1, max_length=60, description="发货单号")]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the alert's id")]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the problem answers a route gives."""
    return {
        status: {"description": "RFC 9457 problem", "content": {"application/problem+json": {}}}
        for status in statuses
    }


MahUscc = Annotated[
    str | None, Query(description="发货单位: needed only when two MAHs' notes share a number")
]


def _scan_answer(note_no: str, decision: ScanDecision) -> JSONResponse:
    """Accepted 201, repeat 200 (nothing new), rejected as a problem naming why; every scan
    is kept in the audit either way."""
    body = {
        "note_no": note_no,
        "result": decision.result.value,
        "reason": decision.reason.value,
        "code": decision.code,
        "message": decision.message,
    }
    if decision.result is ScanResult.REJECTED:
        status = REJECTED_STATUS.get(decision.reason, 422)
        field = None if decision.reason in REJECTED_STATUS else "code"
        return problem(
            status,
            decision.reason.value,
            "scan rejected",
            decision.message,
            field,
            result=decision.result.value,
            note_no=note_no,
            code=decision.code,
        )
    return JSONResponse(body, status_code=201 if decision.result is ScanResult.ACCEPTED else 200)


def immunization_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    router = APIRouter(prefix="/immunization/v1", tags=["provincial immunization 省级免疫规划"])

    Service = Annotated[ImmunizationService, Depends(app_state("immunization"))]
    Caller = Annotated[SystemIdentity, Depends(caller)]
    Actor = Annotated[str, Depends(bearer_actor("immunization"))]
    """The CDC or vaccination site behind the bearer token."""

    # --- the exchange with the platform (mutual TLS) ------------------------------------------

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

    # --- receipt with scan verification (bearer) ----------------------------------------------

    @router.get("/receipts")
    def receipts(svc: Service, who: Actor) -> list[dict[str, Any]]:
        """The shipping notes announced to your CDC, oldest first, open or closed."""
        return svc.expected(who)

    @router.get("/receipts/{note_no}")
    def receipt(
        note_no: NoteNo, svc: Service, who: Actor, mah_uscc: MahUscc = None
    ) -> dict[str, Any]:
        """Where a receipt stands: scanned, missing, the verification it would get."""
        return svc.receipt(who, note_no, mah_uscc)

    @router.post("/receipts/{note_no}/scans", status_code=201)
    def scan(note_no: NoteNo, item: ReceiptScan, svc: Service, who: Actor) -> JSONResponse:
        """扫码验收: one code scanned against the note. 201 accepted, 200 a repeat (counted
        once), a problem when rejected (not on the note, unreadable, another unit's note…)."""
        return _scan_answer(note_no, svc.scan(who, note_no, item.code, item.mah_uscc))

    @router.post("/receipts/{note_no}/confirm", status_code=201)
    def confirm(
        note_no: NoteNo, item: ReceiptConfirmation, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """107 供应入库: close the note with the verification its scans give; the codes
        received go into your stock and the receipt is reported to the MAH."""
        request = ReceivingNote(shipping_note_no=note_no, **item.model_dump())
        return write_answer(svc.confirm_receipt(who, request), response)

    # --- movements (bearer) ------------------------------------------------------------------

    @router.post("/distributions", status_code=201)
    def distribute(
        item: Distribution, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """209 供应出库: a CDC supplies a lower CDC or a vaccination site of its area."""
        return write_answer(svc.distribute(who, item), response)

    @router.post("/vaccinations", status_code=201)
    def vaccinate(
        item: Vaccination, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """322 接种: a vaccination site uses one dose it holds (loose or in its box)."""
        return write_answer(svc.vaccinate(who, item), response)

    @router.post("/returns", status_code=201)
    def return_goods(
        item: GoodsReturn, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """202 退货出库: back to a CDC above, or to the MAH that supplied the goods."""
        return write_answer(svc.return_goods(who, item), response)

    @router.post("/damage-reports", status_code=201)
    def report_damage(
        item: DamageReport, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """215 损坏出库: codes you hold are broken, frozen or lost."""
        return write_answer(svc.report_damage(who, item), response)

    @router.get("/stock")
    def stock(
        svc: Service,
        who: Actor,
        code: Annotated[str | None, Query(max_length=300, description="追溯码, any form")] = None,
    ) -> dict[str, Any]:
        """Your stock by state and its outermost codes; one code of it with ``code``."""
        return svc.stock(who, code)

    # --- refusal alerts (bearer) ---------------------------------------------------------------

    @router.get("/alerts", responses=_problems(401, 422))
    def alerts(
        svc: Service,
        who: Actor,
        state: Annotated[AlertState | None, Query(description="open or acknowledged")] = None,
        before: Annotated[
            int | None, Query(ge=1, le=2**63 - 1, description="only alerts older than this id")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 100,
    ) -> dict[str, Any]:
        """拒收告警: your reports their receiver refused (the MAH's trace system, or the
        platform), newest first: what, which codes, why, what to do, when."""
        chosen = None if state is None else state.value
        return svc.alerts(who, state=chosen, before=before, limit=limit)

    @router.post("/alerts/{alert_id}/acknowledgement", responses=_problems(401, 404, 422))
    def acknowledge(
        alert_id: AlertId, svc: Service, who: Actor, item: Acknowledgement | None = None
    ) -> dict[str, Any]:
        """Acknowledge one of your alerts (seen, taken in hand); again changes nothing."""
        return svc.acknowledge_alert(who, alert_id, None if item is None else item.note)

    return router
