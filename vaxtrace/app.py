"""Build the ASGI application for a set of roles, with the background work each needs:
signing and witnessing its log, delivering its outbox, following the registry.

Background work runs in worker threads of a limiter of its own, never in the pool requests are
served from: in one process it calls other roles, whose sync routes need a thread of that pool
to answer (see :mod:`vaxtrace.web.inprocess`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
import httpx
from fastapi import FastAPI, Request

from vaxtrace.core.datasets.basic_data import VaccineProduct
from vaxtrace.core.registry import RegisteredCodingRule
from vaxtrace.core.stock import next_expiry_run
from vaxtrace.exchange.certificate_client import PlatformCertificates
from vaxtrace.exchange.delivery import Outbox, Send
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.exchange.public_client import AskOwner, OwnerAsker
from vaxtrace.exchange.registry_client import changes_fetcher, publish_products, publish_rules
from vaxtrace.exchange.revocations import fetch_revocations
from vaxtrace.exchange.transport import (
    AsyncClients,
    Clients,
    mtls_async_clients,
    network_async_client,
)
from vaxtrace.ledger.checkpoint import VerifierKey
from vaxtrace.log.api import ledger_router
from vaxtrace.log.keeper import LogKeeper, peers_of, plain_client
from vaxtrace.log.service import LedgerService
from vaxtrace.node import (
    LOCAL_SYSTEMS,
    ROLES,
    exchange_identity,
    immunization_service,
    local_certificate,
    mtls_context,
    network_clients,
    platform_sender,
    platform_service,
    supervision_service,
    system_sender,
    trace_downstream,
    trace_service,
)
from vaxtrace.roles.immunization.api import immunization_router
from vaxtrace.roles.immunization.public_api import public_router
from vaxtrace.roles.immunization.reminders_api import reminders_router
from vaxtrace.roles.immunization.school_entry_api import school_entry_router
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.platform.api import platform_router
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.supervision.api import supervision_router
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.roles.trace.api import trace_router
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.roles.trace.service.publishing import platform_coding_rules, platform_products
from vaxtrace.settings import Settings
from vaxtrace.web import documented, lean, problems
from vaxtrace.web.bodies import BodyGuard
from vaxtrace.web.identity import system_identity
from vaxtrace.web.inprocess import (
    LOCAL_BASE,
    inprocess_async_clients,
    inprocess_clients,
    tls_presenting,
)

logger = logging.getLogger("vaxtrace")


async def _deliver(
    outbox: Outbox, send: Send, every: float, threads: anyio.CapacityLimiter
) -> None:
    """Keep delivering the outbox: every ``every`` seconds, and at once when a message is
    queued; a receiver that is down is retried with backoff."""
    loop = asyncio.get_running_loop()
    queued = asyncio.Event()

    def wake() -> None:
        loop.call_soon_threadsafe(queued.set)

    outbox.on_post = wake
    while True:
        queued.clear()
        try:
            await anyio.to_thread.run_sync(outbox.deliver_due, send, limiter=threads)
        except Exception:  # a broken round must not stop delivery for good
            logger.exception("delivery round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(queued.wait(), timeout=every)


Follow = Callable[[httpx.Client], None]
"""One round of a node keeping in step with the platform, over a client to it."""


async def _keep_in_step(
    follow: Follow, clients: Clients, base: str, settings: Settings, threads: anyio.CapacityLimiter
) -> None:
    """Every ``registry_sync_seconds``, first at start, a connected system follows the
    platform's registry (and a trace system publishes to it)."""
    while True:
        await anyio.to_thread.run_sync(_step_once, follow, clients, base, limiter=threads)
        await asyncio.sleep(settings.registry_sync_seconds)


def _step_once(follow: Follow, clients: Clients, base: str) -> None:
    try:
        with clients(base) as client:
            follow(client)
    except httpx.HTTPError as exc:  # the platform is down or refused: try again next round
        logger.warning("keeping in step with the platform at %s failed: %s", base, exc)
    except Exception:  # a broken round (a locked database, a bad entry) must not stop it for good
        logger.exception("keeping in step with the platform at %s failed", base)


class _TraceFollower:
    """A trace system keeps the platform able to find its codes and knowing its products
    (publishing its coding rules and products whenever they change), and its own basic data
    converging on the platform's registry."""

    def __init__(self, svc: TraceService, base: str) -> None:
        self.svc = svc
        self.base = base
        self.published: tuple[list[RegisteredCodingRule], list[VaccineProduct]] | None = None

    def __call__(self, client: httpx.Client) -> None:
        publication = (
            platform_coding_rules(self.svc.engine),
            platform_products(self.svc.engine),
        )
        if publication != self.published:
            refusals = publish_rules(client, publication[0])
            refusals += publish_products(client, publication[1])
            for refusal in refusals:
                logger.warning("the platform refused %s", refusal)
            # what was refused is offered again next round, until the platform takes it
            self.published = None if refusals else publication
        self.svc.sync_registry(self.base, changes_fetcher(client))


def _follower(node: ImmunizationService | SupervisionService, system_id: str, base: str) -> Follow:
    """A province or supervision system follows the registry as the system it is there."""

    def follow(client: httpx.Client) -> None:
        node.sync_registry(system_id, base, changes_fetcher(client))

    return follow


def _with_revocations(follow: Follow, settings: Settings) -> Follow:
    """A connected system also takes the platform CA's revocation list every round, so that a
    certificate revoked there is refused here too (see vaxtrace.exchange.revocations)."""
    ca_file = settings.exchange_ca

    def and_revocations(client: httpx.Client) -> None:
        follow(client)
        if ca_file is not None:
            fresh = fetch_revocations(client, ca_file, settings.pki_dir)
            if fresh:
                logger.warning("%d certificate(s) revoked by the platform's CA: refused", fresh)

    return and_revocations


def _followers(
    settings: Settings,
    local: bool,
    base: str,
    nodes: dict[str, TraceService | ImmunizationService | SupervisionService | None],
) -> list[tuple[str, Follow]]:
    """Which role follows the registry how (a role without a system id yet does not)."""
    followers: list[tuple[str, Follow]] = []
    for role, node in nodes.items():
        if isinstance(node, TraceService):
            followers.append((role, _TraceFollower(node, base)))
        elif node is not None and (identity := exchange_identity(settings, role, local)):
            followers.append((role, _follower(node, identity[0], base)))
    return followers


def _role_ledger(role: str) -> Callable[[Request], LedgerService]:
    """The route dependency answering ``role``'s log."""

    def pick(request: Request) -> LedgerService:
        ledger: LedgerService | None = getattr(request.app.state, role).ledger
        assert ledger is not None
        return ledger

    return pick


async def _keep_the_log(
    keeper: LogKeeper, settings: Settings, threads: anyio.CapacityLimiter
) -> None:
    """A round of keeping a role's log (see vaxtrace.log.keeper) every
    ``ledger_checkpoint_seconds``."""
    while True:
        await asyncio.sleep(settings.ledger_checkpoint_seconds)
        await anyio.to_thread.run_sync(keeper.round, limiter=threads)


def _keepers(
    settings: Settings,
    logs: dict[str, LedgerService],
    platform: PlatformService | None,
    local: bool,
) -> list[LogKeeper]:
    """Who keeps each role's log, and which other logs it witnesses."""
    client_at = network_clients(settings) if settings.exchange_cert else plain_client
    peers = peers_of(settings.ledger_peers)
    watcher = next((r for r in ("trace", "platform", *logs) if r in logs), "")
    keepers = []
    for role, ledger in logs.items():
        # the peers of the settings are watched by one log of the node (whose cosigning key
        # those peers trust): the trace role's, else the platform's, else the first
        mine = peers if role == watcher else []
        keeper = LogKeeper(ledger, client_at, functools.partial(list, mine))
        if local:
            keeper.local_peers = [peer for other, peer in logs.items() if other != role]
        elif role == "platform" and platform is not None:
            keeper.watched = functools.partial(_registered_logs, platform, mine)
        elif settings.platform_base_url and settings.exchange_cert:
            keeper.witness_log = f"{settings.platform_base_url.rstrip('/')}/platform/v1/ledger"
        keepers.append(keeper)
    return keepers


def _registered_logs(
    platform: PlatformService, peers: list[tuple[str, VerifierKey]]
) -> list[tuple[str, VerifierKey]]:
    """The platform witnesses every system that registered its log's key (and its peers)."""
    registered = [(url, VerifierKey.parse(key)) for url, key in platform.witnessed_logs()]
    return peers + registered


def _expire_once(immunization: ImmunizationService) -> None:
    """One expiry run of the province (过期处理); a failed run is logged, the next one tries
    again."""
    try:
        found = immunization.expire_stock(source="nightly")
    except Exception:
        logger.exception("the expiry run failed")
        return
    if found["batches"]:
        logger.warning(
            "expiry run %s on %s: %d batch(es), %d dose(s) held expired: %s",
            found["run_id"],
            found["run_on"],
            len(found["batches"]),
            found["doses"],
            ", ".join(f"{b['mah_uscc']}/{b['batch_no']}" for b in found["batches"]),
        )


async def _expire_nightly(
    immunization: ImmunizationService, threads: anyio.CapacityLimiter
) -> None:
    """After the run at start, an expiry run every night just after midnight in China."""
    while True:
        now = datetime.now(UTC)
        await asyncio.sleep((next_expiry_run(now) - now).total_seconds())
        await anyio.to_thread.run_sync(_expire_once, immunization, limiter=threads)


def build_app(
    settings: Settings,
    *,
    roles: tuple[str, ...] = ROLES,
    trace: TraceService | None = None,
    platform: PlatformService | None = None,
    ask_owner: AskOwner | None = None,
) -> FastAPI:
    """The API of this process's roles; OpenAPI at /docs.

    All roles in one process (and no ``system_id`` of its own) make a local federation: each
    role that :mod:`vaxtrace.local` onboarded sends through the in-process transport."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(sorted(unknown))}; built: {', '.join(ROLES)}")
    local = set(roles) == set(ROLES) and not settings.system_id
    trace = trace or (trace_service(settings, local=local) if "trace" in roles else None)
    platform = platform or (
        platform_service(settings, local=local) if "platform" in roles else None
    )
    immunization = immunization_service(settings, local=local) if "immunization" in roles else None
    supervision = supervision_service(settings, local=local) if "supervision" in roles else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        work: list[Coroutine[Any, Any, None]] = []
        threads = anyio.CapacityLimiter(1)  # one thread per loop below, none from the requests'
        logs = _logs(trace, platform, immunization, supervision)
        for keeper in _keepers(settings, logs, platform, local):
            work.append(_keep_the_log(keeper, settings, threads))
        clients = _local_clients(app, settings) if local else _network_clients(settings)
        base = settings.platform_base_url or LOCAL_BASE
        for outbox, send in _senders(base, trace, platform, immunization, supervision, clients):
            work.append(_deliver(outbox, send, settings.exchange_poll_seconds, threads))
        nodes = {"trace": trace, "immunization": immunization, "supervision": supervision}
        for role, follow in _followers(settings, local, base, nodes):
            if not local:
                follow = _with_revocations(follow, settings)
            to_platform = clients(role)
            if to_platform is not None and role == "trace" and local:
                # publish first: the other local nodes' first round then copies its products
                await anyio.to_thread.run_sync(_step_once, follow, to_platform, base)
            if to_platform is not None:
                work.append(_keep_in_step(follow, to_platform, base, settings, threads))
        if immunization is not None:  # expiry is judged before the first request is served
            await anyio.to_thread.run_sync(_expire_once, immunization, limiter=threads)
            work.append(_expire_nightly(immunization, threads))
        threads.total_tokens = max(1, len(work))
        tasks = [asyncio.create_task(w) for w in work]
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if immunization is not None:
            immunization.close()
        for name in ("ask_owner", "certificates"):  # the platform's kept connections
            asker = getattr(app.state, name, None)
            if isinstance(asker, OwnerAsker):
                await asker.aclose()
        for engine in (
            s.engine for s in (trace, platform, immunization, supervision) if s is not None
        ):
            engine.dispose()

    app = lean.LeanApp(
        title="VaxTrace",
        summary="Vaccine information traceability (疫苗信息化追溯体系)",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from packaged assets: vaxtrace.web.documented
        redoc_url=None,
    )
    app.state.settings = settings
    problems.install(app)
    app.add_middleware(BodyGuard, owner=app, settings=settings)
    revoked = CertificateAuthority(settings.pki_dir).revoked
    if trace is not None:
        app.state.trace = trace
        app.state.trace_downstream = trace_downstream(settings, trace, local=local)
        app.include_router(trace_router(system_identity(revoked)))
    if platform is not None:
        app.state.platform = platform
        app.state.ask_owner = ask_owner or OwnerAsker(
            _async_clients(app, settings, local, "platform"),
            timeout=settings.public_query_timeout_seconds,
            at_once=settings.public_query_concurrency,
        )
        app.state.certificates = OwnerAsker(  # asks of its own: public queries never wait
            _async_clients(app, settings, local, "platform"),
            timeout=settings.public_query_timeout_seconds,
            at_once=settings.public_query_concurrency,
        )
        app.include_router(platform_router(system_identity(revoked)))
    if immunization is not None:
        app.state.immunization = immunization
        app.state.platform_certificates = PlatformCertificates(
            _async_clients(app, settings, local, "immunization"),
            settings.platform_base_url or LOCAL_BASE,
            settings.public_query_timeout_seconds,
        )
        app.include_router(reminders_router())  # first: /children/due before /{child_id}
        app.include_router(immunization_router(system_identity(revoked)))
        app.include_router(public_router())
        app.include_router(school_entry_router())
    if supervision is not None:
        app.state.supervision = supervision
        app.include_router(supervision_router(system_identity(revoked)))
    logs = _logs(trace, platform, immunization, supervision)
    app.state.logs = logs
    for role in logs:
        app.include_router(ledger_router(f"/{role}/v1/ledger", _role_ledger(role)))
    if local:  # every role's log witnesses the others': each trusts the others' cosignatures
        for ledger in logs.values():
            for other in logs.values():
                if other is not ledger:
                    ledger.trust_witness(other.cosigner())

    outboxes = {
        role: node.outbox
        for role, node in (("trace", trace), ("platform", platform), ("immunization", immunization))
        if node is not None and node.outbox is not None
    }

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, Any]:
        """Alive; and per role that sends, how its exchange stands: messages waiting
        (``pending``), the oldest one's age in seconds, dead letters (given up on or refused)
        per receiver."""
        return {
            "status": "ok",
            "exchange": {role: outbox.health() for role, outbox in outboxes.items()},
        }

    documented.install(app, settings)
    return app


def _logs(
    trace: TraceService | None,
    platform: PlatformService | None,
    immunization: ImmunizationService | None,
    supervision: SupervisionService | None,
) -> dict[str, LedgerService]:
    """The log of each role this process runs."""
    services = {
        "trace": trace,
        "platform": platform,
        "immunization": immunization,
        "supervision": supervision,
    }
    return {
        role: svc.ledger
        for role, svc in services.items()
        if svc is not None and svc.ledger is not None
    }


ClientsOf = Callable[[str], Clients | None]
"""A role → how it reaches other systems (None: it does not take part in the exchange)."""


def _local_clients(app: FastAPI, settings: Settings) -> ClientsOf:
    """Each onboarded local system reaches the others in-process, presenting its certificate."""

    def of(role: str) -> Clients | None:
        cert = local_certificate(settings, LOCAL_SYSTEMS[role])
        return inprocess_clients(app, tls_presenting(cert)) if cert.exists() else None

    return of


def _async_clients(app: FastAPI, settings: Settings, local: bool, role: str) -> AsyncClients:
    """How ``role`` asks another system on the event loop (the platform a trace system for a
    code's public view, the province the platform for a certificate): in-process as the
    local system of that role, else over the network (mutual TLS once this system has its
    certificate)."""
    if local:
        cert = local_certificate(settings, LOCAL_SYSTEMS[role])
        if cert.exists():
            timeout = settings.public_query_timeout_seconds
            return inprocess_async_clients(app, tls_presenting(cert), timeout)
    elif settings.exchange_cert:
        return mtls_async_clients(mtls_context(settings), settings.public_query_timeout_seconds)
    return network_async_client


def _network_clients(settings: Settings) -> ClientsOf:
    """A node of its own reaches others over mutual TLS, once it has its certificate (one
    for every role it runs)."""
    clients = network_clients(settings) if settings.exchange_cert else None

    def of(role: str) -> Clients | None:
        if role != "platform" and not settings.platform_base_url:
            return None
        return clients

    return of


def _senders(
    base: str,
    trace: TraceService | None,
    platform: PlatformService | None,
    immunization: ImmunizationService | None,
    supervision: SupervisionService | None,
    clients_of: ClientsOf,
) -> list[tuple[Outbox, Send]]:
    """Which outbox is delivered how: trace, immunization and supervision systems to the
    platform at ``base``, the platform to the systems it routes to."""
    senders: list[tuple[Outbox, Send]] = []
    outboxes = {
        "trace": trace.outbox if trace else None,
        "immunization": immunization.outbox if immunization else None,
        "platform": platform.outbox if platform else None,
        "supervision": supervision.outbox if supervision else None,
    }
    for role, outbox in outboxes.items():
        clients = clients_of(role)
        if outbox is None or clients is None:
            continue
        if role == "platform":
            assert platform is not None
            senders.append((outbox, system_sender(platform, clients)))
        else:
            senders.append((outbox, platform_sender(base, clients)))
    return senders
