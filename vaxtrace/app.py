"""Build the ASGI application for a set of roles."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from vaxtrace.ledger.checkpoint import SigningKey, VerifierKey
from vaxtrace.roles.ledger.api import ledger_router
from vaxtrace.roles.ledger.service import CheckpointPolicy, LedgerService
from vaxtrace.roles.trace import api as trace_api
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.store.engine import make_engine
from vaxtrace.store.ledger import Ledger
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.trace.documents import TRACE_LEDGER
from vaxtrace.web import problems

ROLES = ("trace",)


def log_origin(settings: Settings, role: str) -> str:
    """The name a role's log signs under (no spaces, stable for the life of the log)."""
    return f"vaxtrace/{settings.node_name}/{role}"


def ledger_service(settings: Settings, role: str, engine: Engine, ledger: Ledger) -> LedgerService:
    key = SigningKey.load_or_create(
        log_origin(settings, role), settings.data_dir / "ledger" / f"{role}.key"
    )
    return LedgerService(
        engine,
        ledger,
        key,
        CheckpointPolicy(settings.ledger_checkpoint_seconds, settings.ledger_checkpoint_events),
        [VerifierKey.parse(text) for text in settings.ledger_witnesses],
    )


def trace_service(settings: Settings) -> TraceService:
    """The trace role over its migrated database, its log signing checkpoints."""
    engine = make_engine(settings.trace_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    upgrade(engine, "trace")
    return TraceService(engine, ledger_service(settings, "trace", engine, TRACE_LEDGER))


def _trace_ledger(request: Request) -> LedgerService:
    svc: TraceService = request.app.state.trace
    assert svc.ledger is not None
    return svc.ledger


async def _sign_when_due(ledger: LedgerService, every: float) -> None:
    """Events written just before a quiet spell still get a checkpoint within ``every`` s."""
    while True:
        await asyncio.sleep(every)
        await run_in_threadpool(ledger.sign_if_due)


def build_app(settings: Settings, *, trace: TraceService | None = None) -> FastAPI:
    """The API of this process's roles; OpenAPI at /docs."""
    svc = trace or trace_service(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        signer = None
        if svc.ledger is not None:
            signer = asyncio.create_task(
                _sign_when_due(svc.ledger, settings.ledger_checkpoint_seconds)
            )
        yield
        if signer is not None:
            signer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await signer
        svc.engine.dispose()

    app = FastAPI(
        title="VaxTrace",
        summary="Vaccine information traceability (疫苗信息化追溯体系)",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.trace = svc
    app.state.settings = settings
    problems.install(app)
    app.include_router(trace_api.router)
    if svc.ledger is not None:
        app.include_router(ledger_router("/trace/v1/ledger", _trace_ledger))

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
