"""Every role of ``--role all`` keeps a log the three others witness: each checkpoint carries
their cosignatures; a journal entry's proof is anyone's, its document only the unit's it
concerns; and a role's log rewritten behind its back is a fork its witnesses refuse to cosign
and raise an alert of. On the demo's data, the province's database on each backend."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from vaxtrace import demo
from vaxtrace.ledger import merkle
from vaxtrace.ledger.checkpoint import Checkpoint, Note, VerifierKey
from vaxtrace.ledger.proofs import check_proof
from vaxtrace.log.service import LedgerService, witness_one_another
from vaxtrace.settings import Settings
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization.schema import journal
from vaxtrace.store.migrations.log_tables import LOG_HISTORY

ROLES = ("trace", "platform", "immunization", "supervision")
PROOFS = "/immunization/v1/ledger/proofs/inclusion"


@pytest.fixture
def federation(database_url: str, tmp_path: Path) -> Iterator[demo.Demo]:
    """The demo's four roles in one app, after its run (the province's database on the
    backend under test, the others on SQLite files)."""
    on_postgresql = database_url.startswith("postgresql")
    settings = Settings(
        data_dir=tmp_path / "data",
        immunization_database_url=database_url if on_postgresql else None,
    )
    built = demo.build(settings, 1000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    assert built.failures == []
    yield built
    for svc in (built.app.state.trace, built.app.state.platform):
        svc.engine.dispose()
    for svc in (built.app.state.immunization, built.app.state.supervision):
        svc.engine.dispose()


def logs_of(built: demo.Demo) -> dict[str, LedgerService]:
    logs: dict[str, LedgerService] = built.app.state.logs
    return logs


def a_receipt(built: demo.Demo) -> dict[str, Any]:
    """A receipt the province journaled (a unit's write: its entry names the unit)."""
    with read_tx(built.app.state.immunization.engine) as conn:
        return journal.entries(conn, "receipt")[0]


def test_each_roles_checkpoint_is_cosigned_by_the_three_others(
    federation: demo.Demo,
) -> None:
    logs = logs_of(federation)
    assert sorted(logs) == sorted(ROLES)
    answers = witness_one_another(list(logs.values()))
    assert len(answers) == 4 * 3 and all(a["cosigned"] for a in answers), answers
    for role, log in logs.items():
        note = Note.parse(log.checkpoint(sign_pending=False))
        assert log.verifier.verify(note) is None
        others = [other for other in logs.values() if other is not log]
        for other in others:
            assert isinstance(other.cosigner().verify(note), int)  # a timed cosignature
        assert {s.name for s in note.signatures} == {log.origin} | {o.origin for o in others}
        assert log.origin == f"vaxtrace/local/{role}"
        with read_tx(log.engine) as conn:
            assert Checkpoint.parse_body(note.body).size == log.ledger.size(conn)


def test_a_journal_entrys_document_is_the_concerned_units_only(federation: demo.Demo) -> None:
    client = TestClient(federation.app)
    province = federation.app.state.immunization
    receipt = a_receipt(federation)
    unit = receipt["org_uscc"]
    other_unit = next(uscc for uscc in federation.staff if uscc != unit)
    query = {"event_id": receipt["id"]}
    log_key = VerifierKey.parse(client.get("/immunization/v1/ledger/key").text.splitlines()[0])

    anyone = client.get(PROOFS, params=query)
    assert anyone.status_code == 200, anyone.text
    bundle = anyone.json()
    assert bundle["document"] is None  # the hashes and the path only
    assert check_proof(bundle, log_key).size == bundle["tree_size"]

    def as_unit(uscc: str) -> dict[str, Any]:
        token = province.issue_token(uscc)
        answer = client.get(PROOFS, params=query, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    entitled = as_unit(unit)
    document = base64.b64decode(entitled["document"])
    assert json.loads(document) | {"id": receipt["id"]} == receipt
    assert merkle.leaf_hash(document) == base64.b64decode(entitled["leaf_hash"])
    assert check_proof(entitled, log_key).size == entitled["tree_size"]
    assert as_unit(other_unit)["document"] is None  # another unit of the province
    mah = federation.province.tokens[next(iter(federation.province.tokens))]
    foreign = client.get(PROOFS, params=query, headers={"Authorization": f"Bearer {mah}"})
    assert foreign.status_code == 401  # a MAH's token at the trace node is no staff's here


@pytest.mark.parametrize("then", ["same size", "grown"])
def test_a_rewritten_journal_is_a_fork_its_witnesses_refuse(
    federation: demo.Demo, then: str
) -> None:
    logs = logs_of(federation)
    assert all(a["cosigned"] for a in witness_one_another(list(logs.values())))
    province = logs["immunization"]
    with read_tx(province.engine) as conn:
        size = province.ledger.size(conn)
    forged = a_receipt(federation)["id"]
    url = federation.settings.database_url("immunization")
    engine = create_engine(url)
    with engine.begin() as conn:  # the operator rewrites the log over an altered receipt
        drop_append_only(conn, LOG_HISTORY)
        conn.execute(
            text("UPDATE log_entry SET document = :d WHERE id = :i"),
            {"d": json.dumps({"kind": "receipt", "forged": True}).encode(), "i": forged},
        )
        for table in ("ledger_cosignature", "ledger_checkpoint", "ledger_node", "ledger_leaf"):
            conn.execute(text(f"DELETE FROM {table}"))
        assert journal.ledger.append_from(conn, 1) == size
        if then == "grown":
            assert journal.keep(conn, "alert", {"note": "after the rewrite"}) == size + 1
    engine.dispose()

    answers = witness_one_another(list(logs.values()))  # the province signs its rewrite first
    of_province = [a for a in answers if a.get("origin") == province.origin]
    assert len(of_province) == 3
    for answer in of_province:
        assert answer["cosigned"] is False and answer["alert"] == "fork", answer
    others = [a for a in answers if a.get("origin") != province.origin]
    assert len(others) == 9 and all(a["cosigned"] for a in others), others
    note = Note.parse(province.checkpoint(sign_pending=False))
    assert [s.name for s in note.signatures] == [province.origin]  # nobody cosigned it

    client = TestClient(federation.app)
    for role in ("trace", "platform", "supervision"):
        alerts = client.get(f"/{role}/v1/ledger/alerts").json()
        forks = [a for a in alerts if a["origin"] == province.origin]
        assert [a["kind"] for a in forks] == ["fork"], alerts
    assert client.get("/immunization/v1/ledger/alerts").json() == []
