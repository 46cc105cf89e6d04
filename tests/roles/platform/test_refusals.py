"""No refusal goes unseen: when a system refuses what the platform forwarded, the refusal is
final at once, travels back to the system the report came from, is kept as the platform's
exchange alert and is copied as a finding to the supervision systems of the area of the unit
that did the step; the messages behind it go on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from tests.roles.platform.platform_world import HOST, MAH_A, A, registered_platform, rule
from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.refusal import ADVICE
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.delivery import Outbox, Refused
from vaxtrace.exchange.envelope import Ed25519Signer, open_envelope, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import DELIVERY_REFUSED, PlatformService
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.platform import schema

CDC = make_uscc("12320000MB0X00001")
POV = make_uscc("12320102MB0X00002")
PROVINCE_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PLATFORM_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PROVINCE = SystemIdentity("province-32", CDC, 9)
REGULATORS = {  # regulator → (division, its supervision system)
    make_uscc("11320000MB0X00001"): ("320000", "watch-32"),
    make_uscc("11330000MB0X00003"): ("330000", "watch-33"),
}
LOCKED = {
    "type": "https://vaxtrace.example/problems/locked",
    "title": "locked",
    "status": 409,
    "reason": "locked",
    "field": "envelopes[0].codes",
    "detail": "envelopes[0]: 1 code(s) e.g. x: the code is locked (pending); use refused",
}


@pytest.fixture
def hub(platform_engine: Engine) -> PlatformService:
    """The platform with trace-a (MAH A's codes 8000001…), a province system for a CDC and a
    site, the supervision systems of the province and of a neighbouring one, and an outbox."""
    svc = registered_platform(platform_engine)
    units = [
        (CDC, "示例省疾病预防控制中心", "cdc", "320000"),
        (POV, "示例社区卫生服务中心", "pov", "320102"),
    ]
    for uscc, (division, _system) in REGULATORS.items():
        units.append((uscc, f"{division}药品监督管理局", "regulator", division))
    for uscc, name, kind, division in units:
        svc.register_organisation(
            RegisteredOrganisation(uscc=uscc, name=name, kind=kind, division_code=division)
        )
    systems = [("province-32", "immunization", CDC, (CDC, POV))]
    systems += [(s, "supervision", uscc, (uscc,)) for uscc, (_d, s) in REGULATORS.items()]
    for system_id, role, operator, represents in systems:
        svc.register_system(
            ConnectedSystem(
                system_id=system_id,
                name=system_id,
                role=role,
                operator_uscc=operator,
                endpoint=f"https://{system_id}.example",
                represents=represents,
                exchange_key=PROVINCE_SIGNER.public_text(),
            )
        )
    svc.register_coding_rule(A, rule(MAH_A, ["8000001"]))
    svc.outbox = Outbox(svc.engine, ExchangeStore(schema.exchange), PLATFORM_SIGNER, "platform")
    return svc


def report(sequence: int, codes: list[str], org: str = POV) -> dict[str, Any]:
    event = {
        "bill_type": "322",
        "document_no": f"JZ{sequence}",
        "business_time": "2026-11-20T09:30:00+08:00",
        "org_uscc": org,
        "codes": codes,
    }
    return seal(
        PROVINCE_SIGNER,
        system_id="province-32",
        event_type="20",
        event_subtype="322",
        data_owner=org,
        sequence=sequence,
        payload={"downstream_event": event},
    )


@dataclass
class Receivers:
    """The connected systems as the platform's outbox meets them: each takes what it is
    sent, except what one of them is set to refuse."""

    refusing: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    taken: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __call__(self, receiver: str, batch: Sequence[Mapping[str, Any]]) -> None:
        if receiver in self.refusing:
            problem = self.refusing[receiver]
            raise Refused(f"{receiver} refused", problem, int(problem["status"]))
        self.taken.setdefault(receiver, []).extend(
            open_envelope(e, lambda *_: PLATFORM_SIGNER.verifier()).payload for e in batch
        )


def test_a_refused_report_travels_back_is_an_alert_and_a_finding(hub: PlatformService) -> None:
    assert hub.outbox is not None
    first = report(1, [issue_nmpa20("8000001", 1)])
    hub.receive_envelope(PROVINCE, first)
    receivers = Receivers(refusing={"trace-a": LOCKED})
    done = hub.outbox.deliver_due(receivers)
    assert len(done.refused) == 1 and done.failed == 0
    (letter,) = hub.outbox.dead_letters()
    assert (letter["receiver"], letter["state"]) == ("trace-a", "refused")
    # the province and its supervision system were told in the same round; the neighbouring
    # province's supervision system was not
    (back,) = receivers.taken["province-32"]
    notice = back["refusal"]
    assert notice["origin_event_id"] == first["event_id"]
    assert notice["refused_event_id"] == letter["event_id"]
    assert (notice["receiver_system_id"], notice["reason"], notice["field"]) == (
        "trace-a",
        "locked",
        "codes",
    )
    assert notice["detail"].startswith("1 code(s) e.g. x: the code is locked")
    assert (notice["bill_type"], notice["document_no"], notice["org_uscc"]) == ("322", "JZ1", POV)
    assert notice["codes"] == [issue_nmpa20("8000001", 1)] and notice["code_count"] == 1
    assert notice["advice"] == ADVICE["locked"]
    copies = receivers.taken["watch-32"]
    finding = next(c["refusal_finding"] for c in copies if "refusal_finding" in c)
    assert finding["division_code"] == "320102" and finding["reason"] == "locked"
    assert not any("refusal_finding" in c for c in receivers.taken.get("watch-33", []))
    (alert,) = hub.exchange_alerts()
    assert (alert["reason"], alert["sender"], alert["event_id"]) == (
        DELIVERY_REFUSED,
        "province-32",
        first["event_id"],
    )
    assert alert["detail"]["returned_to"] == "province-32"
    assert alert["detail"]["findings_to"] == ["watch-32"]


def test_the_reports_behind_a_refused_one_are_not_held_up(hub: PlatformService) -> None:
    assert hub.outbox is not None
    bad, good = issue_nmpa20("8000001", 1), issue_nmpa20("8000001", 2)
    hub.receive_batch(PROVINCE, [report(1, [bad]), report(2, [good])])
    taken: list[list[str]] = []

    def trace_a(receiver: str, batch: Sequence[Mapping[str, Any]]) -> None:
        payloads = [open_envelope(e, lambda *_: PLATFORM_SIGNER.verifier()).payload for e in batch]
        if receiver == "trace-a":
            if any(p["downstream_event"]["codes"] == [bad] for p in payloads):
                raise Refused("trace-a refused", LOCKED, 409)
            taken.append([p["downstream_event"]["codes"][0] for p in payloads])

    done = hub.outbox.deliver_due(trace_a)
    assert taken == [[good]] and len(done.refused) == 1


def test_a_refused_refusal_or_copy_is_only_an_alert(hub: PlatformService) -> None:
    """No ping-pong: what the platform itself made (a refusal, a copy for supervision) is
    not sent back when refused; the operator sees it."""
    assert hub.outbox is not None
    hub.receive_envelope(PROVINCE, report(1, [issue_nmpa20("8000001", 1)]))
    wrong = {"status": 422, "reason": "malformed_refusal", "field": "envelopes[0].payload"}
    receivers = Receivers(refusing={"trace-a": LOCKED, "province-32": wrong, "watch-32": wrong})
    hub.outbox.deliver_due(receivers)
    hub.outbox.deliver_due(receivers)
    states = sorted((d["receiver"], d["state"]) for d in hub.outbox.dead_letters())
    # the report, its copy for supervision, the refusal sent back and the finding: refused
    assert states == [
        ("province-32", "refused"),
        ("trace-a", "refused"),
        ("watch-32", "refused"),
        ("watch-32", "refused"),
    ]
    alerts = hub.exchange_alerts()
    assert len(alerts) == 4 and {a["reason"] for a in alerts} == {DELIVERY_REFUSED}
    told = [a["detail"]["returned_to"] for a in alerts]
    assert told.count("province-32") == 1 and told.count(None) == 3
    assert receivers.taken == {}


def test_a_refused_shipping_note_is_kept_at_the_platform_not_sent_to_a_trace_system(
    hub: PlatformService,
) -> None:
    """A trace system does not take refusals back (yet): the platform's alert is the record
    (and the regulators of the MAH's area get the finding)."""
    assert hub.outbox is not None
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    hub.register_system(
        ConnectedSystem(
            system_id="trace-a",
            name="trace-a",
            role="trace",
            operator_uscc=HOST,
            endpoint="https://trace-a.example",
            represents=(MAH_A,),
            exchange_key=signer.public_text(),
        )
    )
    note = {
        "document_no": "FH1",
        "business_time": "2026-11-20T09:00:00+08:00",
        "consignee_uscc": CDC,
        "codes": [issue_nmpa20("8000001", 9)],
        "doses": 1,
    }
    envelope = seal(
        signer,
        system_id="trace-a",
        event_type="20",
        event_subtype="201",
        data_owner=MAH_A,
        sequence=1,
        payload={"shipping_note": note},
    )
    hub.receive_envelope(A, envelope)
    duplicate = {"status": 409, "reason": "note_exists", "detail": "FH1 was announced already"}
    receivers = Receivers(refusing={"province-32": duplicate})
    hub.outbox.deliver_due(receivers)
    (alert,) = hub.exchange_alerts()
    assert alert["sender"] == "trace-a" and alert["detail"]["returned_to"] is None
    assert alert["detail"]["bill_type"] == "201" and alert["detail"]["org_uscc"] == MAH_A
    assert "trace-a" not in receivers.taken
    finding = receivers.taken["watch-32"][-1]["refusal_finding"]
    assert (finding["org_uscc"], finding["reason"]) == (MAH_A, "note_exists")
