"""HTTP routes of the provincial immunization system: the exchange with the platform (mutual
TLS), and the writes and views of the province's CDCs and vaccination sites (bearer tokens)."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from vaxtrace.core.coldchain.decisions import ExcursionDecision, ExcursionState
from vaxtrace.core.coldchain.readings import TemperatureHeader, TemperatureUpload
from vaxtrace.core.datasets.elements import Uscc
from vaxtrace.core.datasets.movements import Destruction
from vaxtrace.core.immunization import (
    DamageReport,
    Distribution,
    DoseCheck,
    GoodsReturn,
    ReceiptConfirmation,
    ReceiptScan,
    ReceivingNote,
    Scrap,
    Vaccination,
    VaccinationUndo,
)
from vaxtrace.core.recipients import ChildExport, ChildMerge, ChildMove, ChildRegistration
from vaxtrace.core.recipients.fhir import FHIR_JSON
from vaxtrace.core.refusal import Acknowledgement, AlertState
from vaxtrace.core.signals import CERTIFICATE_SHA256
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.immunization.service.alerts import MAX_ALERTS
from vaxtrace.roles.immunization.service.coldchain import CSV_MAX_BYTES
from vaxtrace.web.answers import form_model, scan_answer, write_answer
from vaxtrace.web.identity import (
    Staff,
    app_state,
    bearer_actor,
    bearer_actor_on_loop,
    bearer_staff,
)
from vaxtrace.web.lean import json_answer, json_body, known_bearer, lean_route, path_param
from vaxtrace.web.problems import file_responses, problem_responses, staff_problems


class FhirJson(JSONResponse):
    media_type = FHIR_JSON


NoteNo = Annotated[str, Path(min_length=1, max_length=60, description="发货单号")]
NOTE_NO: TypeAdapter[str] = TypeAdapter(NoteNo)
ExcursionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="温度超标编号")]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the alert's id")]
BatchNo = Annotated[str, Path(min_length=1, max_length=20, description="批号")]
CERTIFICATE_PROBLEMS = {
    401: "no or unknown bearer token",
    404: "the province holds and expects no goods of the batch (`unknown_batch`), or no lot "
    "release of it is on file (`no_lot_release`)",
    409: "the certificate received is not the one the batch data named "
    "(`certificate_file_mismatch`): do not rely on it",
    503: "the platform or the MAH's trace system did not answer; try again shortly",
}
"""What a certificate ask answers besides the file, for OpenAPI."""

ChildId = Annotated[
    str, Path(pattern=r"^ch-[0-9a-f]{16}$", description="受种者编码: the child's pseudonymous id")
]
ChildState = Annotated[
    str | None,
    Query(pattern="^(active|merged|moved_out)$", description="active, merged or moved_out"),
]

ShipperUscc = Annotated[
    str | None,
    Query(description="发货单位 (a MAH or a CDC): only when two shippers' notes share a number"),
]
MahUscc = Annotated[str | None, Query(deprecated=True, description="the shipper, as before")]


def immunization_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    router = APIRouter(prefix="/immunization/v1", tags=["provincial immunization 省级免疫规划"])

    Service = Annotated[ImmunizationService, Depends(app_state("immunization"))]
    Caller = Annotated[SystemIdentity, Depends(caller)]
    Actor = Annotated[str, Depends(bearer_actor("immunization"))]
    SiteOnLoop = Annotated[str, Depends(bearer_actor_on_loop("immunization"))]
    """The unit behind the bearer token, asked on the event loop (the dose-check's hot path;
    the service remembers its tokens)."""
    StaffMember = Annotated[Staff, Depends(bearer_staff("immunization"))]
    """The CDC or vaccination site behind the bearer token."""

    # --- the dose gate (bearer): first, the hot path at the arm is matched first ------------

    async def check_dose(item: DoseCheck, svc: Service, who: SiteOnLoop) -> dict[str, Any]:
        """接种前核验: may your site give this dose now? ``allowed`` and every reason why not
        (``locked``, ``recalled``, ``expired``, ``cold_chain_excursion``, ``not_held``, …),
        decided from the province's records (batch data and the MAH's safety signals), never
        from the label alone. Changes no stock; every decision is audited. Async: one read
        on the event loop (the hot path at the arm), no hop to a worker thread."""
        return svc.check_dose(who, item.code)

    async def check_dose_at_once(request: Request) -> Response | None:
        """:func:`check_dose` for a request with a known token and a readable body."""
        svc: ImmunizationService = request.app.state.immunization
        who = known_bearer(request, svc.authenticate)
        item = None if who is None else await json_body(request, DoseCheck)
        if who is None or item is None:
            return None
        return json_answer(await check_dose(item, svc, who))

    router.add_api_route(
        "/dose-checks",
        check_dose,
        methods=["POST"],
        responses={
            401: {"description": "no or unknown bearer token"},
            404: {"description": "the token's unit is not of this province"},
            422: {"description": "unreadable code, or the token is not a vaccination site's"},
        },
        route_class_override=lean_route(check_dose_at_once),
    )

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

    @router.get("/receipts", responses=staff_problems(401))
    def receipts(svc: Service, who: Actor) -> list[dict[str, Any]]:
        """What your CDC or site is to receive, oldest first: MAHs' shipping notes and CDCs'
        distributions, each with its ``state`` (open, partial, received)."""
        return svc.expected(who)

    @router.get("/receipts/{note_no}", responses=staff_problems(401, 403, 404, 409, 422))
    def receipt(
        note_no: NoteNo,
        svc: Service,
        who: Actor,
        shipper_uscc: ShipperUscc = None,
        mah_uscc: MahUscc = None,
    ) -> dict[str, Any]:
        """Where a receipt stands: scanned, missing, confirmed, the verification a
        confirmation now would give (none while nothing was scanned)."""
        return svc.receipt(who, note_no, shipper_uscc or mah_uscc)

    def scan(note_no: NoteNo, item: ReceiptScan, svc: Service, who: Actor) -> Response:
        """扫码验收: one code scanned against the note. 201 accepted, 200 a repeat (counted
        once), a problem when rejected (not on the note, unreadable, another unit's note…)."""
        return scan_answer(note_no, svc.scan(who, note_no, item.code, item.shipper_uscc))

    async def scan_at_once(request: Request) -> Response | None:
        """:func:`scan` for a request with a known token, a good note number and a readable
        body, on the event loop: the reads of the snapshot there, an accepted scan's group
        commit awaited there (no worker thread held per scan at the door)."""
        svc: ImmunizationService = request.app.state.immunization
        who = known_bearer(request, svc.authenticate)
        note_no = path_param(request, "note_no", NOTE_NO)
        if who is None or note_no is None:
            return None
        item = await json_body(request, ReceiptScan)
        if item is None:
            return None
        decision = await svc.scan_on_loop(who, note_no, item.code, item.shipper_uscc)
        return scan_answer(note_no, decision)

    router.add_api_route(
        "/receipts/{note_no}/scans",
        scan,
        methods=["POST"],
        status_code=201,
        route_class_override=lean_route(scan_at_once),
    )

    @router.post(
        "/receipts/{note_no}/confirm",
        status_code=201,
        responses=staff_problems(401, 403, 404, 409, 422),
    )
    def confirm(
        note_no: NoteNo, item: ReceiptConfirmation, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """107 供应入库: confirm what was scanned since the last confirmation; it goes into
        your stock and the receipt is reported to the MAH. The note stays open (``partial``)
        for what comes late until everything on it was received."""
        request = ReceivingNote(shipping_note_no=note_no, **item.model_dump())
        return write_answer(svc.confirm_receipt(who, request), response)

    @router.get(
        "/lot-release-certificates/{mah_uscc}/{batch_no}",
        response_class=Response,
        responses=file_responses(CERTIFICATE_PROBLEMS),
    )
    async def lot_release_certificate(
        mah_uscc: Uscc, batch_no: BatchNo, request: Request, svc: Service, _who: Actor
    ) -> Response:
        """批签发证明: the lot release certificate of a batch your province holds or expects,
        fetched through the platform from the MAH's trace system and shown only if it is the
        one the batch data named (its SHA-256 in ``X-Certificate-SHA256``)."""
        fetch = request.app.state.platform_certificates
        found = await svc.lot_release_certificate(mah_uscc, batch_no, fetch)
        headers = {CERTIFICATE_SHA256: found.sha256}
        return Response(found.content, media_type=found.media_type, headers=headers)

    # --- movements (bearer) ------------------------------------------------------------------

    @router.post("/distributions", status_code=201, responses=staff_problems(401, 404, 409, 422))
    def distribute(
        item: Distribution, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """209 供应出库: a CDC supplies a lower CDC or a vaccination site of its area."""
        return write_answer(svc.distribute(who, item), response)

    @router.post(
        "/vaccinations", status_code=201, responses=staff_problems(401, 403, 404, 409, 422)
    )
    def vaccinate(
        item: Vaccination, svc: Service, who: StaffMember, response: Response
    ) -> dict[str, Any]:
        """322 接种: a vaccination site uses one dose it holds (loose or in its box), if the
        dose gate lets it: refused (409, or 422 for a code that is no dose of the province)
        with ``reasons``, every reason that applies. The record keeps vaccine, MAH, dose code,
        batch, expiry, time, site, vaccinator, dose number and the recipient's reference."""
        return write_answer(svc.vaccinate(who.org_uscc, item, who.user), response)

    @router.post(
        "/vaccination-undos", status_code=201, responses=staff_problems(401, 403, 404, 409, 422)
    )
    def undo_vaccination(
        item: VaccinationUndo, svc: Service, who: StaffMember, response: Response
    ) -> dict[str, Any]:
        """接种冲销: take back a wrong vaccination record — only with the token that recorded
        it (403 ``not_the_recorder``) and within the undo window (409
        ``undo_window_passed``); the dose is in stock again and the undo (323) is reported."""
        return write_answer(svc.undo_vaccination(who.org_uscc, item, who.user), response)

    @router.get("/vaccinations", responses=staff_problems(401, 422))
    def vaccination_records(
        svc: Service,
        who: Actor,
        vaccinee_ref: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """接种记录 of your site, newest first; one recipient's with ``vaccinee_ref``."""
        return svc.vaccination_records(who, vaccinee_ref, limit)

    @router.post("/returns", status_code=201, responses=staff_problems(401, 409, 422))
    def return_goods(
        item: GoodsReturn, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """202 退货出库: back to a CDC above, or to the MAH that supplied the goods."""
        return write_answer(svc.return_goods(who, item), response)

    @router.post("/damage-reports", status_code=201, responses=staff_problems(401, 409, 422))
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

    # --- cold chain: temperature records and excursions (bearer) -----------------------------

    problems: dict[int | str, dict[str, Any]] = {
        401: {"description": "no or unknown bearer token (problem+json)"},
        422: {"description": "a field refused, named in `field` (problem+json); nothing stored"},
    }
    record_problems = problems | {
        409: {
            "description": "client_document_id reused for another request, or a reading "
            "already recorded at that time with another temperature"
        },
    }
    excursion_problems = problems | {
        403: {"description": "another unit's excursion"},
        404: {"description": "no such excursion"},
    }

    @router.post("/temperature-records", status_code=201, responses=record_problems)
    def record_temperatures(
        item: TemperatureUpload, svc: Service, who: Actor, response: Response
    ) -> dict[str, Any]:
        """温度记录: readings of a fridge, cold room or vehicle, oldest first. Every rule of the
        product class is applied, continuous and cumulative; an excursion (warning or severe)
        holds every code your unit has in stock until a named person decides. A retry with
        the same client_document_id answers the first answer."""
        return write_answer(svc.record_temperatures(who, item), response)

    @router.post("/temperature-records/csv", status_code=201, responses=record_problems)
    def record_logger_file(
        svc: Service,
        who: Actor,
        response: Response,
        file: Annotated[UploadFile, File(description="logger export: time,celsius per line")],
        client_document_id: Annotated[str, Form()],
        equipment_id: Annotated[str, Form(description="设备编号")],
        kind: Annotated[str, Form(description="storage or transport")],
        product_class: Annotated[str, Form(description="e.g. freeze_sensitive_2_8")],
        document_no: Annotated[str | None, Form()] = None,
        related_document_no: Annotated[str | None, Form()] = None,
    ) -> dict[str, Any]:
        """温度记录 from a logger's CSV: a header ``time,celsius``, then one reading a line
        (ISO 8601 time with its timezone, °C). A refusal names the line."""
        fields = {
            "client_document_id": client_document_id,
            "equipment_id": equipment_id,
            "kind": kind,
            "product_class": product_class,
            "document_no": document_no,
            "related_document_no": related_document_no,
        }
        header = form_model(TemperatureHeader, fields)
        content = file.file.read(CSV_MAX_BYTES + 1)
        return write_answer(svc.record_logger_file(who, header, content), response)

    @router.get("/excursions", responses=problems)
    def excursions(
        svc: Service,
        who: Actor,
        state: Annotated[
            ExcursionState | None, Query(description="open, usable or abnormal")
        ] = None,
    ) -> list[dict[str, Any]]:
        """Your unit's temperature excursions, newest first."""
        return svc.excursions(who, state)

    @router.get("/excursions/{excursion_id}", responses=excursion_problems)
    def excursion(excursion_id: ExcursionId, svc: Service, who: Actor) -> dict[str, Any]:
        """One excursion of your unit with the codes it holds (the first thousand)."""
        return svc.excursion(who, excursion_id)

    @router.post(
        "/excursions/{excursion_id}/decision",
        status_code=201,
        responses=excursion_problems | {409: {"description": "already decided otherwise"}},
    )
    def decide_excursion(
        excursion_id: ExcursionId,
        item: ExcursionDecision,
        svc: Service,
        who: Actor,
        response: Response,
    ) -> dict[str, Any]:
        """温度超标处置 by a named person: usable releases the codes, abnormal keeps them out
        for good. The same decision sent again is answered again (200)."""
        return write_answer(svc.decide_excursion(who, excursion_id, item), response)

    # --- refusal alerts (bearer) ---------------------------------------------------------------

    @router.get("/alerts", responses=staff_problems(401, 422))
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

    @router.post("/alerts/{alert_id}/acknowledgement", responses=staff_problems(401, 404, 422))
    def acknowledge(
        alert_id: AlertId, svc: Service, who: Actor, item: Acknowledgement | None = None
    ) -> dict[str, Any]:
        """Acknowledge one of your alerts (seen, taken in hand); again changes nothing."""
        return svc.acknowledge_alert(who, alert_id, None if item is None else item.note)

    # --- stock in doses, expiry and disposal (bearer) ---------------------------------------

    @router.get("/stock/summary", responses=staff_problems(401))
    def stock_summary(svc: Service, who: Actor) -> dict[str, Any]:
        """库存汇总: the doses (level-1 codes) your unit holds, by product (code and name when
        the registry's copy knows it), batch, expiry and status — ``usable``, ``locked``,
        ``recalled``, ``expired``, ``excursion`` (held by a cold-chain excursion), ``stopped``
        (another reason the dose gate gives), ``in_transit`` — with every gate reason."""
        return svc.stock_summary(who)

    @router.get("/stock/near-expiry", responses=staff_problems(401, 422))
    def near_expiry(
        request: Request,
        svc: Service,
        who: Actor,
        days: Annotated[
            int | None,
            Query(ge=0, le=3650, description="days ahead (default: the node's near_expiry_days)"),
        ] = None,
    ) -> dict[str, Any]:
        """近效期: batches you hold doses of that expire within ``days`` days (today counts:
        有效期至 is the last day of use), soonest first, with days left and doses by status."""
        default: int = request.app.state.settings.near_expiry_days
        chosen = default if days is None else days
        return svc.near_expiry_stock(who, chosen)

    @router.get("/stock/expired", responses=staff_problems(401))
    def expired(svc: Service, who: Actor) -> dict[str, Any]:
        """过期: batches you hold doses of that have expired (negative days left): scrap or
        destroy them."""
        return svc.expired_stock(who)

    @router.get(
        "/public/stock",
        responses=problem_responses(
            {422: "`division` is not a 6-digit division code (`division_code_format`, …)"}
        ),
    )
    def public_stock(svc: Service, division: Annotated[str, Query(max_length=6)]) -> dict[str, Any]:
        """疫苗库存 for the public, no login: each vaccination site in a division (a province,
        city or county code) with the doses it can give today, by vaccine, from its real
        stock (what the dose gate would let be given). No batches, codes or persons."""
        return svc.public_stock(division)

    @router.get("/stock/province", responses=staff_problems(401, 403))
    def province_stock(svc: Service, who: Actor) -> dict[str, Any]:
        """The stock of every CDC and vaccination site in your CDC's area (a provincial CDC:
        the province; a city CDC: its city), in doses, unit by unit. Only CDCs (403)."""
        return svc.province_stock(who)

    @router.post("/scraps", status_code=201, responses=staff_problems(401, 409, 422))
    def scrap(item: Scrap, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        """216 报废出库: write off goods your unit holds in stock (expired, abnormal, out of
        the cold chain…); they and everything inside them leave your stock for good and the
        step is reported to the MAH. Goods pending the MAH's decision or under its recall
        are refused (409 ``locked`` / ``recalled``)."""
        return write_answer(svc.scrap(who, item), response)

    @router.post("/destructions", status_code=201, responses=staff_problems(401, 409, 422))
    def destroy(item: Destruction, svc: Service, who: Actor, response: Response) -> dict[str, Any]:
        """205 销毁出库: goods your unit holds (in stock, or reported damaged) are destroyed;
        ``reason``, ``executor`` and ``supervisor`` are mandatory. Reported to the MAH."""
        return write_answer(svc.destroy(who, item), response)

    # --- recipients (受种者, bearer: a vaccination site's staff) --------------------------------

    @router.post("/children", status_code=201, responses=staff_problems(401, 403, 404, 409, 422))
    def register_child(
        item: ChildRegistration, svc: Service, who: StaffMember, response: Response
    ) -> dict[str, Any]:
        """建档: register a child of your site (name, sex, birth date and place, guardians with
        phones, vaccination card number, optional resident id). Children that may be the same
        one are answered first: 409 ``possible_duplicate`` with ``candidates`` (another
        site's masked); send again with ``confirm_not_duplicate`` once checked. The same
        registration again answers 200 with the child. The child's ``child_id`` is its
        pseudonymous reference: give it as a vaccination's ``vaccinee_ref``."""
        done = svc.register_child(who.org_uscc, item, who.user)
        if not done.created:
            response.status_code = 200
        return done.body

    @router.get("/children", responses=staff_problems(401, 422))
    def children(
        svc: Service,
        who: Actor,
        state: ChildState = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Your site's children, newest registration first."""
        return svc.children(who, state, limit)

    @router.get("/children/duplicates", responses=staff_problems(401))
    def child_duplicates(svc: Service, who: Actor) -> list[dict[str, Any]]:
        """查重: pairs of registered children that may be one (at least one of them yours;
        another site's masked), best first, with what matched. Nothing merges by itself."""
        return svc.child_duplicates(who)

    @router.get("/children/{child_id}", responses=staff_problems(401, 403, 404, 422))
    def child(child_id: ChildId, svc: Service, who: Actor) -> dict[str, Any]:
        """A child your site manages (403 ``not_your_child`` for another site's)."""
        return svc.child(who, child_id)

    @router.get("/children/{child_id}/record", responses=staff_problems(401, 403, 404, 422))
    def child_record(child_id: ChildId, svc: Service, who: Actor) -> dict[str, Any]:
        """接种记录 of a child, as a guardian's page shows it: every dose (product, MAH, batch,
        code, site, vaccinator, time) with the schedule's evaluation (valid or not, why),
        each series' status and next dose (earliest, recommended, overdue), the school-entry
        check, and the record's moves and merges."""
        return svc.child_record(who, child_id)

    @router.get(
        "/children/{child_id}/fhir",
        response_class=FhirJson,
        responses={
            200: {"content": {FHIR_JSON: {}}, "description": "a FHIR R4 collection Bundle"},
            **staff_problems(401, 403, 404, 422),
        },
    )
    def child_fhir(child_id: ChildId, svc: Service, who: Actor) -> FhirJson:
        """The child's record as FHIR R4 (``application/fhir+json``): a collection Bundle of
        the ``Patient``, an ``Immunization`` per dose (trace code, lot, MAH, site,
        vaccinator), an ``ImmunizationEvaluation`` per dose the schedule judged (valid or
        not, why) and an ``ImmunizationRecommendation`` (each series' forecast with LOINC
        date criteria). For another information system (e.g. a receiving province's)."""
        return FhirJson(svc.child_fhir(who, child_id))

    @router.post(
        "/children/{child_id}/moves",
        status_code=201,
        responses=staff_problems(401, 403, 404, 409, 422),
    )
    def move_child(
        child_id: ChildId, item: ChildMove, svc: Service, who: StaffMember
    ) -> dict[str, Any]:
        """迁出: another vaccination site of the province manages the child from now, with the
        guardian's consent (logged)."""
        return svc.move_child(who.org_uscc, child_id, item, who.user)

    @router.post(
        "/children/{child_id}/exports",
        status_code=201,
        responses=staff_problems(401, 403, 404, 409, 422),
    )
    def export_child(
        child_id: ChildId, item: ChildExport, svc: Service, who: StaffMember
    ) -> dict[str, Any]:
        """迁出 to another province: the child's record as a transfer document (with its
        SHA-256, logged with the consent), for the receiving province; the child is moved
        out here. The document never travels by the traceability exchange."""
        return svc.export_child(who.org_uscc, child_id, item, who.user)

    @router.post(
        "/children/{child_id}/merges",
        status_code=201,
        responses=staff_problems(401, 403, 404, 409, 422),
    )
    def merge_children(
        child_id: ChildId, item: ChildMerge, svc: Service, who: StaffMember
    ) -> dict[str, Any]:
        """合并: the record ``duplicate_id`` is the same child as this one: its doses count
        here, its guardians and resident id are added where missing; both must be your
        site's. Kept with who, when, which into which and what moved."""
        return svc.merge_children(who.org_uscc, child_id, item, who.user)

    return router
