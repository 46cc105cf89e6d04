"""The local federation of ``--role all``: one trace system, the platform, one provincial
immunization system and one supervision system in one process, onboarded as a real deployment
would be (certificates from the platform CA, envelope keys and organisations registered,
coding rules published), so they talk through the exchange API in-process (see
:mod:`vaxtrace.node`)."""

from __future__ import annotations

from dataclasses import dataclass

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.registry import (
    ConnectedSystem,
    RegisteredOrganisation,
    SystemRole,
)
from vaxtrace.exchange.envelope import Ed25519Signer
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.ledger.checkpoint import ed25519_key_at
from vaxtrace.node import LOCAL_SYSTEMS, local_certificate, local_signing_key
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.settings import Settings
from vaxtrace.web.inprocess import LOCAL_BASE


@dataclass(frozen=True)
class LocalCast:
    """Who takes part: the platform's operator, the MAHs whose codes the trace system holds
    (the first runs it), the CDCs and vaccination sites of the province (the first, the
    provincial CDC, runs its immunization system) and the regulators whose staff use the
    supervision system (the first runs it)."""

    operator: Organisation
    mahs: tuple[Organisation, ...]
    province: tuple[Organisation, ...]
    regulators: tuple[Organisation, ...]

    def operator_of(self, role: str) -> Organisation:
        runs = {"trace": self.mahs[0], "platform": self.operator, "supervision": self.regulators[0]}
        return runs.get(role, self.province[0])


def issue_certificates(settings: Settings, cast: LocalCast) -> None:
    """The platform CA (made once) issues each local system its certificate; each system
    makes its envelope key. Run before the services are built: a role sends only once it
    has its certificate."""
    ca = CertificateAuthority(settings.pki_dir)
    if not ca.exists:
        ca.create()
    for role, system_id in LOCAL_SYSTEMS.items():
        cert = local_certificate(settings, system_id)
        if not cert.exists():
            ca.issue_system(system_id, cast.operator_of(role).uscc, cert.parent)
        ed25519_key_at(local_signing_key(settings, system_id))


def register(settings: Settings, hub: PlatformService, cast: LocalCast) -> None:
    """Register the cast and the local systems at the platform (the trace system publishes
    its coding rules itself once it runs, as any trace node does)."""
    for org in (cast.operator, *cast.mahs, *cast.province, *cast.regulators):
        hub.register_organisation(RegisteredOrganisation.model_validate(org.model_dump()))
    served = {"trace": cast.mahs, "immunization": cast.province, "supervision": cast.regulators}
    for role, orgs in served.items():
        system_id = LOCAL_SYSTEMS[role]
        key = ed25519_key_at(local_signing_key(settings, system_id))
        hub.register_system(
            ConnectedSystem(
                system_id=system_id,
                name=f"{system_id} (in-process)",
                role=SystemRole(role),
                operator_uscc=cast.operator_of(role).uscc,
                endpoint=LOCAL_BASE,
                represents=tuple(o.uscc for o in orgs),
                exchange_key=Ed25519Signer(key).public_text(),
            )
        )
