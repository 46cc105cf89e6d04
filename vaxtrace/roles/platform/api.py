"""HTTP routes of the platform: public resolution, and system-to-system routes that know the
caller only from its verified client certificate (mutual TLS)."""

# No "from __future__ import annotations": routes are built in a function (see log/api.py).
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from vaxtrace.core.datasets.basic_data import VaccineProduct
from vaxtrace.core.datasets.elements import MAX_ID, Uscc
from vaxtrace.core.registry import RegisteredCodingRule
from vaxtrace.core.signals import CERTIFICATE_SHA256
from vaxtrace.exchange.envelope import EnvelopeBatch
from vaxtrace.exchange.pki import CertificateAuthority, SystemIdentity
from vaxtrace.exchange.revocations import CRL_MEDIA_TYPE
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.platform.service.notices import MAX_NOTICES
from vaxtrace.web.identity import app_state
from vaxtrace.web.lean import json_answer, lean_route, query_param
from vaxtrace.web.problems import file_responses, problem_responses

PUBLIC_QUERY_PROBLEMS = {
    404: "no registered coding rule covers the code (`no_rule`), or its trace system does not "
    "know it (the trace system's reason, e.g. `not_commissioned`)",
    422: "the code is malformed (e.g. `bad_length`, `gs1_bad_gtin`), or `code` is missing",
    503: "not now: too many public queries waiting (`busy`), the trace system did not answer "
    "in time (`owner_unavailable`), cannot be reached (`owner_unreachable`) or failed "
    "(`owner_failed`); try again shortly",
}
"""The problems the public query answers with, for OpenAPI."""

CERTIFICATE_PROBLEMS = {
    403: "no goods of the batch were sent to the calling system (`not_a_holder`)",
    404: "no trace system represents the MAH (`unknown_mah`), or it has no lot release of the "
    "batch on file (`no_lot_release`)",
    503: "the MAH's trace system did not answer, or too many asks are waiting",
}
"""The problems a certificate ask answers with, for OpenAPI."""


def platform_router(caller: Callable[[Request], SystemIdentity]) -> APIRouter:
    router = APIRouter(prefix="/platform/v1", tags=["collaborative platform 协同服务平台"])

    Service = Annotated[PlatformService, Depends(app_state("platform"))]
    Caller = Annotated[SystemIdentity, Depends(caller)]

    @router.get("/resolve")
    def resolve(code: str, svc: Service) -> dict[str, Any]:
        """地址解析: which trace system holds a code (typed, scanned or a Digital Link)."""
        return svc.resolve(code)

    async def public_query(code: str, request: Request, svc: Service) -> dict[str, Any]:
        """公众查询: a code as typed, scanned or a Digital Link → its public view, from the
        trace system that holds it. No personal data. Async: no worker thread is held while
        that system answers."""
        wait = request.app.state.settings.public_query_timeout_seconds
        return await svc.public_query(code, request.app.state.ask_owner, wait)

    async def public_query_at_once(request: Request) -> Response | None:
        """:func:`public_query` of a request with a ``code``, answered at once (a parent's
        scan is the platform's busiest route); the same answers, the same problems."""
        code = query_param(request, "code")
        if code is None:
            return None
        svc: PlatformService = request.app.state.platform
        return json_answer(await public_query(code, request, svc))

    router.add_api_route(
        "/public/codes",
        public_query,
        methods=["GET"],
        responses=problem_responses(PUBLIC_QUERY_PROBLEMS),
        route_class_override=lean_route(public_query_at_once),
    )

    @router.get("/public/recalls", responses=problem_responses({422: "a bad `state` or `limit`"}))
    def recall_notices(
        svc: Service,
        state: Annotated[Literal["open", "closed"] | None, Query(description="召回状态")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_NOTICES)] = 100,
    ) -> dict[str, Any]:
        """召回公告: the public notices of recalls (real ones; never a drill), as the regulator
        overseeing each MAH announced them, the latest started first. A code's public view
        names the notices of its batch too."""
        return svc.recall_notices(state=state, limit=limit)

    @router.post("/coding-rules", status_code=201)
    def register_coding_rule(
        rule: RegisteredCodingRule, svc: Service, who: Caller
    ) -> dict[str, Any]:
        """A trace system registers a coding rule of a MAH it represents (mutual TLS)."""
        return svc.register_coding_rule(who, rule)

    @router.post("/registry/products", status_code=201)
    def register_product(product: VaccineProduct, svc: Service, who: Caller) -> dict[str, Any]:
        """疫苗产品: a trace system registers a product of a MAH it represents, for every
        node's basic data (mutual TLS). The same product again changes nothing."""
        return svc.register_product(who, product)

    @router.post("/exchange/batches", status_code=201)
    def receive_batch(
        batch: EnvelopeBatch, svc: Service, who: Caller
    ) -> dict[str, list[dict[str, Any]]]:
        """数据交换: a batch of signed envelopes from a connected system, in sequence order;
        each taken once, all or none (mutual TLS)."""
        return {"results": svc.receive_batch(who, batch.envelopes)}

    @router.post("/exchange/envelopes", status_code=201)
    def receive(envelope: dict[str, Any], svc: Service, who: Caller) -> dict[str, Any]:
        """数据交换: a signed envelope from a connected system, applied once (mutual TLS)."""
        return svc.receive_envelope(who, envelope)

    @router.get(
        "/exchange/lot-release-certificates/{mah_uscc}/{batch_no}",
        response_class=Response,
        responses=file_responses(CERTIFICATE_PROBLEMS),
    )
    async def lot_release_certificate(
        mah_uscc: Uscc, batch_no: str, request: Request, svc: Service, who: Caller
    ) -> Response:
        """批签发证明: a batch's lot release certificate from the MAH's trace system, for a
        system the batch's goods were sent to, or a supervision system (mutual TLS). Its
        SHA-256 travels in ``X-Certificate-SHA256``; the receiver checks it against the one
        the batch data carried."""
        wait = request.app.state.settings.public_query_timeout_seconds
        found = await svc.lot_release_certificate(
            who, (mah_uscc, batch_no), request.app.state.certificates, wait
        )
        headers = {CERTIFICATE_SHA256: found.sha256}
        return Response(found.content, media_type=found.media_type, headers=headers)

    @router.get("/registry/changes")
    def changes(
        svc: Service, who: Caller, since: Annotated[int, Query(ge=0, le=MAX_ID)] = 0
    ) -> dict[str, Any]:
        """Basic-data changes after a version, for connected systems to converge (mutual TLS;
        registered systems only: 403 ``unknown_system`` or ``certificate_mismatch``)."""
        return svc.changes_for(who, since)

    @router.get(
        "/pki/crl",
        response_class=Response,
        responses={
            200: {"content": {CRL_MEDIA_TYPE: {}}},
            404: {"description": "this platform keeps no CA (`no_ca`)"},
        },
    )
    def revocation_list(request: Request) -> Response:
        """证书吊销列表: the CA's certificate revocation list (RFC 5280, PEM), signed by the
        CA; every connected system fetches it and refuses the certificates it revokes."""
        crl = CertificateAuthority(request.app.state.settings.pki_dir).revocation_list()
        return Response(crl, media_type=CRL_MEDIA_TYPE)

    return router
