"""A node's log over HTTP: checkpoint, key, proofs, and two nodes witnessing each other."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vaxtrace.app import build_app
from vaxtrace.exchange.ledger_peer import HttpPeerLog
from vaxtrace.ledger import merkle
from vaxtrace.ledger.checkpoint import Checkpoint, Note, VerifierKey
from vaxtrace.ledger.proofs import check_proof
from vaxtrace.settings import Settings
from vaxtrace.sim.province import build_province

LEDGER = "/trace/v1/ledger"


def _node(folder: Path, name: str, witnesses: list[str] | None = None) -> TestClient:
    settings = Settings(
        data_dir=folder,
        node_name=name,
        ledger_witnesses=witnesses or [],
        ledger_checkpoint_events=5,
    )
    return TestClient(build_app(settings))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[TestClient]:
    with _node(tmp_path / "a", "a") as client:
        build_province(client.app.state.trace, units=1000)  # type: ignore[attr-defined]
        yield client


def test_checkpoint_key_and_proofs(node: TestClient) -> None:
    response = node.get(f"{LEDGER}/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    log_key = VerifierKey.parse(node.get(f"{LEDGER}/key").text.splitlines()[0])
    note = Note.parse(response.text)
    assert log_key.verify(note) is None
    checkpoint = Checkpoint.parse_body(note.body)
    assert checkpoint.origin == "vaxtrace/a/trace" and checkpoint.size > 10
    svc = node.app.state.trace  # type: ignore[attr-defined]
    owner = json.loads(base64.b64decode(svc.ledger.inclusion(3)["document"]))["org_uscc"]
    token = {"Authorization": f"Bearer {svc.issue_token(owner)}"}  # the event's MAH
    bundle = node.get(f"{LEDGER}/proofs/inclusion", params={"event_id": 3}, headers=token).json()
    assert check_proof(bundle, log_key).size == bundle["tree_size"]
    proof = node.get(f"{LEDGER}/proofs/consistency", params={"old": 3, "new": checkpoint.size})
    assert proof.status_code == 200
    old = node.get(f"{LEDGER}/proofs/inclusion", params={"event_id": 1, "tree_size": 3})
    assert old.status_code == 404 and old.json()["reason"] == "no_checkpoint"
    bad = node.get(f"{LEDGER}/proofs/consistency", params={"old": 5, "new": 10**9})
    assert bad.status_code == 422 and bad.json()["reason"] == "bad_tree_sizes"
    missing = node.get(f"{LEDGER}/proofs/inclusion", params={"event_id": 10**9})
    assert missing.status_code == 404 and missing.json()["reason"] == "unknown_event"


def test_a_trace_answer_carries_proofs(node: TestClient) -> None:
    svc = node.app.state.trace  # type: ignore[attr-defined]
    with svc.engine.connect() as conn:
        code = conn.exec_driver_sql("SELECT code FROM trace_code WHERE level = 1 LIMIT 1").scalar()
    answer = svc.trace(code, proofs=True)
    log_key = VerifierKey.parse(answer["ledger"]["log_key"])
    for event in answer["history"]:
        p = event["ledger"]
        note = Note.parse(answer["ledger"]["checkpoints"][str(p["tree_size"])])
        assert log_key.verify(note) is None
        root = Checkpoint.parse_body(note.body).root
        leaf = merkle.leaf_hash(base64.b64decode(p["document"]))
        assert merkle.verify_inclusion(
            p["leaf_index"], p["tree_size"], leaf, [base64.b64decode(x) for x in p["proof"]], root
        )


def test_two_nodes_witness_each_other_over_http(tmp_path: Path) -> None:
    with _node(tmp_path / "b", "b") as probe:
        b_cosigner = probe.get(f"{LEDGER}/key").text.splitlines()[1]
    with _node(tmp_path / "a", "a", witnesses=[b_cosigner]) as a, _node(tmp_path / "b", "b") as b:
        build_province(a.app.state.trace, units=1000)  # type: ignore[attr-defined]
        a_key = VerifierKey.parse(a.get(f"{LEDGER}/key").text.splitlines()[0])
        witness = b.app.state.trace.ledger  # type: ignore[attr-defined]
        result = witness.witness(a_key, HttpPeerLog(a, LEDGER))
        assert result["cosigned"] is True
        served = Note.parse(a.get(f"{LEDGER}/checkpoint").text)
        assert VerifierKey.parse(b_cosigner).verify(served) is not None
        assert b.get(f"{LEDGER}/alerts").json() == []
        stranger = a.post(
            f"{LEDGER}/cosignatures",
            content=served.body + "\n",
            headers={"Content-Type": "text/plain"},
        )
        assert stranger.status_code == 422


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/proofs/inclusion", {"event_id": 2**63}, "event_id"),
        ("/proofs/inclusion", {"event_id": 1, "tree_size": 2**63}, "tree_size"),
        ("/proofs/consistency", {"old": 2**63, "new": 2**64}, "old"),
        ("/proofs/consistency", {"old": 1, "new": 10**40}, "new"),
    ],
)
def test_an_integer_no_log_can_hold_is_refused(
    tmp_path: Path, path: str, params: dict[str, int], field: str
) -> None:
    with _node(tmp_path / "a", "a") as client:
        response = client.get(LEDGER + path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field
    assert response.json()["reason"] == "invalid_less_than_equal"
