"""A role's log as a service: checkpoints by policy, proofs checked offline, witnessing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from vaxtrace.ledger.checkpoint import Checkpoint, Note, NoteError, SigningKey
from vaxtrace.ledger.proofs import check_proof
from vaxtrace.log.service import CheckpointPolicy, LedgerService, LocalPeerLog
from vaxtrace.store.engine import make_engine, read_tx, write_tx
from vaxtrace.store.ledger import Ledger
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.trace import events, schema
from vaxtrace.store.trace.documents import event_documents


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


def make_node(engine: Engine, folder: Path, name: str, clock: Clock, **kw: object) -> LedgerService:
    key = SigningKey.load_or_create(f"vaxtrace/{name}/trace", folder / f"{name}.key")
    return LedgerService(
        engine,
        Ledger(schema.ledger, event_documents),
        key,
        CheckpointPolicy(seconds=10, events=5),
        clock=clock,
        **kw,
    )  # type: ignore[arg-type]


def write_events(node: LedgerService, n: int, tag: str = "e") -> list[int]:
    ids = []
    for i in range(n):
        with write_tx(node.engine) as conn:
            header = events.EventHeader(
                "201",
                "91320100MA1X000009",
                datetime(2026, 1, 1, tzinfo=UTC),
                f"D{tag}{i}",
                f"{tag}{i}-{datetime.now().timestamp()}",
            )
            event_id = events.append_event(conn, header, {"i": i, "tag": tag})
            node.record(conn, event_id)
            ids.append(event_id)
    return ids


def checkpoint_sizes(node: LedgerService) -> list[int]:
    with read_tx(node.engine) as conn:
        return [
            int(r[0])
            for r in conn.execute(
                text("SELECT tree_size FROM ledger_checkpoint ORDER BY tree_size")
            )
        ]


def test_checkpoints_follow_the_policy(trace_engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    node = make_node(trace_engine, tmp_path, "a", clock)
    write_events(node, 1)
    assert checkpoint_sizes(node) == [1]  # the first event is signed at once
    write_events(node, 3)
    assert checkpoint_sizes(node) == [1]  # neither 10 s nor 5 events yet
    clock.now += 11
    write_events(node, 1)
    assert checkpoint_sizes(node) == [1, 5]
    write_events(node, 5)
    assert checkpoint_sizes(node) == [1, 5, 10]
    note = Note.parse(node.checkpoint())
    assert node.verifier.verify(note) is None
    assert Checkpoint.parse_body(note.body).size == 10


def test_sign_if_due_with_the_writes_tree_size(trace_engine: Engine, tmp_path: Path) -> None:
    """Given the size its write left, the check reads nothing until the latest checkpoint
    this service saw says it is time; one signed meanwhile by another process still counts."""
    clock = Clock()
    node = make_node(trace_engine, tmp_path, "a", clock)
    other = make_node(trace_engine, tmp_path, "a", clock)  # the same node, another process
    statements: list[str] = []
    event.listen(trace_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    serial = count()

    def written(n: int) -> int:
        ids = []
        with write_tx(trace_engine) as conn:
            for _ in range(n):
                i = next(serial)
                header = events.EventHeader(
                    "201", "91320100MA1X000009", datetime(2026, 1, 1, tzinfo=UTC), "D", f"c{i}"
                )
                ids.append(events.append_event(conn, header, {"i": i}))
            size = node.ledger.append_from(conn, ids[0])
        statements.clear()
        return size

    node.sign_if_due(written(1))
    assert checkpoint_sizes(node) == [1]
    for _ in range(3):
        node.sign_if_due(written(1))
        assert statements == []  # neither 10 s nor 5 events since the checkpoint it signed
    clock.now += 11
    node.sign_if_due(written(1))
    assert checkpoint_sizes(node) == [1, 5]
    size = written(4)
    clock.now += 11
    other.sign_if_due()
    node.sign_if_due(size)  # due by what it saw, but the other process signed size 9 just now
    assert checkpoint_sizes(node) == [1, 5, 9]
    node.sign_if_due(written(4))
    assert statements == []
    node.sign_if_due(written(1))
    assert checkpoint_sizes(node) == [1, 5, 9, 14]


def test_inclusion_bundle_checks_offline_and_catches_forgery(
    trace_engine: Engine, tmp_path: Path
) -> None:
    node = make_node(trace_engine, tmp_path, "a", Clock())
    ids = write_events(node, 7)
    bundle = node.inclusion(ids[3])
    assert check_proof(bundle).size == bundle["tree_size"] >= 4
    assert check_proof(bundle, node.verifier).origin == "vaxtrace/a/trace"
    forged = dict(bundle, document=bundle["document"][:-4] + "AAA=")
    with pytest.raises(NoteError, match="does not lead"):
        check_proof(forged)
    stranger = SigningKey.load_or_create("vaxtrace/a/trace", tmp_path / "stranger.key")
    with pytest.raises(NoteError, match=r"no signature|does not verify"):
        check_proof(bundle, stranger.verifier())


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[LedgerService, LedgerService]]:
    engines = []
    clock = Clock()
    nodes = []
    for name in ("log", "witness"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.sqlite")
        upgrade(engine, "trace")
        engines.append(engine)
    witness_key = SigningKey.load_or_create("vaxtrace/w/trace", tmp_path / "w.key")
    log = make_node(
        engines[0], tmp_path, "log", clock, trusted_witnesses=[witness_key.verifier(0x04)]
    )
    witness = LedgerService(
        engines[1],
        Ledger(schema.ledger, event_documents),
        witness_key,
        CheckpointPolicy(10, 5),
        clock=clock,
    )
    nodes = [log, witness]
    yield nodes[0], nodes[1]
    for engine in engines:
        engine.dispose()


def test_a_witness_cosigns_growth(pair: tuple[LedgerService, LedgerService]) -> None:
    log, witness = pair
    write_events(log, 3)
    assert witness.witness(log.verifier, LocalPeerLog(log))["cosigned"]
    write_events(log, 6)
    log.clock.now += 11  # type: ignore[attr-defined]  # pending events are signed when due
    result = witness.witness(log.verifier, LocalPeerLog(log))
    assert result == {"origin": log.origin, "tree_size": 9, "cosigned": True}
    served = Note.parse(log.checkpoint(sign_pending=False))
    assert witness.cosigner().verify(served) is not None  # the cosignature is served back
    assert witness.alerts() == []


def test_a_rewritten_history_is_a_fork_and_is_not_cosigned(
    pair: tuple[LedgerService, LedgerService], tmp_path: Path
) -> None:
    log, witness = pair
    write_events(log, 4)
    log.clock.now += 11  # type: ignore[attr-defined]
    assert witness.witness(log.verifier, LocalPeerLog(log))["tree_size"] == 4
    # the operator rebuilds the log from other history with the same key
    engine = make_engine(f"sqlite:///{tmp_path / 'forked.sqlite'}")
    upgrade(engine, "trace")
    forked = LedgerService(engine, log.ledger, log.key, log.policy, clock=log.clock)
    write_events(forked, 9, tag="other")
    result = witness.witness(log.verifier, LocalPeerLog(forked))
    assert result["cosigned"] is False and result["alert"] == "fork"
    assert [a["kind"] for a in witness.alerts()] == ["fork"]
    again = witness.witness(log.verifier, LocalPeerLog(forked))  # the next round
    assert again["cosigned"] is False and again["alert"] == "fork"
    assert [a["kind"] for a in witness.alerts()] == ["fork"]  # one alert, not one a round
    # a smaller tree is a rollback
    engine2 = make_engine(f"sqlite:///{tmp_path / 'rolled.sqlite'}")
    upgrade(engine2, "trace")
    rolled = LedgerService(engine2, log.ledger, log.key, log.policy, clock=log.clock)
    write_events(rolled, 2, tag="r")
    assert witness.witness(log.verifier, LocalPeerLog(rolled))["alert"] == "rollback"
    engine.dispose()
    engine2.dispose()


def test_cosignatures_from_strangers_are_refused(
    pair: tuple[LedgerService, LedgerService], tmp_path: Path
) -> None:
    log, _ = pair
    write_events(log, 2)
    stranger = SigningKey.load_or_create("vaxtrace/x/trace", tmp_path / "x.key")
    note = Note.parse(log.checkpoint())
    cosigned = note.with_signature(stranger.cosign(note, 1)).text()
    from vaxtrace.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        log.accept_cosignature(cosigned)
    assert refused.value.reason == "unknown_witness"
