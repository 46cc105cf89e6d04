"""Build the ASGI application for a set of roles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from vaxtrace.exchange.delivery import PLATFORM, Outbox, RetryPolicy, Send
from vaxtrace.exchange.envelope import Ed25519Signer, Ed25519Verifier
from vaxtrace.exchange.ledger_peer import HttpPeerLog
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.exchange.public_client import owner_asker
from vaxtrace.exchange.transport import Clients, batch_path, batch_sender, mtls_clients
from vaxtrace.ledger.checkpoint import SigningKey, VerifierKey, ed25519_key_at
from vaxtrace.roles.immunization.api import immunization_router
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.ledger.api import ledger_router
from vaxtrace.roles.ledger.service import CheckpointPolicy, LedgerService
from vaxtrace.roles.platform.api import platform_router
from vaxtrace.roles.platform.service import AskOwner, PlatformService
from vaxtrace.roles.trace import api as trace_api
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.store.engine import make_engine, read_tx
from vaxtrace.store.exchange import ExchangeStore, ExchangeTables
from vaxtrace.store.ledger import Ledger
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.platform import registry as platform_registry
from vaxtrace.store.platform import schema as platform_schema
from vaxtrace.store.trace import schema as trace_schema
from vaxtrace.store.trace.documents import TRACE_LEDGER
from vaxtrace.web import problems
from vaxtrace.web.identity import system_identity

ROLES = ("trace", "platform", "immunization")
"""The roles built so far; ``--role all`` runs every one of them."""
logger = logging.getLogger("vaxtrace")


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


def _migrated(settings: Settings, role: str) -> Engine:
    """A role's database engine, migrated to the current schema."""
    engine = make_engine(
        settings.database_url(role), busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    upgrade(engine, role)
    return engine


def trace_service(settings: Settings) -> TraceService:
    """The trace role over its migrated database, its log signing checkpoints, and, once it
    has a system id, an outbox towards the platform."""
    engine = _migrated(settings, "trace")
    outbox = _outbox(settings, engine, trace_schema.exchange)
    return TraceService(engine, ledger_service(settings, "trace", engine, TRACE_LEDGER), outbox)


def platform_sender(settings: Settings, clients: Clients | None = None) -> Send:
    """Deliver batches of envelopes to the platform, over mutual TLS with this system's
    certificate unless ``clients`` says otherwise."""
    if not settings.platform_base_url:
        raise ValueError("the exchange needs platform_base_url")
    base = settings.platform_base_url

    def route(receiver: str) -> tuple[str, str]:
        if receiver != PLATFORM:
            raise ValueError(f"no route to {receiver}")
        return base, batch_path("platform")

    return batch_sender(clients or mtls_clients(_mtls_context(settings)), route)


async def _deliver(outbox: Outbox, send: Send, every: float) -> None:
    """Keep delivering the outbox; a receiver that is down is retried with backoff."""
    while True:
        try:
            await run_in_threadpool(outbox.deliver_due, send)
        except Exception:  # a broken round must not stop delivery for good
            logger.exception("delivery round failed")
        await asyncio.sleep(every)


def _outbox(settings: Settings, engine: Engine, tables: ExchangeTables) -> Outbox | None:
    """A node's outbox once it has a system id, signing with its envelope key."""
    if not settings.system_id:
        return None
    signer = Ed25519Signer(ed25519_key_at(settings.exchange_signing_key))
    policy = RetryPolicy(
        base_seconds=settings.exchange_retry_base_seconds,
        max_attempts=settings.exchange_max_attempts,
    )
    return Outbox(engine, ExchangeStore(tables), signer, settings.system_id, policy)


def platform_service(settings: Settings) -> PlatformService:
    engine = _migrated(settings, "platform")
    return PlatformService(engine, _outbox(settings, engine, platform_schema.exchange))


def immunization_service(settings: Settings) -> ImmunizationService:
    engine = _migrated(settings, "immunization")
    key = settings.platform_exchange_key
    verifier = Ed25519Verifier.from_text(key) if key else None
    return ImmunizationService(engine, settings.platform_system_id, verifier)


def _mtls_context(settings: Settings) -> ssl.SSLContext:
    if not (settings.exchange_cert and settings.exchange_key_file and settings.exchange_ca):
        raise ValueError("the exchange needs exchange_cert, exchange_key_file and exchange_ca")
    context = ssl.create_default_context(cafile=str(settings.exchange_ca))
    context.load_cert_chain(str(settings.exchange_cert), str(settings.exchange_key_file))
    return context


def system_sender(settings: Settings, hub: PlatformService, clients: Clients | None = None) -> Send:
    """The platform delivering to connected systems at their registered endpoints."""

    def route(receiver: str) -> tuple[str, str]:
        with read_tx(hub.engine) as conn:
            found = platform_registry.find_system(conn, receiver)
        if found is None:
            raise ValueError(f"no system {receiver} registered")
        return found["data"]["endpoint"], batch_path(found["data"]["role"])

    return batch_sender(clients or mtls_clients(_mtls_context(settings)), route)


def _trace_ledger(request: Request) -> LedgerService:
    svc: TraceService = request.app.state.trace
    assert svc.ledger is not None
    return svc.ledger


async def _keep_the_log(ledger: LedgerService, settings: Settings) -> None:
    """Sign pending events within ``ledger_checkpoint_seconds`` even in a quiet spell, and
    witness the peers this node watches."""
    peers = [_peer(text) for text in settings.ledger_peers]
    while True:
        await asyncio.sleep(settings.ledger_checkpoint_seconds)
        await run_in_threadpool(ledger.sign_if_due)
        for base_url, key in peers:
            await run_in_threadpool(_witness_once, ledger, base_url, key)


def _peer(text: str) -> tuple[str, VerifierKey]:
    base_url, _, key = text.strip().partition(" ")
    return base_url, VerifierKey.parse(key)


def _witness_once(ledger: LedgerService, base_url: str, key: VerifierKey) -> None:
    role = key.name.rsplit("/", 1)[-1]
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            ledger.witness(key, HttpPeerLog(client, f"/{role}/v1/ledger"))
    except httpx.HTTPError as exc:  # the peer is down: try again next round
        logger.warning("witnessing %s at %s failed: %s", key.name, base_url, exc)


def build_app(
    settings: Settings,
    *,
    roles: tuple[str, ...] = ROLES,
    trace: TraceService | None = None,
    platform: PlatformService | None = None,
    ask_owner: AskOwner | None = None,
) -> FastAPI:
    """The API of this process's roles; OpenAPI at /docs."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(sorted(unknown))}; built: {', '.join(ROLES)}")
    svc = trace or (trace_service(settings) if "trace" in roles else None)
    hub = platform or (platform_service(settings) if "platform" in roles else None)
    province = immunization_service(settings) if "immunization" in roles else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if svc is not None and svc.ledger is not None:
            tasks.append(asyncio.create_task(_keep_the_log(svc.ledger, settings)))
        if svc is not None and svc.outbox is not None and settings.platform_base_url:
            send = platform_sender(settings)
            tasks.append(
                asyncio.create_task(_deliver(svc.outbox, send, settings.exchange_poll_seconds))
            )
        if hub is not None and hub.outbox is not None and settings.exchange_cert:
            to_provinces = system_sender(settings, hub)
            tasks.append(
                asyncio.create_task(
                    _deliver(hub.outbox, to_provinces, settings.exchange_poll_seconds)
                )
            )
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for engine in (s.engine for s in (svc, hub, province) if s is not None):
            engine.dispose()

    app = FastAPI(
        title="VaxTrace",
        summary="Vaccine information traceability (疫苗信息化追溯体系)",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    problems.install(app)
    if svc is not None:
        app.state.trace = svc
        app.include_router(trace_api.router)
        if svc.ledger is not None:
            app.include_router(ledger_router("/trace/v1/ledger", _trace_ledger))
    if hub is not None:
        app.state.platform = hub
        app.state.ask_owner = ask_owner or owner_asker()
        revoked = CertificateAuthority(settings.pki_dir).revoked
        app.include_router(platform_router(system_identity(revoked)))

    if province is not None:
        app.state.immunization = province
        revoked = CertificateAuthority(settings.pki_dir).revoked
        app.include_router(immunization_router(system_identity(revoked)))

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
