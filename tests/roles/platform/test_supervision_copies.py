"""What the platform copies to the supervision systems besides notes and reports: a MAH's
production and batch facts and its control steps (where the MAH is), a province's cold-chain
excursions (where the unit is); each only from the systems that make it, and only to the
supervision systems whose area holds where it happened."""

from __future__ import annotations

from typing import Any

import pytest

from tests.roles.platform.test_exchange import (
    CALLER,
    MAH,
    POV,
    PROVINCE,
    PROVINCE_SIGNER,
    REGULATORS,
    SIGNER,
    hub,
    refused,
    report,
    routed,
    sent_by,
)
from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.roles.platform.service import PlatformService

__all__ = ["hub", "routed"]  # the fixtures


@pytest.fixture
def watched(routed: tuple[PlatformService, list[object]]) -> PlatformService:
    """The routed hub with three supervision systems: the province's (320000), the city's
    (320100, where the MAH and the POV are) and the neighbouring province's (330000)."""
    hub, _ = routed
    for n, (uscc, (division, system_id)) in enumerate(REGULATORS.items()):
        hub.register_organisation(
            RegisteredOrganisation(
                uscc=uscc, name=f"示例第{n}药品监督管理局", kind="regulator", division_code=division
            )
        )
        hub.register_system(
            ConnectedSystem(
                system_id=system_id,
                name=system_id,
                role="supervision",
                operator_uscc=uscc,
                endpoint=f"https://{system_id}.example",
                represents=(uscc,),
            )
        )
    return hub


def sealed(
    document: str,
    body: dict[str, Any],
    *,
    sequence: int,
    signer: Ed25519Signer = SIGNER,
    system_id: str = "trace-a",
    owner: str = MAH,
) -> dict[str, object]:
    return seal(
        signer,
        system_id=system_id,
        event_type="20",
        event_subtype=str(body.get("bill_type", "x")),
        data_owner=owner,
        sequence=sequence,
        payload={document: body},
    )


def test_a_mahs_facts_and_control_steps_reach_the_supervision_of_its_area(
    watched: PlatformService,
) -> None:
    codes = [issue_nmpa20("8000001", n) for n in range(3)]
    production = {
        "bill_type": "101",
        "document_no": "RK1",
        "business_time": "2026-11-01T09:00:00+08:00",
        "codes": codes,
        "batch_nos": ["B1"],
        "detail": {"warehouse": "成品冷库"},
    }
    release = {
        "bill_type": "902",
        "document_no": "PQ1",
        "business_time": "2026-11-03T09:00:00+08:00",
        "batch_nos": ["B1"],
        "detail": {"certificate_no": "SJ2026001", "conclusion": "pass"},
    }
    lock = {
        "kind": "lock",
        "mah_uscc": MAH,
        "document_no": "SD1",
        "business_time": "2026-11-04T09:00:00+08:00",
        "batch_nos": ["B1"],
        "lock_kind": "pending",
        "reason": "稳定性考察",
    }
    first = sealed("trace_fact", production, sequence=1)
    answers = [
        watched.receive_envelope(CALLER, first),
        watched.receive_envelope(CALLER, sealed("trace_fact", release, sequence=2)),
        watched.receive_envelope(CALLER, sealed("safety_signal", lock, sequence=3)),
    ]
    # no province was sent goods of B1 yet: only the supervision systems of the MAH's area
    assert [a["forwarded_to"] for a in answers] == [["watch-32", "watch-3201"]] * 3
    again = watched.receive_envelope(CALLER, first)
    assert again["duplicate"] is True and again["forwarded_to"] is None
    sent = sent_by(watched)
    assert sorted(sent) == ["watch-32", "watch-3201"] and sent["watch-32"] == sent["watch-3201"]
    steps = [p["supervised_step"] for p in sent["watch-3201"]]  # type: ignore[index]
    assert [(s["bill_type"], s["org_uscc"], s["division_code"]) for s in steps] == [
        ("101", MAH, "320100"),
        ("902", MAH, "320100"),
        ("911", MAH, "320100"),
    ]
    assert steps[0]["codes"] == codes and steps[0]["batch_nos"] == ["B1"]
    assert steps[1]["codes"] == [] and steps[1]["detail"]["certificate_no"] == "SJ2026001"
    assert steps[2]["detail"] == {"kind": "lock", "lock_kind": "pending", "reason": "稳定性考察"}


def test_a_provinces_excursion_reaches_the_supervision_where_it_happened(
    watched: PlatformService,
) -> None:
    excursion = {
        "org_uscc": POV,
        "document_no": "WD1",
        "business_time": "2026-11-20T03:00:00+08:00",
        "codes": [issue_nmpa20("8000001", 7)],
        "detail": {"fridge": "F1", "max_c": 12.5, "minutes": 180},
    }
    env = sealed(
        "excursion_report",
        excursion,
        sequence=1,
        signer=PROVINCE_SIGNER,
        system_id="province-32",
        owner=POV,
    )
    answer = watched.receive_envelope(PROVINCE, env)
    assert answer["forwarded_to"] == ["watch-32", "watch-3201"]
    (step,) = [p["supervised_step"] for p in sent_by(watched)["watch-32"]]  # type: ignore[index]
    assert (step["bill_type"], step["org_uscc"], step["division_code"]) == ("931", POV, "320100")


def test_facts_come_only_from_the_systems_that_make_them(watched: PlatformService) -> None:
    fact = {
        "bill_type": "902",
        "document_no": "PQ1",
        "business_time": "2026-11-03T09:00:00+08:00",
        "batch_nos": ["B1"],
    }
    from_province = sealed(
        "trace_fact", fact, sequence=1, signer=PROVINCE_SIGNER, system_id="province-32", owner=POV
    )
    refused(watched, PROVINCE, from_province, "wrong_sender_role")
    refused(
        watched,
        CALLER,
        sealed("trace_fact", fact | {"bill_type": "322"}, sequence=1),
        "malformed_document",
    )
    excursion = {"org_uscc": MAH, "document_no": "W", "business_time": fact["business_time"]}
    refused(watched, CALLER, sealed("excursion_report", excursion, sequence=2), "wrong_sender_role")
    assert sent_by(watched) == {}


def test_a_return_copied_to_supervision_names_where_the_goods_went(
    watched: PlatformService,
) -> None:
    """Where a recalled unit is depends on whom a return or supply went to (back to the MAH,
    or into a CDC's stock): the copy names the counterparty (and the rest of the document,
    the return's reason); a vaccination names nobody."""
    codes = [issue_nmpa20("8000001", n) for n in range(2)]
    back = report(codes[:1], 1, bill_type="202", counterparty_uscc=MAH, return_reason="recall")
    watched.receive_envelope(PROVINCE, back)
    watched.receive_envelope(PROVINCE, report(codes[1:], 2))
    steps = [p["supervised_step"] for p in sent_by(watched)["watch-3201"]]
    seen = [(s["bill_type"], s["counterparty_uscc"], s["detail"]) for s in steps]  # type: ignore[index]
    assert seen == [("202", MAH, {"return_reason": "recall"}), ("322", None, None)]
