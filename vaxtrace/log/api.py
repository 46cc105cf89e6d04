"""HTTP routes of a role's log: checkpoint, keys, proofs, cosignatures, alerts."""

# No "from __future__ import annotations": the routes are built inside a function and
# FastAPI must see their annotations evaluated, local dependency alias included.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse

from vaxtrace.core.datasets.elements import MAX_ID
from vaxtrace.log.service import LedgerService
from vaxtrace.web.identity import bearer_organisation

NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"


def ledger_router(prefix: str, pick: Callable[[Request], LedgerService]) -> APIRouter:
    """The log routes of one role, mounted under ``prefix`` (e.g. ``/trace/v1/ledger``)."""
    router = APIRouter(prefix=prefix, tags=["tamper-evident log"])
    Ledger = Annotated[LedgerService, Depends(pick)]

    @router.get(
        "/checkpoint",
        response_class=PlainTextResponse,
        responses={404: {"description": "nothing signed yet: the log is empty"}},
    )
    def checkpoint(svc: Ledger) -> PlainTextResponse:
        """The latest signed checkpoint (signed-note format) with its cosignatures."""
        return PlainTextResponse(svc.checkpoint(), media_type=NOTE_MEDIA_TYPE)

    @router.get("/key", response_class=PlainTextResponse)
    def key(svc: Ledger) -> PlainTextResponse:
        """The verifier key checkpoints are signed with, and the one cosignatures use."""
        text = f"{svc.verifier.text()}\n{svc.cosigner().text()}\n"
        return PlainTextResponse(text, media_type=NOTE_MEDIA_TYPE)

    @router.get("/proofs/inclusion")
    def inclusion(
        request: Request,
        svc: Ledger,
        event_id: Annotated[int, Query(gt=0, le=MAX_ID)],
        tree_size: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """A proof bundle: checkpoint, leaf hash and audit path, for anyone. The event's
        document too for a caller entitled to it (the MAH it concerns, by its bearer token;
        an unknown token is refused), else ``document`` is null."""
        return svc.proof_for(_reader(request, svc, authorization), event_id, tree_size)

    @router.get("/proofs/consistency")
    def consistency(
        svc: Ledger,
        old: Annotated[int, Query(gt=0, le=MAX_ID)],
        new: Annotated[int, Query(gt=0, le=MAX_ID)],
    ) -> dict[str, Any]:
        return svc.consistency(old, new)

    @router.post("/cosignatures", status_code=201)
    def cosignature(
        svc: Ledger, note: Annotated[str, Body(media_type="text/plain")]
    ) -> dict[str, Any]:
        """A witness hands back our checkpoint with its cosignature."""
        return svc.accept_cosignature(note)

    @router.get("/witnessed")
    def directory(svc: Ledger) -> list[dict[str, Any]]:
        """The checkpoint directory: every log this one witnesses, with the latest checkpoint
        of each it cosigned (anyone may read it, and verify a node against it)."""
        return svc.directory()

    @router.get("/witnessed/{origin:path}/checkpoint", response_class=PlainTextResponse)
    def witnessed(svc: Ledger, origin: str) -> PlainTextResponse:
        """The latest checkpoint of log ``origin`` this one cosigned, with the cosignature:
        ``vaxtrace ledger verify --from <this route without /checkpoint>`` reads it."""
        return PlainTextResponse(svc.witnessed_checkpoint(origin), media_type=NOTE_MEDIA_TYPE)

    @router.get("/alerts")
    def alerts(svc: Ledger) -> list[dict[str, Any]]:
        """Forks and rollbacks this node saw while witnessing others."""
        return svc.alerts()

    return router


def _reader(request: Request, svc: LedgerService, authorization: str | None) -> str | None:
    """The organisation behind a bearer token sent to a public route, if one was sent."""
    if authorization is None or svc.readers is None:
        return None
    return bearer_organisation(request, authorization, svc.readers.authenticate)
