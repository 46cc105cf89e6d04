"""The platform's side of the exchange: signed envelopes from the system the certificate names,
for organisations it represents, each taken once."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from vaxtrace.core.errors import DomainError
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import make_uscc

MAH = make_uscc("91320100MA1X00001")
OTHER = make_uscc("91320200MA1X00002")
SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
CALLER = SystemIdentity("trace-a", MAH, 1)


@pytest.fixture
def hub(platform_engine: Engine) -> PlatformService:
    svc = PlatformService(platform_engine)
    for uscc, name in ((MAH, "华东示例生物制品股份有限公司"), (OTHER, "江南示范疫苗有限公司")):
        svc.register_organisation(
            RegisteredOrganisation(uscc=uscc, name=name, kind="mah", division_code="320100")
        )
    svc.register_system(
        ConnectedSystem(
            system_id="trace-a",
            name="trace-a",
            role="trace",
            operator_uscc=MAH,
            endpoint="https://a.example",
            represents=(MAH,),
            exchange_key=SIGNER.public_text(),
        )
    )
    svc.register_system(
        ConnectedSystem(
            system_id="trace-b",
            name="trace-b",
            role="trace",
            operator_uscc=OTHER,
            endpoint="https://b.example",
            represents=(OTHER,),
        )
    )
    return svc


def envelope(
    sequence: int = 1, owner: str = MAH, signer: Ed25519Signer = SIGNER, system_id: str = "trace-a"
) -> dict[str, object]:
    return seal(
        signer,
        system_id=system_id,
        event_type="20",
        event_subtype="201",
        data_owner=owner,
        sequence=sequence,
        payload={"shipping_note": {"n": sequence}},
    )


def refused(hub: PlatformService, caller: SystemIdentity, env: object, reason: str) -> None:
    with pytest.raises(DomainError) as caught:
        hub.receive_envelope(caller, env)
    assert caught.value.reason == reason, caught.value.message


def test_taken_once(hub: PlatformService) -> None:
    first = envelope()
    assert hub.receive_envelope(CALLER, first)["accepted"] is True
    assert hub.receive_envelope(CALLER, first) == {
        "event_id": first["event_id"],
        "accepted": False,
        "duplicate": True,
        "forwarded_to": None,
    }
    assert hub.receive_envelope(CALLER, envelope(2))["accepted"] is True


def test_refusals(hub: PlatformService) -> None:
    good = envelope()
    refused(hub, CALLER, dict(good, sequence=7), "bad_signature")
    refused(hub, CALLER, {k: v for k, v in good.items() if k != "signature"}, "unsigned_envelope")
    refused(
        hub, CALLER, envelope(signer=Ed25519Signer(Ed25519PrivateKey.generate())), "unknown_key"
    )
    refused(hub, CALLER, envelope(owner=OTHER), "not_represented")
    refused(hub, SystemIdentity("trace-b", OTHER, 2), good, "sender_mismatch")
    refused(
        hub,
        SystemIdentity("trace-b", OTHER, 2),
        envelope(system_id="trace-b", owner=OTHER),
        "unknown_key",
    )  # trace-b registered no exchange key
    refused(hub, SystemIdentity("trace-a", OTHER, 3), good, "certificate_mismatch")
    assert hub.receive_envelope(CALLER, good)["accepted"] is True  # nothing above was stored


def test_a_shipping_note_is_forwarded_to_the_consignees_province(hub: PlatformService) -> None:
    from vaxtrace.exchange.delivery import Outbox
    from vaxtrace.store.exchange import ExchangeStore
    from vaxtrace.store.platform import schema

    cdc = make_uscc("12320000MB0000001")
    hub.register_organisation(
        RegisteredOrganisation(
            uscc=cdc, name="示例省疾病预防控制中心", kind="cdc", division_code="320000"
        )
    )
    hub.register_system(
        ConnectedSystem(
            system_id="province-32",
            name="示例省免疫规划信息系统",
            role="immunization",
            operator_uscc=cdc,
            endpoint="https://province-32.example",
            represents=(cdc,),
        )
    )
    platform_signer = Ed25519Signer(Ed25519PrivateKey.generate())
    hub.outbox = Outbox(hub.engine, ExchangeStore(schema.exchange), platform_signer, "platform")
    note = {"document_no": "FH1", "consignee_uscc": cdc, "codes": ["x"], "doses": 500}
    env = seal(
        SIGNER,
        system_id="trace-a",
        event_type="20",
        event_subtype="201",
        data_owner=MAH,
        sequence=1,
        payload={"shipping_note": note},
    )
    assert hub.receive_envelope(CALLER, env)["forwarded_to"] == "province-32"
    assert hub.receive_envelope(CALLER, env)["forwarded_to"] is None  # a repeat goes nowhere
    sent: list[tuple[str, object]] = []
    assert hub.outbox.deliver_due(lambda r, batch: sent.append((r, batch[0]))).delivered == 1
    receiver, forwarded = sent[0]
    assert receiver == "province-32"
    from vaxtrace.exchange.envelope import open_envelope

    opened = open_envelope(forwarded, lambda *_: platform_signer.verifier())  # type: ignore[arg-type]
    assert opened.payload["shipping_note"] == note
    assert opened.payload["forwarded_from"] == {"system_id": "trace-a", "event_id": env["event_id"]}
