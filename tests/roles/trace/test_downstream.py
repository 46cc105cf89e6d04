"""What provinces report back about this system's codes, forwarded by the platform: each report
becomes an event of the codes' history, by the organisation that did the step, once."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.roles.trace.trace_world import SHIPPED_AT, World, at, snapshot, write_fields
from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver

PLATFORM_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PLATFORM = SystemIdentity("platform", "12100000MB0000001P", 1)
_sequence = iter(range(1, 10_000))


def forwarded(event: dict[str, Any], signer: Ed25519Signer = PLATFORM_SIGNER) -> dict[str, Any]:
    """A province's report as the platform forwards it (its own envelope, the province's id)."""
    n = next(_sequence)
    return dict(
        seal(
            signer,
            system_id="platform",
            event_type="20",
            event_subtype=event["bill_type"],
            data_owner=event["org_uscc"],
            sequence=n,
            payload={
                "downstream_event": event,
                "forwarded_from": {"system_id": "local-province", "event_id": f"prov-{n}"},
                "split": {"part": 1, "parts": 1, "codes_in_event": len(event["codes"])},
            },
        )
    )


def report(bill: str, org: str, codes: list[str], days: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "bill_type": bill,
        "document_no": f"P{bill}-{next(_sequence)}",
        "business_time": at(SHIPPED_AT.date(), days).isoformat(),
        "org_uscc": org,
        "codes": codes,
    } | extra


@pytest.fixture
def receiver(world: World) -> DownstreamReceiver:
    return DownstreamReceiver(world.engine, "platform", PLATFORM_SIGNER.verifier())


def _shipped_case(world: World) -> tuple[str, str, str]:
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    dose = world.children(box)[0]
    world.ok("/shipping-notes", world.ship_body([case], 500))
    return case, box, dose


def _to_the_arm(
    world: World, case: str, box: str, dose: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The CDC receives the case (107) and supplies the box to the site (209), which uses
    the dose (322), on days 1, 2 and 3."""
    cdc, pov = world.cdc.uscc, world.pov.uscc
    receipt = report(
        "107",
        cdc,
        [case],
        counterparty_uscc=world.mah.uscc,
        shipping_note_no="FH1",
        verification="verified",
        expected_quantity=500,
        actual_quantity=500,
    )
    supply = report("209", cdc, [box], 2, counterparty_uscc=pov)
    return receipt, supply, report("322", pov, [dose], 3)


def test_receipt_distribution_and_vaccination_enter_the_history(
    world: World, receiver: DownstreamReceiver
) -> None:
    case, box, dose = _shipped_case(world)
    cdc, pov = world.cdc.uscc, world.pov.uscc
    receipt, supply, jab = _to_the_arm(world, case, box, dose)
    answers = receiver.receive_batch(PLATFORM, [forwarded(e) for e in (receipt, supply, jab)])
    assert [a["accepted"] for a in answers] == [True, True, True]
    found = world.trace(dose)
    assert found["status"] == "used" and found["holder_uscc"] == pov
    steps = [(e["bill_type"], e["org_uscc"]) for e in found["history"]]
    assert steps[-3:] == [("107", cdc), ("209", cdc), ("322", pov)]
    assert found["history"][-3]["payload"]["verification"] == "verified"
    assert world.trace(box)["holder_uscc"] == pov
    assert box not in world.children(case)  # distributed out of its case
    other_box = world.children(case)[0]
    assert world.trace(other_box)["holder_uscc"] == cdc


def test_an_undone_vaccination_puts_the_dose_back_at_the_site(
    world: World, receiver: DownstreamReceiver
) -> None:
    case, box, dose = _shipped_case(world)
    receipt, supply, jab = _to_the_arm(world, case, box, dose)
    pov = world.pov.uscc
    undo = report("323", pov, [dose], 3, reason="扫错了", undoes_document_no=jab["document_no"])
    events = [forwarded(e) for e in (receipt, supply, jab, undo)]
    assert [a["accepted"] for a in receiver.receive_batch(PLATFORM, events)] == [True] * 4
    found = world.trace(dose)
    assert (found["status"], found["holder_uscc"]) == ("normal", pov)
    assert [e["bill_type"] for e in found["history"]][-2:] == ["322", "323"]


def test_a_repeat_is_taken_once_even_as_a_new_envelope(
    world: World, receiver: DownstreamReceiver
) -> None:
    case, _box, _dose = _shipped_case(world)
    damage = report("215", world.cdc.uscc, [case], reason="冷链故障 fridge failure")
    first = forwarded(damage)
    assert receiver.receive_batch(PLATFORM, [first])[0]["accepted"] is True
    before = snapshot(world.engine)
    assert receiver.receive_batch(PLATFORM, [first])[0]["duplicate"] is True
    assert snapshot(world.engine) == before
    assert world.trace(case)["status"] == "damaged"


def test_refusals_change_nothing(world: World, receiver: DownstreamReceiver) -> None:
    _case, box, dose = _shipped_case(world)
    cdc, pov = world.cdc.uscc, world.pov.uscc
    before = snapshot(world.engine)
    cases: list[tuple[Any, SystemIdentity, str, str | None]] = [
        ([forwarded(report("322", pov, [dose]))], PLATFORM, "not_held", "envelopes[0].codes"),
        (
            [
                forwarded(report("209", cdc, [box], counterparty_uscc=pov)),
                forwarded(report("322", cdc, ["80000009999999999999"])),
            ],
            PLATFORM,
            "unknown_code",
            "envelopes[1].codes",
        ),
        (
            [forwarded(report("322", cdc, [dose]), Ed25519Signer(Ed25519PrivateKey.generate()))],
            PLATFORM,
            "unknown_key",
            "envelopes[0].signature",
        ),
        (
            [forwarded(report("322", cdc, [dose]))],
            SystemIdentity("trace-b", "91320200MA1X00010F", 3),
            "not_the_platform",
            "envelopes[0]",
        ),
    ]
    for batch, caller, reason, where in cases:
        with pytest.raises(DomainError) as refused:
            receiver.receive_batch(caller, batch)
        assert (refused.value.reason, refused.value.field) == (reason, where)
        assert snapshot(world.engine) == before


def test_scrap_and_destruction_by_a_cdc_end_its_codes(
    world: World, receiver: DownstreamReceiver
) -> None:
    case, box, dose = _shipped_case(world)
    cdc = world.cdc.uscc
    other_box = world.children(case)[1]
    scrap = report("216", cdc, [box], reason="过期 expired")
    damage = report("215", cdc, [other_box], reason="碎 broken")
    destroy = report(
        "205",
        cdc,
        [other_box],
        2,
        reason="破损销毁",
        executor="王五",
        supervisor="赵六 (区市场监管局)",
        place="医疗废物暂存间",
    )
    answers = receiver.receive_batch(PLATFORM, [forwarded(e) for e in (scrap, damage, destroy)])
    assert [a["accepted"] for a in answers] == [True, True, True]
    for code in (box, dose, other_box):
        found = world.trace(code)
        assert (found["status"], found["holder_uscc"]) == ("destroyed", cdc), code
    history = world.trace(dose)["history"]
    assert (history[-1]["bill_type"], history[-1]["payload"]["reason"]) == ("216", "过期 expired")
    last = world.trace(other_box)["history"][-1]
    assert last["bill_type"] == "205"
    assert (last["payload"]["executor"], last["payload"]["supervisor"]) == (
        "王五",
        "赵六 (区市场监管局)",
    )


def test_goods_pending_the_mahs_decision_are_not_destroyed_downstream(
    world: World, receiver: DownstreamReceiver
) -> None:
    """What the province refuses to scrap or destroy (a pending lock), the owner refuses too."""
    case, box, _dose = _shipped_case(world)
    world.ok("/locks", write_fields("lk", codes=[box], kind="pending", reason="审查"))
    before = snapshot(world.engine)
    scrap = forwarded(report("216", world.cdc.uscc, [box], reason="x"))
    with pytest.raises(DomainError) as refused:
        receiver.receive_batch(PLATFORM, [scrap])
    assert (refused.value.reason, refused.value.field) == ("locked", "envelopes[0].codes")
    assert snapshot(world.engine) == before
    assert world.trace(case)["status"] == "normal"
