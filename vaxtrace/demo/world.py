"""The demo's world: its cast of organisations, and the synthetic province the trace system
makes and ships, onboarded on the platform; and wiping an earlier demo's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from vaxtrace import local
from vaxtrace.app import build_app
from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.reasons import DoseReason
from vaxtrace.node import ROLES
from vaxtrace.settings import Settings
from vaxtrace.sim import catalogue
from vaxtrace.sim.province import Province, build_province, sample_codes


@dataclass
class Demo:
    settings: Settings
    app: FastAPI
    province: Province
    samples: list[str]
    staff: dict[str, str] = field(default_factory=dict)
    """API tokens of the province's CDC and vaccination sites."""
    failures: list[str] = field(default_factory=list)
    exchanged: dict[str, int] = field(default_factory=dict)
    vaccinated: str | None = None
    """A dose the demo received, distributed and used in the province."""
    gate: dict[str, str] = field(default_factory=dict)
    """The site and a dose of each kind the dose gate must tell apart (demo.json samples)."""
    certificate: dict[str, str] = field(default_factory=dict)
    """The lot release certificate the CDC looked at: its path and SHA-256."""
    children: list[dict[str, str]] = field(default_factory=list)
    """The children the sites registered: ``child_id``, ``name`` and managing ``site``."""
    children_doses: int = 0
    """Doses the first site gave the children along the schedule."""
    children_deliveries: int = 0
    """Deliveries the CDC received and supplied a case of to the first site for them."""
    school: dict[str, Any] = field(default_factory=dict)
    """The school-entry check of the sample roster: ``roster`` (its path), ``check_id``,
    ``counts`` by status, the ``site`` that checked it."""
    validation: dict[str, Any] = field(default_factory=dict)
    anomalies: dict[str, Any] = field(default_factory=dict)
    """With ``--anomalies``: the cases planted and the detection table of the rules."""
    """The supervision system's full validation run of the chain: its figures by rule."""
    guardian: dict[str, str] = field(default_factory=dict)
    """The guardian account the first site opened: ``phone``, one-time ``initial_password``,
    their child's ``child_id`` and ``name``, the ``site``."""

    @property
    def token(self) -> str:
        return next(iter(self.province.tokens.values()))

    def token_of(self, code: str) -> str:
        """The API token of the MAH whose code it is: the one reader of its full record."""
        return self.province.tokens[self.app.state.trace.mah_of(code)]


def cast() -> local.LocalCast:
    return local.LocalCast(
        catalogue.platform_operator(),
        tuple(m.organisation for m in catalogue.mahs(3)),
        (catalogue.provincial_cdc(), *catalogue.vaccination_sites()),
        (catalogue.provincial_regulator(),),
    )


def wipe(settings: Settings) -> None:
    """Remove an earlier demo's databases, certificates and keys (a new demo is a new log: a
    new key, so no witness mistakes it for a fork)."""
    for role in ROLES:
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings.data_dir / f"{role}.sqlite") + suffix).unlink(missing_ok=True)
    folders = (settings.data_dir / "ledger", settings.data_dir / "exchange", settings.pki_dir)
    for folder in folders:
        for item in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
            item.rmdir() if item.is_dir() else item.unlink()


GATE_KINDS = ("excursion", "good", DoseReason.LOCKED, DoseReason.RECALLED, DoseReason.EXPIRED)
"""The doses the gate must tell apart, each from a batch of its own."""


def build(
    settings: Settings,
    units: int,
    seed: int,
    progress: Callable[[int], None],
    *,
    anomalies: bool = False,
) -> Demo:
    """Onboard the local systems, make and ship the province's vaccines (with ``anomalies``,
    register the units the planted anomalies are done by, too)."""
    who = cast()
    local.issue_certificates(settings, who)
    app = build_app(settings)
    trace = app.state.trace
    yesterday = local_date(datetime.now(UTC)) - timedelta(days=1)
    province = build_province(
        trace,
        units=units,
        seed=seed,
        progress=progress,
        gate_lines=len(GATE_KINDS) - 1,
        expired_on=yesterday,
    )
    local.register(settings, app.state.platform, who)
    if anomalies:
        from vaxtrace.demo.anomalies_day import register_units

        known = {o.uscc for o in (*who.mahs, *who.province, *who.regulators)}
        register_units(app.state.platform, known)
    return Demo(settings, app, province, sample_codes(trace))
