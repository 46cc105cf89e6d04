"""Assembling a node from the settings: each role's service over its migrated database, its
signed log, its outbox, and the senders that deliver the outbox.

A node of one role (``serve --role trace``) sends as the system id the platform gave it
(``VAXTRACE_SYSTEM_ID``) over mutual TLS. ``--role all`` runs every role in one process as
*local systems* (:data:`LOCAL_SYSTEMS`), onboarded by :mod:`vaxtrace.local`, that talk through
the in-process transport with the same API and certificates.
"""

from __future__ import annotations

import logging
import shutil
import ssl
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import PLATFORM, Outbox, RetryPolicy, Send
from vaxtrace.exchange.envelope import Ed25519Signer, Ed25519Verifier, Verifier
from vaxtrace.exchange.transport import Clients, batch_path, batch_sender, mtls_clients
from vaxtrace.ledger.checkpoint import Checkpoint, Note, SigningKey, VerifierKey, ed25519_key_at
from vaxtrace.log.service import CheckpointPolicy, LedgerService
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver
from vaxtrace.settings import Settings
from vaxtrace.store.basic_data import RegistryCopy
from vaxtrace.store.engine import make_engine, read_tx
from vaxtrace.store.exchange import ExchangeStore, ExchangeTables
from vaxtrace.store.immunization import schema as immunization_schema
from vaxtrace.store.journal import Journal
from vaxtrace.store.ledger import Ledger
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.platform import registry as platform_registry
from vaxtrace.store.platform import schema as platform_schema
from vaxtrace.store.supervision import schema as supervision_schema
from vaxtrace.store.trace import schema as trace_schema
from vaxtrace.store.trace.documents import TRACE_LEDGER

logger = logging.getLogger("vaxtrace")

ROLES = ("trace", "platform", "immunization", "supervision")
"""The roles built so far; ``--role all`` runs every one of them."""

LOCAL_SYSTEMS = {
    "trace": "local-trace",
    "platform": "local-platform",
    "immunization": "local-province",
    "supervision": "local-supervision",
}
"""The system id of each role when all run in one process: ids of their own, so a data
directory that later joins a real federation does not mistake its platform for this one."""


def log_origin(settings: Settings, role: str) -> str:
    """The name a role's log signs under (no spaces, stable for the life of the log)."""
    return f"vaxtrace/{settings.node_name}/{role}"


def ledger_key_file(settings: Settings, role: str) -> Path:
    """Where a role's log key is. On a node of a federation, never in the data directory:
    whoever can rewrite the databases must not also be able to sign for them. A key the
    node kept there before (a demo directory that joined a federation) is moved out."""
    path = settings.ledger_key_file(role)
    if not settings.in_federation:
        return path
    data_dir = settings.data_dir.resolve()
    if path.resolve().is_relative_to(data_dir):
        raise ValueError(
            f"the {role} log's signing key {path} is inside the data directory {data_dir}; "
            "set VAXTRACE_LEDGER_KEY_DIR to a directory outside it"
        )
    earlier = settings.data_dir / "ledger" / f"{role}.key"
    if earlier.exists():
        if path.exists():
            raise ValueError(
                f"two signing keys for the {role} log, {path} and {earlier} in the data "
                "directory: remove the one this log does not sign with"
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.move(earlier, path)
        logger.warning("moved the %s log's signing key out of the data directory to %s", role, path)
    return path


def kept_origin(settings: Settings, role: str, engine: Engine, ledger: Ledger) -> str:
    """The name a role's log signs under: the one its checkpoints already carry (a log keeps
    its name for life, whatever ``node_name`` says later), else :func:`log_origin`."""
    configured = log_origin(settings, role)
    with read_tx(engine) as conn:
        latest = ledger.latest_checkpoint(conn)
    if latest is None:
        return configured
    origin = Checkpoint.parse_body(Note.parse(str(latest["note"])).body).origin
    if origin != configured:
        logger.warning(
            "the %s log keeps its name %s; VAXTRACE_NODE_NAME names new logs only", role, origin
        )
    return origin


def ledger_service(settings: Settings, role: str, engine: Engine, ledger: Ledger) -> LedgerService:
    origin = kept_origin(settings, role, engine, ledger)
    key = SigningKey.load_or_create(origin, ledger_key_file(settings, role))
    return LedgerService(
        engine,
        ledger,
        key,
        CheckpointPolicy(settings.ledger_checkpoint_seconds, settings.ledger_checkpoint_events),
        [VerifierKey.parse(text) for text in settings.ledger_witnesses],
    )


JOURNALS: dict[str, Journal] = {
    "platform": platform_schema.journal,
    "immunization": immunization_schema.journal,
    "supervision": supervision_schema.journal,
}
"""The roles whose log is over a journal of their decisions (the trace role's is over its
events)."""

LEDGERS: dict[str, Ledger] = {
    "trace": TRACE_LEDGER,
    **{role: journal.ledger for role, journal in JOURNALS.items()},
}
"""Each role's log: over the trace role's events, over the other roles' journals."""


def role_ledger(settings: Settings, role: str, engine: Engine | None = None) -> LedgerService:
    """A role's log as a service, over its migrated database (for operators' commands)."""
    return ledger_service(settings, role, engine or migrated(settings, role), LEDGERS[role])


def migrated(settings: Settings, role: str) -> Engine:
    """A role's database engine, migrated to the current schema."""
    engine = make_engine(
        settings.database_url(role), busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    upgrade(engine, role)
    return engine


# --- who a role sends as -----------------------------------------------------------------


def local_certificate(settings: Settings, system_id: str) -> Path:
    """Where a local system's client certificate lives (``system_id.pem`` and ``.key``)."""
    return settings.pki_dir / "local" / f"{system_id}.pem"


def local_signing_key(settings: Settings, system_id: str) -> Path:
    return settings.data_dir / "exchange" / f"{system_id}.key"


def exchange_identity(settings: Settings, role: str, local: bool) -> tuple[str, Path] | None:
    """The system id a role's outbox sends as and its envelope key; None without one (a
    local system exists once :mod:`vaxtrace.local` has issued its certificate)."""
    if local:
        system_id = LOCAL_SYSTEMS[role]
        if not local_certificate(settings, system_id).exists():
            return None
        return system_id, local_signing_key(settings, system_id)
    if settings.system_id:
        return settings.system_id, settings.exchange_signing_key
    return None


def _outbox(
    settings: Settings, engine: Engine, tables: ExchangeTables, role: str, local: bool
) -> Outbox | None:
    identity = exchange_identity(settings, role, local)
    if identity is None:
        return None
    system_id, key_file = identity
    policy = RetryPolicy(
        base_seconds=settings.exchange_retry_base_seconds,
        max_attempts=settings.exchange_max_attempts,
    )
    signer = Ed25519Signer(ed25519_key_at(key_file))
    journal = JOURNALS.get(role)
    return Outbox(engine, ExchangeStore(tables, journal), signer, system_id, policy)


# --- the services ---------------------------------------------------------------------------


def trace_service(settings: Settings, *, local: bool = False) -> TraceService:
    """The trace role over its migrated database, its log signing checkpoints, and, once it
    is a connected system, an outbox towards the platform."""
    engine = migrated(settings, "trace")
    outbox = _outbox(settings, engine, trace_schema.exchange, "trace", local)
    ledger = role_ledger(settings, "trace", engine)
    return TraceService(engine, ledger, outbox, Clock.with_skew(settings.clock_skew_seconds))


def platform_service(settings: Settings, *, local: bool = False) -> PlatformService:
    engine = migrated(settings, "platform")
    return PlatformService(
        engine,
        _outbox(settings, engine, platform_schema.exchange, "platform", local),
        ledger=role_ledger(settings, "platform", engine),
    )


def platform_key(settings: Settings, local: bool) -> tuple[str, Verifier | None]:
    """The platform's system id and envelope key, which everything forwarded is signed with."""
    if local:
        platform_id = LOCAL_SYSTEMS["platform"]
        key_file = local_signing_key(settings, platform_id)
        if not key_file.exists():
            return platform_id, None
        return platform_id, Ed25519Signer(ed25519_key_at(key_file)).verifier()
    key = settings.platform_exchange_key
    return settings.platform_system_id, Ed25519Verifier.from_text(key) if key else None


def trace_downstream(settings: Settings, trace: TraceService, *, local: bool) -> DownstreamReceiver:
    """Where the trace role takes what provinces report about its codes."""
    return DownstreamReceiver(trace.engine, *platform_key(settings, local), trace.clock)


def immunization_service(settings: Settings, *, local: bool = False) -> ImmunizationService:
    engine = migrated(settings, "immunization")
    outbox = _outbox(settings, engine, immunization_schema.exchange, "immunization", local)
    return ImmunizationService(
        engine,
        *platform_key(settings, local),
        outbox=outbox,
        ledger=role_ledger(settings, "immunization", engine),
        undo_window=timedelta(hours=settings.vaccination_undo_hours),
        clock=Clock.with_skew(settings.clock_skew_seconds),
    )


def supervision_service(settings: Settings, *, local: bool = False) -> SupervisionService:
    """The supervision role over its migrated database, taking what the platform copies."""
    engine = migrated(settings, "supervision")
    return SupervisionService(
        engine,
        *platform_key(settings, local),
        ledger=role_ledger(settings, "supervision", engine),
        outbox=_outbox(settings, engine, supervision_schema.exchange, "supervision", local),
    )


OUTBOXES: dict[str, ExchangeTables] = {
    "trace": trace_schema.exchange,
    "platform": platform_schema.exchange,
    "immunization": immunization_schema.exchange,
    "supervision": supervision_schema.exchange,
}
"""The roles that send through an outbox, and its tables."""


def outbox_of(settings: Settings, role: str) -> Outbox | None:
    """A role's outbox as this data directory holds it, for operators' commands: sending as
    the system id of the settings, else (no system id: ``--role all``, the demo) as the local
    system :mod:`vaxtrace.local` onboarded; None when it sends as nobody."""
    local = not settings.system_id
    if exchange_identity(settings, role, local) is None:
        return None
    return _outbox(settings, migrated(settings, role), OUTBOXES[role], role, local)


def roles_here(settings: Settings) -> tuple[str, ...]:
    """The roles this data directory has a database of (a URL configured, or the SQLite
    file), in :data:`ROLES` order."""
    return tuple(
        role
        for role in ROLES
        if getattr(settings, f"{role}_database_url")
        or (settings.data_dir / f"{role}.sqlite").exists()
    )


REGISTRY_COPIES: dict[str, RegistryCopy] = {
    "trace": trace_schema.basic_data,
    "immunization": immunization_schema.basic_data,
    "supervision": supervision_schema.basic_data,
}
"""Where each role that follows the platform's registry keeps its copy."""

SERVICES: dict[str, Callable[[Settings], Any]] = {
    "trace": trace_service,
    "platform": platform_service,
    "immunization": immunization_service,
    "supervision": supervision_service,
}
"""Each role's service over its migrated database, as a node of its own builds it."""


# --- senders ------------------------------------------------------------------------------


def mtls_context(settings: Settings) -> ssl.SSLContext:
    if not (settings.exchange_cert and settings.exchange_key_file and settings.exchange_ca):
        raise ValueError("the exchange needs exchange_cert, exchange_key_file and exchange_ca")
    context = ssl.create_default_context(cafile=str(settings.exchange_ca))
    context.load_cert_chain(str(settings.exchange_cert), str(settings.exchange_key_file))
    return context


def platform_sender(base_url: str, clients: Clients) -> Send:
    """Deliver batches of envelopes to the platform at ``base_url``."""

    def route(receiver: str) -> tuple[str, str]:
        if receiver != PLATFORM:
            raise ValueError(f"no route to {receiver}")
        return base_url, batch_path("platform")

    return batch_sender(clients, route)


def system_sender(hub: PlatformService, clients: Clients) -> Send:
    """The platform delivering to connected systems at their registered endpoints."""

    def route(receiver: str) -> tuple[str, str]:
        with read_tx(hub.engine) as conn:
            found = platform_registry.find_system(conn, receiver)
        if found is None:
            raise ValueError(f"no system {receiver} registered")
        return found["data"]["endpoint"], batch_path(found["data"]["role"])

    return batch_sender(clients, route)


def network_clients(settings: Settings) -> Clients:
    """Mutual TLS with this system's certificate, trusting only the platform CA."""
    return mtls_clients(mtls_context(settings))
