"""A regulator's lock at the platform: taken only from the supervision system representing a
registered regulator whose division covers the goods, and forwarded on the MAH's own locks'
path (the provinces the batches went to, the supervision systems of the area as a 911 step
done by the regulator) and to the MAH's trace system."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.roles.platform.test_exchange import (
    CALLER,
    CDC,
    MAH,
    SIGNER,
    hub,
    note_envelope,
    refused,
    routed,
    sent_by,
)
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import make_uscc

__all__ = ["hub", "routed"]  # the fixtures

PROVINCE_REGULATOR = make_uscc("11320000MB0X00001")  # 320000: covers the MAH and the CDC
NEIGHBOUR_REGULATOR = make_uscc("11330000MB0X00003")  # 330000: covers neither
WATCH_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
WATCH = SystemIdentity("watch-reg", PROVINCE_REGULATOR, 7)


@pytest.fixture
def hub_with_watch(routed: tuple[PlatformService, list[object]]) -> PlatformService:
    """The routed hub, batch B1 of the MAH sent to the province's CDC, and one supervision
    system (with its envelope key) representing both regulators and, wrongly, the CDC."""
    hub, _ = routed
    for uscc, division in ((PROVINCE_REGULATOR, "320000"), (NEIGHBOUR_REGULATOR, "330000")):
        hub.register_organisation(
            RegisteredOrganisation(
                uscc=uscc,
                name=f"{division}药品监督管理局",
                kind="regulator",
                division_code=division,
            )
        )
    hub.register_system(
        ConnectedSystem(
            system_id="watch-reg",
            name="watch-reg",
            role="supervision",
            operator_uscc=PROVINCE_REGULATOR,
            endpoint="https://watch.example",
            represents=(PROVINCE_REGULATOR, NEIGHBOUR_REGULATOR, CDC),
            exchange_key=WATCH_SIGNER.public_text(),
        )
    )
    note = {
        "document_no": "FH1",
        "business_time": "2026-11-20T09:00:00+08:00",
        "consignee_uscc": CDC,
        "codes": ["x"],
        "doses": 1,
        "batches": [{"batch_no": "B1"}],
    }
    assert hub.receive_envelope(CALLER, note_envelope(note))["forwarded_to"][0] == "province-32"
    sent_by(hub)  # the note delivered: what is sent next is the lock's
    return hub


def _lock(regulator: str | None = PROVINCE_REGULATOR, **more: Any) -> dict[str, Any]:
    return {
        "kind": "lock",
        "mah_uscc": MAH,
        "document_no": "JGSD-1",
        "business_time": "2026-11-21T09:00:00+08:00",
        "batch_nos": ["B1"],
        "lock_kind": "pending",
        "reason": "抽检待复核",
        "issued_by": regulator,
    } | more


def _sealed(
    signal: dict[str, Any],
    owner: str = PROVINCE_REGULATOR,
    signer: Ed25519Signer = WATCH_SIGNER,
    system_id: str = "watch-reg",
) -> dict[str, object]:
    return seal(
        signer,
        system_id=system_id,
        event_type="20",
        event_subtype="signal",
        data_owner=owner,
        sequence=1,
        payload={"safety_signal": signal},
    )


def test_a_regulators_lock_goes_where_the_mahs_would_and_to_the_mah(
    hub_with_watch: PlatformService,
) -> None:
    answer = hub_with_watch.receive_envelope(WATCH, _sealed(_lock()))
    assert answer["forwarded_to"] == ["province-32", "trace-a", "watch-reg"]
    sent = sent_by(hub_with_watch)
    (to_province,) = sent["province-32"]
    (to_mah,) = sent["trace-a"]
    for payload in (to_province, to_mah):
        signal: Any = payload["safety_signal"]
        assert (signal["issued_by"], signal["lock_kind"]) == (PROVINCE_REGULATOR, "pending")
    steps = [p["supervised_step"] for p in sent["watch-reg"] if "supervised_step" in p]
    (step,) = steps
    assert (step["bill_type"], step["org_uscc"]) == ("911", PROVINCE_REGULATOR)  # type: ignore[index]
    assert step["detail"]["issued_by"] == PROVINCE_REGULATOR  # type: ignore[index]


def test_a_regulators_lock_is_refused_outside_its_area_or_from_the_wrong_sender(
    hub_with_watch: PlatformService,
) -> None:
    hub = hub_with_watch
    outside = _sealed(_lock(NEIGHBOUR_REGULATOR), owner=NEIGHBOUR_REGULATOR)
    refused(hub, WATCH, outside, "outside_jurisdiction")
    refused(hub, WATCH, _sealed(_lock(None)), "wrong_sender_role")  # a MAH's, from supervision
    refused(hub, WATCH, _sealed(_lock(CDC), owner=CDC), "not_a_regulator")
    refused(hub, WATCH, _sealed(_lock(NEIGHBOUR_REGULATOR)), "owner_mismatch")
    from_mah = _sealed(_lock(), owner=MAH, signer=SIGNER, system_id="trace-a")
    refused(hub, CALLER, from_mah, "wrong_sender_role")
    recall = _lock(kind="recall", recall_no="ZH1", lock_kind=None)
    refused(hub, WATCH, _sealed(recall), "malformed_document")  # a regulator locks, unlocks
    assert sent_by(hub) == {}
