"""The platform's side of the exchange: signed envelopes from the system the certificate names,
for organisations it represents, each taken once."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.errors import DomainError
from vaxtrace.core.registry import ConnectedSystem, RegisteredCodingRule, RegisteredOrganisation
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.exchange.envelope import Ed25519Signer, open_envelope, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.platform import schema

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


def note_envelope(note: dict[str, object]) -> dict[str, object]:
    """A MAH's shipping note as trace-a sends it."""
    return seal(
        SIGNER,
        system_id="trace-a",
        event_type="20",
        event_subtype="201",
        data_owner=MAH,
        sequence=1,
        payload={"shipping_note": note},
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
    note = {
        "document_no": "FH1",
        "business_time": "2026-11-20T09:00:00+08:00",
        "consignee_uscc": cdc,
        "codes": ["x"],
        "doses": 500,
    }
    env = note_envelope(note)
    assert hub.receive_envelope(CALLER, env)["forwarded_to"] == ["province-32"]
    assert hub.receive_envelope(CALLER, env)["forwarded_to"] is None  # a repeat goes nowhere
    sent: list[tuple[str, object]] = []
    assert hub.outbox.deliver_due(lambda r, batch: sent.append((r, batch[0]))).delivered == 1
    receiver, forwarded = sent[0]
    assert receiver == "province-32"
    opened = open_envelope(forwarded, lambda *_: platform_signer.verifier())  # type: ignore[arg-type]
    assert opened.payload["shipping_note"] == note
    origin = {"system_id": "trace-a", "event_id": env["event_id"], "created_at": env["created_at"]}
    assert opened.payload["forwarded_from"] == origin


CDC = make_uscc("12320000MB0X00001")
POV = make_uscc("12320100MB0X00002")
PROVINCE_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PROVINCE = SystemIdentity("province-32", CDC, 9)


@pytest.fixture
def routed(hub: PlatformService) -> tuple[PlatformService, list[tuple[str, object]]]:
    """The hub with an outbox, a province system for a CDC and a POV, and coding rules of
    both MAHs (trace-a holds 8000001…, trace-b 8000002…)."""
    for uscc, name, kind in (
        (CDC, "江苏省疾病预防控制中心", "cdc"),
        (POV, "南京市示例社区卫生服务中心", "pov"),
    ):
        hub.register_organisation(
            RegisteredOrganisation(uscc=uscc, name=name, kind=kind, division_code="320100")
        )
    hub.register_system(
        ConnectedSystem(
            system_id="province-32",
            name="province-32",
            role="immunization",
            operator_uscc=CDC,
            endpoint="https://province-32.example",
            represents=(CDC, POV),
            exchange_key=PROVINCE_SIGNER.public_text(),
        )
    )
    for caller, mah, ident in (
        (CALLER, MAH, "8000001"),
        (SystemIdentity("trace-b", OTHER, 2), OTHER, "8000002"),
    ):
        hub.register_coding_rule(
            caller,
            RegisteredCodingRule(
                mah_uscc=mah,
                family="nmpa20",
                kind="identification_code",
                entries=[ident],
                serial_format="N9",
                check_algorithm="VT-MOD97-10x2",
            ),
        )
    platform_signer = Ed25519Signer(Ed25519PrivateKey.generate())
    hub.outbox = Outbox(hub.engine, ExchangeStore(schema.exchange), platform_signer, "platform")
    return hub, []


def report(codes: list[str], sequence: int = 1, **changes: object) -> dict[str, object]:
    event = {
        "bill_type": "322",
        "document_no": f"JZ{sequence}",
        "business_time": "2026-11-20T09:30:00+08:00",
        "org_uscc": POV,
        "codes": codes,
    } | changes
    return seal(
        PROVINCE_SIGNER,
        system_id="province-32",
        event_type="20",
        event_subtype=str(event["bill_type"]),
        data_owner=POV,
        sequence=sequence,
        payload={"downstream_event": event},
    )


def sent_by(hub: PlatformService) -> dict[str, list[dict[str, object]]]:
    sent: dict[str, list[dict[str, object]]] = {}
    assert hub.outbox is not None
    hub.outbox.deliver_due(lambda r, batch: sent.setdefault(r, []).extend(batch))
    return {
        receiver: [
            open_envelope(e, lambda *_: hub.outbox.signer.verifier()).payload  # type: ignore[union-attr]
            for e in batch
        ]
        for receiver, batch in sent.items()
    }


def test_a_province_report_is_split_by_code_owner(
    routed: tuple[PlatformService, list[object]],
) -> None:
    hub, _ = routed
    a_codes = [issue_nmpa20("8000001", n) for n in range(3)]
    b_codes = [issue_nmpa20("8000002", n) for n in range(2)]
    mixed = [a_codes[0], b_codes[0], a_codes[1], a_codes[2], b_codes[1]]
    answer = hub.receive_envelope(PROVINCE, report(mixed))
    assert answer["forwarded_to"] == ["trace-a", "trace-b"]
    sent = sent_by(hub)
    (to_a,), (to_b,) = sent["trace-a"], sent["trace-b"]
    assert to_a["downstream_event"]["codes"] == a_codes  # type: ignore[index]
    assert to_b["downstream_event"]["codes"] == b_codes  # type: ignore[index]
    assert to_a["split"] == {"part": 1, "parts": 2, "codes_in_event": 5}
    assert to_a["downstream_event"]["org_uscc"] == POV  # type: ignore[index]
    assert hub.exchange_alerts() == []


def test_codes_no_rule_covers_are_kept_and_raise_an_alert(
    routed: tuple[PlatformService, list[object]],
) -> None:
    hub, _ = routed
    stray = issue_nmpa20("8777777", 5)
    answer = hub.receive_envelope(PROVINCE, report([issue_nmpa20("8000001", 1), stray]))
    assert answer["accepted"] is True and answer["forwarded_to"] == ["trace-a"]
    (alert,) = hub.exchange_alerts()
    assert alert["reason"] == "no_rule" and alert["detail"]["codes"] == [stray]
    assert alert["sender"] == "province-32"


def test_a_note_for_a_consignee_no_province_serves_raises_an_alert(
    routed: tuple[PlatformService, list[object]],
) -> None:
    hub, _ = routed
    note = {
        "document_no": "FH9",
        "business_time": "2026-11-20T09:00:00+08:00",
        "consignee_uscc": OTHER,
        "codes": ["x"],
        "doses": 1,
    }
    env = note_envelope(note)
    assert hub.receive_envelope(CALLER, env)["forwarded_to"] == []
    (alert,) = hub.exchange_alerts()
    assert (alert["reason"], alert["detail"]) == ("no_province_system", {"consignee_uscc": OTHER})


def test_documents_come_only_from_the_systems_that_make_them(
    routed: tuple[PlatformService, list[object]],
) -> None:
    hub, _ = routed
    code = issue_nmpa20("8000001", 1)
    refused(hub, PROVINCE, report([code], bill_type="107"), "malformed_document")
    refused(hub, PROVINCE, report([code], org_uscc=CDC), "owner_mismatch")
    note = seal(
        PROVINCE_SIGNER,
        system_id="province-32",
        event_type="20",
        event_subtype="201",
        data_owner=CDC,
        sequence=1,
        payload={"shipping_note": {"consignee_uscc": CDC}},
    )
    refused(hub, PROVINCE, note, "wrong_sender_role")
    upstream = dict(envelope())
    refused(hub, PROVINCE, upstream | {"system_id": "province-32"}, "unknown_key")
    other = seal(
        PROVINCE_SIGNER,
        system_id="province-32",
        event_type="20",
        event_subtype="1",
        data_owner=CDC,
        sequence=1,
        payload={"something": 1},
    )
    refused(hub, PROVINCE, other, "unknown_document")
    with pytest.raises(DomainError) as caught:
        hub.receive_batch(PROVINCE, [report([code]), report([code], 2, bill_type="107")])
    assert caught.value.field == "envelopes[1].payload.downstream_event"
    assert sent_by(hub) == {} and hub.exchange_alerts() == []


REGULATORS = {  # regulator → (division, its supervision system)
    make_uscc("11320000MB0X00001"): ("320000", "watch-32"),
    make_uscc("11320100MB0X00002"): ("320100", "watch-3201"),
    make_uscc("11330000MB0X00003"): ("330000", "watch-33"),
}


def test_every_step_is_copied_to_the_supervision_systems_of_its_area(
    routed: tuple[PlatformService, list[object]],
) -> None:
    """A province's report goes whole to each supervision system whose regulator's area holds
    where the step was done (the POV, in 320100): the province's and the city's, not the
    neighbouring province's; so does a shipping note, by where its consignee is."""
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
    codes = [issue_nmpa20("8000001", n) for n in range(2)]
    answer = hub.receive_envelope(PROVINCE, report(codes))
    assert answer["forwarded_to"] == ["trace-a", "watch-32", "watch-3201"]
    note = {
        "document_no": "FH7",
        "business_time": "2026-11-20T09:00:00+08:00",
        "consignee_uscc": CDC,
        "codes": codes,
        "doses": 2,
    }
    # a note whose time is no time is refused
    refused(hub, CALLER, note_envelope(note | {"business_time": "soon"}), "malformed_note")
    env = note_envelope(note)
    assert hub.receive_envelope(CALLER, env)["forwarded_to"] == [
        "province-32",
        "watch-32",
        "watch-3201",
    ]
    sent = sent_by(hub)
    assert "watch-33" not in sent
    steps = [p["supervised_step"] for p in sent["watch-3201"]]
    assert sent["watch-32"] == sent["watch-3201"]
    assert [(s["bill_type"], s["org_uscc"], s["division_code"]) for s in steps] == [  # type: ignore[index]
        ("322", POV, "320100"),
        ("201", MAH, "320100"),
    ]
    assert steps[0]["codes"] == codes and steps[1]["document_no"] == "FH7"  # type: ignore[index]
    assert sent["watch-32"][0]["forwarded_from"]["system_id"] == "province-32"  # type: ignore[index]


def test_a_note_without_its_time_or_codes_is_refused(
    routed: tuple[PlatformService, list[object]],
) -> None:
    hub, _ = routed
    for missing in ("business_time", "codes"):
        note = {
            "document_no": "FH8",
            "business_time": "2026-11-20T09:00:00+08:00",
            "consignee_uscc": CDC,
            "codes": ["x"],
        }
        del note[missing]
        env = note_envelope(note)
        refused(hub, CALLER, env, "malformed_note")
    # with no supervision system registered, as with one: a time that is no time
    bad_time = {
        "document_no": "FH8",
        "business_time": "soon",
        "consignee_uscc": CDC,
        "codes": ["x"],
    }
    refused(hub, CALLER, note_envelope(bad_time), "malformed_note")
    assert sent_by(hub) == {}


@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1999-12-31T23:59:59Z"]
)
def test_a_time_no_node_can_store_is_refused_before_it_travels(
    routed: tuple[PlatformService, list[object]], stamp: str
) -> None:
    hub, _ = routed
    with pytest.raises(DomainError) as caught:
        hub.receive_envelope(PROVINCE, report([issue_nmpa20("8000001", 1)], business_time=stamp))
    assert (caught.value.reason, caught.value.field) == (
        "malformed_document",
        "envelopes[0].payload.downstream_event.business_time",
    )
    note = {"document_no": "FH9", "business_time": stamp, "consignee_uscc": CDC, "codes": ["x"]}
    refused(hub, CALLER, note_envelope(note), "malformed_note")
    assert sent_by(hub) == {}
    assert hub.exchange_alerts() == []
