"""A platform with two MAHs' trace systems registered (one run by a third party), and the
callers and rules its tests use (the fixture is in conftest.py)."""

from __future__ import annotations

from sqlalchemy import Engine

from vaxtrace.core.registry import (
    ConnectedSystem,
    RegisteredCodingRule,
    RegisteredOrganisation,
    RuleEntryKind,
)
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import make_uscc

MAH_A = make_uscc("91320100MA1X00001")
MAH_B = make_uscc("91320200MA1X00002")
HOST = make_uscc("91320300MA1X00003")  # a third party running a trace system for MAH A


def org(uscc: str, name: str, kind: str = "mah") -> RegisteredOrganisation:
    return RegisteredOrganisation(uscc=uscc, name=name, kind=kind, division_code="320100")


def registered_platform(engine: Engine) -> PlatformService:
    svc = PlatformService(engine)
    svc.register_organisation(org(MAH_A, "华东示例生物制品股份有限公司"))
    svc.register_organisation(org(MAH_B, "江南示范疫苗有限公司"))
    svc.register_organisation(org(HOST, "示例追溯云服务有限公司", "distributor"))
    for system_id, operator, represents in (
        ("trace-a", HOST, [MAH_A]),
        ("trace-b", MAH_B, [MAH_B]),
    ):
        svc.register_system(
            ConnectedSystem(
                system_id=system_id,
                name=f"{system_id} 追溯系统",
                role="trace",
                operator_uscc=operator,
                endpoint=f"https://{system_id}.example:8443",
                represents=represents,
            )
        )
    return svc


A = SystemIdentity("trace-a", HOST, 1)
B = SystemIdentity("trace-b", MAH_B, 2)


def rule(
    mah: str,
    entries: list[str],
    *,
    family: str = "nmpa20",
    kind: RuleEntryKind = RuleEntryKind.IDENTIFICATION_CODE,
) -> RegisteredCodingRule:
    return RegisteredCodingRule(
        mah_uscc=mah,
        family=family,
        kind=kind,
        entries=entries,
        serial_format="N9",
        check_algorithm="VT-MOD97-10x2",
    )
