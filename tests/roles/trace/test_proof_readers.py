"""Readers entitled (issue 12, rule 2): the log's proof routes give anyone the checkpoint, the
leaf hash and the audit path, enough to check that an event is in the log; the event's
document only to a caller entitled to it: the MAH whose event it is (by its bearer token),
the organisation that recorded it, the MAH of every code a province's report names."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.roles.trace.test_code_record_readers import _used_dose
from tests.roles.trace.trace_world import OtherMah, World, assert_problem, clock_at, expect
from vaxtrace.app import build_app
from vaxtrace.ledger import merkle
from vaxtrace.ledger.checkpoint import Checkpoint, Note, NoteError, VerifierKey
from vaxtrace.ledger.proofs import check_proof
from vaxtrace.node import ledger_service
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.store.trace.documents import TRACE_LEDGER

INCLUSION = "/trace/v1/ledger/proofs/inclusion"


@pytest.fixture
def node(world: World, tmp_path: Path) -> Iterator[TestClient]:
    """The world's trace system with its log (signing checkpoints, serving proofs)."""
    settings = Settings(data_dir=tmp_path / "node")
    ledger = ledger_service(settings, "trace", world.engine, TRACE_LEDGER)
    svc = TraceService(world.engine, ledger, clock=clock_at())
    with TestClient(build_app(settings, roles=("trace",), trace=svc)) as client:
        yield client


def _proof(node: TestClient, event_id: int, headers: dict[str, str] | None = None) -> Any:
    return expect(node.get(INCLUSION, params={"event_id": event_id}, headers=headers or {}), 200)


def _event_ids(world: World, code: str) -> dict[str, int]:
    """The id of each bill type's latest event in a code's history (its MAH reads it)."""
    return {e["bill_type"]: e["event_id"] for e in world.trace(code)["history"]}


def test_anyone_checks_the_path_with_the_leaf_hash_alone(world: World, node: TestClient) -> None:
    event_id = _event_ids(world, world.nmpa_cases[0])["101"]  # the warehousing
    bundle = _proof(node, event_id)
    assert bundle["document"] is None
    key = VerifierKey.parse(bundle["log_key"])
    note = Note.parse(bundle["checkpoint"])
    assert key.verify(note) is None
    root = Checkpoint.parse_body(note.body).root
    path = [base64.b64decode(p) for p in bundle["proof"]]
    leaf = base64.b64decode(bundle["leaf_hash"])
    assert merkle.verify_inclusion(bundle["leaf_index"], bundle["tree_size"], leaf, path, root)
    assert not merkle.verify_inclusion(
        bundle["leaf_index"], bundle["tree_size"], bytes(32), path, root
    )
    assert check_proof(bundle).size == bundle["tree_size"]  # the offline check takes it too
    forged = bundle | {"leaf_hash": base64.b64encode(bytes(32)).decode()}
    with pytest.raises(NoteError, match="does not lead"):
        check_proof(forged)


def test_the_mah_reads_its_events_document(world: World, node: TestClient) -> None:
    event_id = _event_ids(world, world.nmpa_cases[0])["101"]
    bundle = _proof(node, event_id, world.headers)
    document = base64.b64decode(bundle["document"])
    assert json.loads(document)["org_uscc"] == world.mah.uscc
    assert base64.b64decode(bundle["leaf_hash"]) == merkle.leaf_hash(document)
    assert check_proof(bundle).size == bundle["tree_size"]
    other = json.dumps({"not": "the event"}).encode()
    with pytest.raises(NoteError, match="does not lead"):  # a document swapped in the bundle
        check_proof(bundle | {"document": base64.b64encode(other).decode()})
    with pytest.raises(NoteError, match="leaf_hash is not"):  # or the leaf hash beside it
        check_proof(bundle | {"leaf_hash": base64.b64encode(bytes(32)).decode()})


def test_another_mah_and_a_consignee_get_no_document(
    world: World, other_mah: OtherMah, node: TestClient
) -> None:
    event_id = _event_ids(world, world.nmpa_cases[0])["101"]
    anonymous = _proof(node, event_id)
    for headers in (other_mah.headers, world.cdc_headers):
        assert _proof(node, event_id, headers) == anonymous


def test_a_provinces_report_is_read_by_the_mah_of_its_codes(
    world: World, other_mah: OtherMah, node: TestClient
) -> None:
    dose = _used_dose(world)
    events = _event_ids(world, dose)
    receipt, jab = events["107"], events["322"]  # recorded by the CDC, and by the site
    for event_id in (receipt, jab):
        assert _proof(node, event_id, world.headers)["document"] is not None
        assert _proof(node, event_id, other_mah.headers)["document"] is None
    assert _proof(node, receipt, world.cdc_headers)["document"] is not None  # its own report
    assert _proof(node, jab, world.cdc_headers)["document"] is None


def test_a_document_naming_codes_of_two_mahs_is_read_by_neither(
    world: World, other_mah: OtherMah
) -> None:
    both = {"org_uscc": world.cdc.uscc, "codes": [world.nmpa_cases[0], other_mah.cases[0]]}
    document = json.dumps(both).encode()
    for mah in (world.mah.uscc, other_mah.organisation.uscc):
        assert world.service.may_read_event(mah, document) is False
    assert world.service.may_read_event(world.cdc.uscc, document) is True


def test_an_unknown_token_is_refused(world: World, node: TestClient) -> None:
    headers = {"Authorization": "Bearer vt_not-a-token"}
    answer = node.get(INCLUSION, params={"event_id": 1}, headers=headers)
    assert_problem(answer, 401, "unauthenticated", None)
