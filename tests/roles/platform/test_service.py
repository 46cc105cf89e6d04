"""The platform's registry, coding-rule registry and address resolution, on both backends."""

from __future__ import annotations

import pytest

from tests.refusals import refused_with
from tests.roles.platform.platform_world import MAH_A, MAH_B, A, B, org, rule
from vaxtrace.core.codes import gs1_canonical, issue_nmpa20
from vaxtrace.core.errors import DomainError
from vaxtrace.core.registry import (
    RegisteredOrganisation,
    RuleEntryKind,
)
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import make_gtin


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
    with refused_with(404) as none:
        platform.resolve(issue_nmpa20("8777777", 1))
    assert none.value.reason == "no_rule"
    with pytest.raises(DomainError) as bad:
        platform.resolve("8123")
    assert bad.value.reason == "bad_length"


def test_overlapping_rules_of_another_mah_are_refused(platform: PlatformService) -> None:
    platform.register_coding_rule(A, rule(MAH_A, ["8000001"]))
    gtin = make_gtin("0690123456789")
    platform.register_coding_rule(B, rule(MAH_B, [gtin], family="gs1"))
    with refused_with(409) as same_code:
        platform.register_coding_rule(B, rule(MAH_B, ["8000001"]))
    assert same_code.value.reason == "overlapping_rule"
    for prefix in ("690123", "6901234567"):  # above and below the GTIN's company prefix
        with refused_with(409):
            platform.register_coding_rule(
                A, rule(MAH_A, [prefix], family="gs1", kind=RuleEntryKind.GS1_COMPANY_PREFIX)
            )
    platform.register_coding_rule(
        A, rule(MAH_A, ["6905555"], family="gs1", kind=RuleEntryKind.GS1_COMPANY_PREFIX)
    )
    with refused_with(409):
        platform.register_coding_rule(B, rule(MAH_B, [make_gtin("0690555500001")], family="gs1"))
    again = platform.register_coding_rule(A, rule(MAH_A, ["8000001", "8000003"]))
    assert again["already_registered"] == 1 and again["entries"] == 1
    published_again = platform.register_coding_rule(A, rule(MAH_A, ["8000001", "8000003"]))
    assert published_again == {"rule_id": None, "entries": 0, "already_registered": 2}


def test_a_system_registers_only_for_whom_it_represents(platform: PlatformService) -> None:
    with refused_with(403) as refused:
        platform.register_coding_rule(A, rule(MAH_B, ["8000009"]))
    assert refused.value.reason == "not_represented"
    impostor = SystemIdentity("trace-a", MAH_B, 9)  # a certificate of another organisation
    with refused_with(403) as mismatch:
        platform.register_coding_rule(impostor, rule(MAH_A, ["8000009"]))
    assert mismatch.value.reason == "certificate_mismatch"
    with refused_with(403):
        platform.register_coding_rule(SystemIdentity("nobody", MAH_A, 3), rule(MAH_A, ["8000009"]))
    with refused_with(404):
        platform.resolve(issue_nmpa20("8000009", 1))  # nothing was stored
