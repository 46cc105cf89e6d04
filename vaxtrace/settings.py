"""All configuration in one place: environment variables ``VAXTRACE_*`` or a TOML file."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_data_dir() -> Path:
    return Path(user_data_dir("vaxtrace", appauthor=False))


class Settings(BaseSettings):
    """Settings of one VaxTrace process (any set of roles).

    Sources, strongest first: constructor arguments, ``VAXTRACE_*`` environment variables, the
    TOML file named by ``VAXTRACE_CONFIG`` (default ``vaxtrace.toml`` in the working directory,
    if present), then the defaults here.
    """

    model_config = SettingsConfigDict(env_prefix="VAXTRACE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="where databases live")
    trace_database_url: str | None = Field(
        default=None, description="trace role database; default: SQLite file in data_dir"
    )
    platform_database_url: str | None = Field(
        default=None, description="platform role database; default: SQLite file in data_dir"
    )
    immunization_database_url: str | None = Field(
        default=None, description="immunization role database; default: SQLite in data_dir"
    )
    supervision_database_url: str | None = Field(
        default=None, description="supervision role database; default: SQLite in data_dir"
    )
    platform_system_id: str = Field(default="platform", description="the platform's system id")
    platform_exchange_key: str | None = Field(
        default=None, description="base64 Ed25519 key the platform signs forwarded envelopes with"
    )
    sqlite_busy_timeout_ms: int = 10_000
    clock_skew_seconds: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="how far a business time may lie ahead of this node's clock (clock skew "
        "between systems) before it is refused as in the future",
    )
    lot_release_file_max_bytes: int = 20 * 1024 * 1024
    node_name: str = Field(
        default="local", pattern=r"^[A-Za-z0-9._\-]+$", description="names this node's logs"
    )
    ledger_checkpoint_seconds: float = Field(
        default=10.0, gt=0, description="sign at most this often"
    )
    ledger_checkpoint_events: int = Field(
        default=1000, gt=0, description="…or after this many events"
    )
    ledger_witnesses: list[str] = Field(
        default_factory=list, description="verifier keys of witnesses whose cosignatures we keep"
    )
    ledger_key_dir: Path | None = Field(
        default=None,
        description="where each role's log signing key is kept (<role>.key, mode 0600); "
        "default: data_dir/ledger on the local demo; on a node of a federation (system_id "
        "set) DATA_DIR-keys/ledger beside the data directory, never inside it",
    )
    ledger_peers: list[str] = Field(
        default_factory=list,
        description="logs this node witnesses, each 'BASE_URL VERIFIER_KEY' (checked every "
        "ledger_checkpoint_seconds)",
    )
    system_id: str | None = Field(
        default=None, description="this node's platform-assigned system id; enables the exchange"
    )
    platform_base_url: str | None = Field(default=None, description="the platform, https://…")
    exchange_cert: Path | None = Field(default=None, description="this system's certificate")
    exchange_key_file: Path | None = Field(default=None, description="…and its private key")
    exchange_ca: Path | None = Field(default=None, description="the platform CA certificate")
    exchange_poll_seconds: float = Field(
        default=0.1, gt=0, description="how often the outbox is checked for messages due"
    )
    exchange_retry_base_seconds: float = Field(
        default=1.0, gt=0, description="first retry delay; doubled per failure up to 5 min"
    )
    exchange_max_attempts: int = Field(
        default=8, ge=1, description="failures before a message becomes a dead letter"
    )
    vaccination_undo_hours: float = Field(
        default=24.0, gt=0, description="how long whoever recorded a vaccination may undo it"
    )
    validation_late_report_hours: float = Field(
        default=24.0,
        gt=0,
        description="及时性: how long after it happened a step may reach the platform before "
        "the supervision system's late_report rule finds it",
    )
    validation_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how often a supervision node validates what arrived since its last run",
    )
    registry_sync_seconds: float = Field(
        default=30.0, gt=0, description="how often a connected system pulls the registry"
    )
    shutdown_grace_seconds: int = Field(
        default=5,
        gt=0,
        description="on stop, how long requests in flight and connections get to finish: a "
        "peer that keeps a TLS connection idle (the platform's kept connections to trace "
        "systems) would otherwise hold a stop for 30 s",
    )
    access_log: bool = Field(
        default=False,
        description="log a line per request (uvicorn's access log): about 6 % of a node's CPU "
        "under load; what decides anything is in the node's log already",
    )
    public_query_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="how long a public query waits for its turn and the owning trace system "
        "before it answers 503",
    )
    public_query_concurrency: int = Field(
        default=32, ge=1, description="public queries asking trace systems at once; more wait"
    )
    near_expiry_days: int = Field(
        default=30, ge=0, le=3650, description="近效期: days ahead the near-expiry list looks"
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server reminders are mailed through (none: no mail)"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="vaxtrace@localhost", description="the mails' sender")
    smtp_recipient_domain: str | None = Field(
        default=None, description="a guardian's phone is mailed at PHONE@this (email-to-SMS)"
    )
    notify_webhook_url: str | None = Field(
        default=None, description="reminders POSTed as JSON here too (an SMS gateway)"
    )
    notify_timeout_seconds: float = Field(default=10.0, gt=0, description="per message sent")
    alert_escalate_after_hours: dict[str, float] = Field(
        default_factory=lambda: {"severe": 4.0, "warning": 24.0},
        description="how long an open supervision alert of each severity (notice, warning, "
        "severe) waits at its tier before it climbs one (county → city → province → "
        "national); a severity not named never climbs",
    )
    alert_tick_seconds: float = Field(
        default=60.0, gt=0, description="how often a supervision node escalates and notifies"
    )
    alert_notify_max_attempts: int = Field(
        default=5, ge=1, description="failed sends of one alert notice before it is left"
    )
    public_base_url: str = "http://127.0.0.1:8000"
    gs1_resolver_base: str = "https://id.vaxtrace.example"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("VAXTRACE_CONFIG", "vaxtrace.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))

    @property
    def platform_url(self) -> str:
        return self.database_url("platform")

    @property
    def exchange_signing_key(self) -> Path:
        return self.data_dir / "exchange" / "signing.key"

    @property
    def in_federation(self) -> bool:
        """A production node: one the platform assigned a system id, as opposed to the local
        demo (every role in one process, embedded databases, keys beside the data)."""
        return self.system_id is not None

    def ledger_key_file(self, role: str) -> Path:
        """The key a role's log signs checkpoints with (see ``ledger_key_dir``)."""
        if self.ledger_key_dir is not None:
            folder = self.ledger_key_dir
        elif self.in_federation:
            folder = self.data_dir.parent / f"{self.data_dir.name}-keys" / "ledger"
        else:
            folder = self.data_dir / "ledger"
        return folder / f"{role}.key"

    @property
    def immunization_url(self) -> str:
        return self.database_url("immunization")

    def database_url(self, role: str) -> str:
        """A role's database: ``<role>_database_url`` if set, else a SQLite file in data_dir."""
        explicit: str | None = getattr(self, f"{role}_database_url")
        return explicit or f"sqlite:///{self.data_dir / f'{role}.sqlite'}"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def trace_url(self) -> str:
        return self.database_url("trace")

    # --- request bodies and the interactive docs (vaxtrace.web.bodies, vaxtrace.web.documented)
    body_max_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="the largest request body a route takes (413 beyond), unless it takes bulk "
        "data or ``body_max_bytes_per_route`` names it",
    )
    bulk_body_max_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1024,
        description="…of a route that takes bulk data: a list of thousands (codes, readings, "
        "shipping notes, envelopes), a free-form document, a form with a file (at least the "
        "lot-release file limit and a form)",
    )
    body_max_bytes_per_route: dict[str, int] = Field(
        default_factory=dict,
        description="a route's own body limit, by method and path as in OpenAPI, e.g. "
        "{'POST /trace/v1/lot-releases': 50000000}",
    )
    docs_assets_dir: Path | None = Field(
        default=None,
        description="the npm packages swagger-ui-dist and redoc that /docs and /redoc load "
        "(a node_modules folder); default: node_modules of the checkout, as scripts/setup.sh "
        "installs it",
    )
