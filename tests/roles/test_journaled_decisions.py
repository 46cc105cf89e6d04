"""Every node keeps a log (issue 12, item 2): each role's decisions, made through its real
service, are journaled in the transaction that makes them, each entry with its leaf; a
refused decision leaves no entry. On both backends."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from tests.roles.immunization.province_world import (
    BOXES,
    CASE,
    CONTENTS,
    POV,
    PROVINCE_CDC,
    PROVINCE_SIGNER,
    Province,
    confirmation,
    dose,
    fields,
    make_province,
    refused,
)
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import Distribution, Vaccination
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.ledger import merkle
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization import schema as province_schema
from vaxtrace.store.immunization.exchange import exchange_store
from vaxtrace.store.journal import Journal
from vaxtrace.store.ledger import verify_log
from vaxtrace.store.platform import schema as platform_schema
from vaxtrace.store.supervision import schema as supervision_schema


def entries(engine: Engine, journal: Journal, kind: str | None = None) -> list[dict[str, Any]]:
    """The kept entries (of one kind), each checked to have its leaf over its very bytes."""
    with read_tx(engine) as conn:
        kept = journal.entries(conn, kind)
        for entry in kept:
            index = journal.ledger.leaf_of_event(conn, entry["id"])
            assert index is not None, f"entry {entry['id']} has no leaf"
            [(_, document)] = journal.documents(conn, entry["id"], entry["id"] + 1)
            assert journal.ledger.leaf_hash(conn, index) == merkle.leaf_hash(document)
        verdict = verify_log(journal.ledger, conn)
    assert verdict.ok, verdict.problem
    return kept


def kinds(engine: Engine, journal: Journal) -> list[str]:
    return [e["kind"] for e in entries(engine, journal)]


# --- the province ----------------------------------------------------------------------------


@pytest.fixture
def province(immunization_engine: Engine) -> Iterator[Province]:
    made = make_province(immunization_engine)
    yield made
    made.svc.close()


def province_entries(province: Province, kind: str | None = None) -> list[dict[str, Any]]:
    province.svc.flush()  # the scans' audit still pending
    return entries(province.engine, province_schema.journal, kind)


def logged_digest(province: Province, actor: str, client_document_id: str) -> str:
    """The request's digest as the province's write log keeps it."""
    table = province_schema.province_write
    with read_tx(province.engine) as conn:
        query = select(table.c.request_sha256).where(
            table.c.org_uscc == actor, table.c.client_document_id == client_document_id
        )
        return str(conn.execute(query).scalar_one())


def test_a_receipt_is_journaled_with_its_requests_digest_not_the_request(
    province: Province,
) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    noted = ["received", "batch_facts"]  # the note came (its digest), with its batches' data
    assert kinds(province.engine, province_schema.journal) == noted
    province.svc.scan(PROVINCE_CDC, "FH1", CASE)
    province.journey("FH1")
    request = confirmation("FH1")
    result = province.svc.confirm_receipt(PROVINCE_CDC, request)
    [entry] = province_entries(province, "receipt")
    assert "request" not in entry
    assert entry["request_sha256"] == logged_digest(
        province, PROVINCE_CDC, request.client_document_id
    )
    assert entry["org_uscc"] == PROVINCE_CDC and entry["operation"] == "receipt"
    assert (entry["client_document_id"], entry["document_no"]) == (
        request.client_document_id,
        request.document_no,
    )
    assert entry["response"] == json.loads(json.dumps(result.body, default=str))
    step = entry["event"]  # the step reported, with the codes it moved
    assert (step["bill_type"], step["org_uscc"], step["codes"]) == ("107", PROVINCE_CDC, [CASE])
    assert step["shipping_note_no"] == "FH1"
    placed = entry["stock"]  # what it put in stock: each code once, in its container
    assert (placed["into"], placed["receipt_id"]) == ("stock", 1)
    in_stock = {c: (p, b) for p, b, codes in placed["placed"] for c in codes}
    inside = {c: parent for parent, codes in CONTENTS.items() for c in codes}
    assert in_stock == {CASE: (None, "B2024001")} | {c: (p, "B2024001") for c, p in inside.items()}
    assert result.log_size == len(province_entries(province))  # its leaf is the last one
    assert province.svc.confirm_receipt(PROVINCE_CDC, request).replayed  # a retry: no entry
    assert len(province_entries(province, "receipt")) == 1


def test_a_vaccination_entry_does_not_name_the_vaccinee(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    supply = Distribution(**fields("dist"), codes=(BOXES[0],), receiver_uscc=POV)
    province.supply(PROVINCE_CDC, supply)
    request = Vaccination(
        **fields("vac"), code=dose(2), vaccinator="李护士", vaccinee_ref="child-000042"
    )
    province.svc.vaccinate(POV, request)
    [entry] = province_entries(province, "vaccination")
    assert entry["event"]["codes"] == [dose(2)] and entry["org_uscc"] == POV
    assert entry["request_sha256"] == logged_digest(province, POV, request.client_document_id)
    with read_tx(province.engine) as conn:
        [(_, document)] = province_schema.journal.documents(conn, entry["id"], entry["id"] + 1)
    assert b"child-000042" not in document and b"vaccinee" not in document
    receipts = [e["org_uscc"] for e in province_entries(province, "receipt")]
    assert receipts == [PROVINCE_CDC, POV]  # the CDC's receipt, and the site's of its supply


def test_a_refused_write_is_not_journaled(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.svc.scan(PROVINCE_CDC, "FH1", CASE)
    before = province_entries(province)
    # no temperature record of the journey yet: refused, and nothing at all written
    refused(
        province,
        "no_temperature_record",
        province.svc.confirm_receipt,
        PROVINCE_CDC,
        confirmation("FH1"),
    )
    refused(province, "unknown_note", province.svc.confirm_receipt, POV, confirmation("FH9"))
    assert province_entries(province) == before


def test_a_rejected_scans_audit_is_journaled(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    decision = province.svc.scan(PROVINCE_CDC, "FH1", dose(99))
    assert (decision.result.value, decision.reason.value) == ("rejected", "not_on_note")
    accepted = province.svc.scan(PROVINCE_CDC, "FH1", CASE)
    assert accepted.result.value == "accepted"
    scans = [s for e in province_entries(province, "receipt_scans") for s in e["scans"]]
    assert sorted((s["code"], s["result"], s["reason"]) for s in scans) == sorted(
        [(dose(99), "rejected", "not_on_note"), (CASE, "accepted", "on_note")]
    )
    assert {(s["note_no"], s["operator_uscc"]) for s in scans} == {("FH1", PROVINCE_CDC)}
    table = province_schema.receipt_scan
    with read_tx(province.engine) as conn:
        audited = len(conn.execute(select(table.c.id)).all())
    assert audited == len(scans)  # every audited scan journaled, once


def test_a_write_journals_the_envelope_it_sends_in_its_transaction(province: Province) -> None:
    """With the role's own exchange store (as a node has it), the report a write posts is
    journaled too: its digest, in the write's transaction, before the write's entry."""
    province.svc.outbox = Outbox(province.engine, exchange_store(), PROVINCE_SIGNER, "province-32")
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.svc.scan(PROVINCE_CDC, "FH1", CASE)
    province.journey("FH1")
    before = province_entries(province)
    refused(province, "unknown_note", province.svc.confirm_receipt, POV, confirmation("FH9"))
    result = province.svc.confirm_receipt(PROVINCE_CDC, confirmation("FH1"))
    sent, receipt = province_entries(province)[len(before) :]
    assert (sent["kind"], receipt["kind"]) == ("sent", "receipt")
    assert (
        sent["event_id"]
        == result.body["exchange_event_id"]
        == receipt["response"]["exchange_event_id"]
    )
    assert sent["receiver"] == "platform" and sent["system_id"] == "province-32"
    outbox = province_schema.exchange.outbox
    with read_tx(province.engine) as conn:
        [envelope] = conn.execute(
            select(outbox.c.envelope).where(outbox.c.event_id == sent["event_id"])
        ).scalars()
    payload = gzip.decompress(base64.b64decode(envelope["payload"]))
    assert sent["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert "payload" not in sent


# --- the platform ----------------------------------------------------------------------------

OPERATOR = make_uscc("12100000MB0000001")
CDC = make_uscc("12320000MB0000001")
MAH = make_uscc("91320100MA1X00001")
TRACE_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())


def test_the_platform_journals_its_registry_changes(platform_engine: Engine) -> None:
    platform = PlatformService(platform_engine)
    journal = platform_schema.journal
    cdc = RegisteredOrganisation(
        uscc=CDC, name="示例省疾病预防控制中心", kind="cdc", division_code="320000"
    )
    answer = platform.register_organisation(cdc)
    [entry] = entries(platform_engine, journal, "registry_change")
    assert entry["version"] == answer["version"] and entry["key"] == CDC
    assert entry["change"] == "organisation" and entry["data"] == cdc.model_dump(mode="json")
    assert not platform.register_organisation(cdc)["changed"]  # the same again: no change
    assert len(entries(platform_engine, journal, "registry_change")) == 1
    renamed = cdc.model_copy(update={"name": "示例省疾病预防控制中心（新址）"})
    again = platform.register_organisation(renamed)
    versions = [e["version"] for e in entries(platform_engine, journal, "registry_change")]
    assert versions == [answer["version"], again["version"]]


def test_a_refused_registry_change_is_not_journaled(platform_engine: Engine) -> None:
    platform = PlatformService(platform_engine)
    mah = RegisteredOrganisation(
        uscc=MAH, name="华东示例生物制品股份有限公司", kind="mah", division_code="320100"
    )
    platform.register_organisation(mah)
    before = entries(platform_engine, platform_schema.journal)
    assert [e["kind"] for e in before] == ["registry_change"]
    unknown = ConnectedSystem(
        system_id="province-32",
        name="province-32",
        role="immunization",
        operator_uscc=CDC,  # not registered
        endpoint="https://province-32.example",
        represents=(MAH,),
    )
    with pytest.raises(DomainError) as caught:
        platform.register_system(unknown)
    assert caught.value.reason == "unknown_organisation"
    assert entries(platform_engine, platform_schema.journal) == before


def test_the_platform_journals_the_envelopes_it_takes(platform_engine: Engine) -> None:
    platform = PlatformService(platform_engine)
    mah = RegisteredOrganisation(
        uscc=MAH, name="华东示例生物制品股份有限公司", kind="mah", division_code="320100"
    )
    platform.register_organisation(mah)
    platform.register_system(
        ConnectedSystem(
            system_id="trace-a",
            name="trace-a",
            role="trace",
            operator_uscc=MAH,
            endpoint="https://a.example",
            represents=(MAH,),
            exchange_key=TRACE_SIGNER.public_text(),
        )
    )
    caller = SystemIdentity("trace-a", MAH, 1)
    envelope = seal(
        TRACE_SIGNER,
        system_id="trace-a",
        event_type="20",
        event_subtype="201",
        data_owner=MAH,
        sequence=1,
        payload={"shipping_note": {"n": 1}},
    )
    journal = platform_schema.journal
    before = entries(platform_engine, journal)
    with pytest.raises(DomainError) as caught:  # a forged envelope: refused, not journaled
        platform.receive_envelope(caller, dict(envelope, sequence=7))
    assert caught.value.reason == "bad_signature"
    assert entries(platform_engine, journal) == before
    assert platform.receive_envelope(caller, envelope)["accepted"]
    received = [e for e in entries(platform_engine, journal) if e["kind"] == "received"]
    [entry] = received
    payload = gzip.decompress(base64.b64decode(envelope["payload"]))
    assert entry["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert (entry["event_id"], entry["system_id"]) == (envelope["event_id"], "trace-a")
    after = entries(platform_engine, journal)
    assert platform.receive_envelope(caller, envelope)["duplicate"]  # taken once
    assert entries(platform_engine, journal) == after


# --- supervision -----------------------------------------------------------------------------

PLATFORM_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PLATFORM = SystemIdentity("platform", OPERATOR, 1)
REGULATOR = make_uscc("11320000MB0X00001")


@pytest.fixture
def watch(supervision_engine: Engine) -> SupervisionService:
    svc = SupervisionService(supervision_engine, "platform", PLATFORM_SIGNER.verifier())
    svc.register_organisation(
        Organisation(
            uscc=REGULATOR,
            name="示例省药品监督管理局",
            kind=OrgKind.REGULATOR,
            division_code="320000",
        )
    )
    return svc


def copied(sequence: int, division: str = "320106") -> dict[str, Any]:
    """A step as the platform copies it to supervision."""
    step = {
        "bill_type": "322",
        "org_uscc": MAH,
        "division_code": division,
        "document_no": f"D{sequence}",
        "business_time": "2026-11-20T09:00:00+08:00",
        "codes": [f"8000001000000{sequence:07d}"],
    }
    return seal(
        PLATFORM_SIGNER,
        system_id="platform",
        event_type="20",
        event_subtype="322",
        data_owner=MAH,
        sequence=sequence,
        payload={
            "supervised_step": step,
            "forwarded_from": {"system_id": "province-32", "event_id": f"e-{sequence}"},
        },
    )


def test_supervision_journals_the_envelope_and_the_step_it_takes(
    watch: SupervisionService,
) -> None:
    journal = supervision_schema.journal
    envelope = copied(1)
    assert watch.receive_batch(PLATFORM, [envelope])[0]["accepted"]
    received, step = entries(watch.engine, journal)[-2:]
    assert (received["kind"], step["kind"]) == ("received", "step")
    payload = gzip.decompress(base64.b64decode(envelope["payload"]))
    assert received["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert "payload" not in received  # the payload stays in the inbox
    assert {k: received[k] for k in ("event_id", "system_id", "sequence", "data_owner")} == {
        "event_id": envelope["event_id"],
        "system_id": "platform",
        "sequence": 1,
        "data_owner": MAH,
    }
    assert step["event_id"] == envelope["event_id"] and step["data_owner"] == MAH
    assert step["reported_by"] == "province-32"
    assert (step["step"]["bill_type"], step["step"]["codes"]) == ("322", ["80000010000000000001"])
    before = entries(watch.engine, journal)
    assert watch.receive_batch(PLATFORM, [envelope])[0]["duplicate"]  # taken once
    assert entries(watch.engine, journal) == before


def test_a_refused_batch_is_not_journaled(watch: SupervisionService) -> None:
    journal = supervision_schema.journal
    before = entries(watch.engine, journal)
    with pytest.raises(DomainError) as caught:
        watch.receive_batch(PLATFORM, [copied(1), copied(2, division="32")])
    assert caught.value.reason == "malformed_step"
    assert entries(watch.engine, journal) == before  # not even the first envelope's
