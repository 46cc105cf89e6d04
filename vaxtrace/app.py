"""Build the ASGI application for a set of roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from vaxtrace.roles.trace import api as trace_api
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.store.engine import make_engine
from vaxtrace.store.migrate import upgrade
from vaxtrace.web import problems

ROLES = ("trace",)


def trace_service(settings: Settings) -> TraceService:
    engine = make_engine(settings.trace_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    upgrade(engine, "trace")
    return TraceService(engine)


def build_app(settings: Settings, *, trace: TraceService | None = None) -> FastAPI:
    """The API of this process's roles; OpenAPI at /docs."""
    svc = trace or trace_service(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
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

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
