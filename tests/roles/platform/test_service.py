"""The platform's registry, coding-rule registry and address resolution, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from vaxtrace.core.codes import gs1_canonical, issue_nmpa20
from vaxtrace.core.errors import Conflict, DomainError, Forbidden, NotFound
from vaxtrace.core.registry import (
    ConnectedSystem,
    RegisteredCodingRule,
    RegisteredOrganisation,
    RuleEntryKind,
)
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import make_gtin, make_uscc

MAH_A = make_uscc("91320100MA1X00001")
MAH_B = make_uscc("91320200MA1X00002")
HOST = make_uscc("91320300MA1X00003")  # a third party running a trace system for MAH A


def org(uscc: str, name: str, kind: str = "mah") -> RegisteredOrganisation:
    return RegisteredOrganisation(uscc=uscc, name=name, kind=kind, division_code="320100")


@pytest.fixture
def platform(platform_engine: Engine) -> PlatformService:
    svc = PlatformService(platform_engine)
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


def test_abbreviated_names_are_refused() -> None:
    with pytest.raises(ValueError, match="not an abbreviation"):
        org(MAH_A, "华东生物")


def test_changes_feed_converges(platform: PlatformService) -> None:
    feed = platform.changes(0)
    assert [c["kind"] for c in feed["changes"]] == ["organisation"] * 3 + ["system"] * 2
    assert feed["latest"] == feed["changes"][-1]["version"]
    again = platform.register_organisation(org(MAH_A, "华东示例生物制品股份有限公司"))
    assert again["changed"] is False and platform.changes(feed["latest"])["changes"] == []
    moved = platform.register_organisation(
        RegisteredOrganisation(
            uscc=MAH_A, name="华东示例生物制品股份有限公司", kind="mah", division_code="320500"
        )
    )
    newer = platform.changes(feed["latest"])["changes"]
    assert [c["key"] for c in newer] == [MAH_A] and newer[0]["version"] == moved["version"]
    assert newer[0]["data"]["division_code"] == "320500"


def test_rules_resolve_every_family(platform: PlatformService) -> None:
    platform.register_coding_rule(A, rule(MAH_A, ["8000001", "8000002"]))
    gtin = make_gtin("0690123456789")
    platform.register_coding_rule(B, rule(MAH_B, [gtin], family="gs1"))
    platform.register_coding_rule(
        B, rule(MAH_B, ["6909999"], family="gs1", kind=RuleEntryKind.GS1_COMPANY_PREFIX)
    )
    found = platform.resolve(issue_nmpa20("8000002", 17))
    assert (found["system_id"], found["mah_uscc"]) == ("trace-a", MAH_A)
    assert found["endpoint"] == "https://trace-a.example:8443/"
    serial = "ABC123"
    for text in (
        gs1_canonical(gtin, serial),
        f"]d201{gtin}21{serial}",
        f"https://id.gs1.org/01/{gtin}/21/{serial}",
    ):
        assert platform.resolve(text)["system_id"] == "trace-b"
    under_prefix = make_gtin("1690999912345")
    assert platform.resolve(gs1_canonical(under_prefix, "1"))["mah_uscc"] == MAH_B
    with pytest.raises(NotFound) as none:
        platform.resolve(issue_nmpa20("8777777", 1))
    assert none.value.reason == "no_rule"
    with pytest.raises(DomainError) as bad:
        platform.resolve("8123")
    assert bad.value.reason == "bad_length"


def test_overlapping_rules_of_another_mah_are_refused(platform: PlatformService) -> None:
    platform.register_coding_rule(A, rule(MAH_A, ["8000001"]))
    gtin = make_gtin("0690123456789")
    platform.register_coding_rule(B, rule(MAH_B, [gtin], family="gs1"))
    with pytest.raises(Conflict) as same_code:
        platform.register_coding_rule(B, rule(MAH_B, ["8000001"]))
    assert same_code.value.reason == "overlapping_rule"
    for prefix in ("690123", "6901234567"):  # above and below the GTIN's company prefix
        with pytest.raises(Conflict):
            platform.register_coding_rule(
                A, rule(MAH_A, [prefix], family="gs1", kind=RuleEntryKind.GS1_COMPANY_PREFIX)
            )
    platform.register_coding_rule(
        A, rule(MAH_A, ["6905555"], family="gs1", kind=RuleEntryKind.GS1_COMPANY_PREFIX)
    )
    with pytest.raises(Conflict):
        platform.register_coding_rule(B, rule(MAH_B, [make_gtin("0690555500001")], family="gs1"))
    again = platform.register_coding_rule(A, rule(MAH_A, ["8000001", "8000003"]))
    assert again["already_registered"] == 1 and again["entries"] == 1
    published_again = platform.register_coding_rule(A, rule(MAH_A, ["8000001", "8000003"]))
    assert published_again == {"rule_id": None, "entries": 0, "already_registered": 2}


def test_a_system_registers_only_for_whom_it_represents(platform: PlatformService) -> None:
    with pytest.raises(Forbidden) as refused:
        platform.register_coding_rule(A, rule(MAH_B, ["8000009"]))
    assert refused.value.reason == "not_represented"
    impostor = SystemIdentity("trace-a", MAH_B, 9)  # a certificate of another organisation
    with pytest.raises(Forbidden) as mismatch:
        platform.register_coding_rule(impostor, rule(MAH_A, ["8000009"]))
    assert mismatch.value.reason == "certificate_mismatch"
    with pytest.raises(Forbidden):
        platform.register_coding_rule(SystemIdentity("nobody", MAH_A, 3), rule(MAH_A, ["8000009"]))
    with pytest.raises(NotFound):
        platform.resolve(issue_nmpa20("8000009", 1))  # nothing was stored
