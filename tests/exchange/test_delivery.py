"""Outbox → inbox: nothing lost while the receiver is down, order kept, each event once,
dead letters after N failures."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine

from vaxtrace.core.errors import Conflict, DomainError
from vaxtrace.exchange.delivery import Inbox, Outbox, Refused, RetryPolicy, take_batch
from vaxtrace.exchange.envelope import Ed25519Signer, open_envelope
from vaxtrace.store.engine import make_engine, read_tx, write_tx
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.platform import schema as platform_schema
from vaxtrace.store.trace import schema as trace_schema

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


class Receiver:
    """The platform side: verifies, records once, remembers what it applied, in order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inbox = Inbox(ExchangeStore(platform_schema.exchange))
        self.up = True
        self.applied: list[int] = []

        self.batches: list[int] = []
        self.refuse: set[int] = set()

    def __call__(self, receiver: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
        if not self.up:
            raise ConnectionError("receiver down")
        self.batches.append(len(envelopes))
        applied = []
        try:
            with write_tx(self.engine) as conn:
                take_batch(envelopes, lambda envelope: self._take(conn, envelope, applied))
        except DomainError as exc:
            raise Refused(str(exc)) from exc
        self.applied += applied

    def _take(self, conn: Connection, envelope: Any, applied: list[int]) -> dict[str, Any]:
        opened = open_envelope(envelope, lambda *_: SIGNER.verifier())
        if opened.payload["n"] in self.refuse:
            raise DomainError("refused", f"refused n={opened.payload['n']}")
        fresh = self.inbox.receive(conn, opened)
        if fresh:
            applied.append(opened.payload["n"])
        return {"accepted": fresh}


@pytest.fixture
def pair(trace_engine: Engine, tmp_path: Path) -> Iterator[tuple[Outbox, Receiver, Clock]]:
    receiver_engine = make_engine(f"sqlite:///{tmp_path / 'platform.sqlite'}")
    upgrade(receiver_engine, "platform")
    clock = Clock()
    outbox = Outbox(
        trace_engine,
        ExchangeStore(trace_schema.exchange),
        SIGNER,
        "trace-a",
        RetryPolicy(base_seconds=1, factor=2, cap_seconds=60, max_attempts=4),
        clock,
    )
    yield outbox, Receiver(receiver_engine), clock
    receiver_engine.dispose()


def post(outbox: Outbox, n: int) -> None:
    with write_tx(outbox.engine) as conn:
        outbox.post(
            conn,
            "platform",
            event_type="20",
            event_subtype="201",
            data_owner="91320100MA1X000009",
            payload={"n": n},
        )


def test_a_receiver_down_for_hours_gets_everything_once_in_order(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, clock = pair
    for n in range(3):
        post(outbox, n)
    assert outbox.deliver_due(receiver).delivered == 3
    receiver.up = False
    for n in range(3, 8):
        post(outbox, n)
    for _ in range(3):  # hours of failures, each round backing off
        assert outbox.deliver_due(receiver).failed == 1
        clock.now += 3600
    receiver.up = True
    report = outbox.deliver_due(receiver)
    assert report.delivered == 5 and report.dead == []
    assert receiver.applied == list(range(8))
    # a retry after a lost acknowledgement is recognised, not applied again
    with read_tx(outbox.engine) as conn:
        first = outbox.store.by_state(conn, "delivered")[0]
    receiver(first["receiver"], [first["envelope"]])
    assert receiver.applied == list(range(8))


def test_backoff_waits_and_dead_letters_can_be_requeued(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, clock = pair
    post(outbox, 0)
    post(outbox, 1)
    receiver.up = False
    assert outbox.deliver_due(receiver).failed == 1
    assert outbox.deliver_due(receiver).failed == 0  # not due yet: 1 s backoff
    for _ in range(3):
        clock.now += 120
        report = outbox.deliver_due(receiver)
    assert report.dead  # the 4th failure gives up on the head …
    assert [d["sequence"] for d in outbox.dead_letters()] == [1]
    for _ in range(3):  # … and the next one is tried at once, then backs off in turn
        clock.now += 120
        outbox.deliver_due(receiver)
    dead = outbox.dead_letters()
    assert [d["sequence"] for d in dead] == [1, 2]
    assert dead[0]["last_error"] == "receiver down"
    receiver.up = True
    for letter in dead:
        outbox.requeue(letter["id"])
    assert outbox.deliver_due(receiver).delivered == 2
    assert receiver.applied == [0, 1] and outbox.dead_letters() == []


def test_a_replayed_old_slot_is_refused(pair: tuple[Outbox, Receiver, Clock]) -> None:
    outbox, receiver, _ = pair
    post(outbox, 0)
    post(outbox, 1)
    outbox.deliver_due(receiver)
    from vaxtrace.exchange.envelope import seal

    replay = seal(
        SIGNER,
        system_id="trace-a",
        event_type="20",
        event_subtype="201",
        data_owner="91320100MA1X000009",
        sequence=1,
        payload={"n": 99},
    )
    with pytest.raises(Conflict) as refused, write_tx(receiver.engine) as conn:
        take_batch([replay], lambda envelope: receiver._take(conn, envelope, []))
    assert refused.value.reason == "stale_sequence"
    assert refused.value.field == "envelopes[0].sequence"
    assert receiver.applied == [0, 1]


def test_queues_leave_in_batches_in_order(pair: tuple[Outbox, Receiver, Clock]) -> None:
    outbox, receiver, _ = pair
    outbox.batch_size = 4
    for n in range(10):
        post(outbox, n)
    assert outbox.deliver_due(receiver).delivered == 10
    assert receiver.batches == [4, 4, 2]
    assert receiver.applied == list(range(10))


def test_a_refused_message_is_found_and_backs_off_alone(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, clock = pair
    receiver.refuse = {2}
    for n in range(5):
        post(outbox, n)
    report = outbox.deliver_due(receiver)
    assert (report.delivered, report.failed) == (2, 1)
    assert receiver.applied == [0, 1]  # the refused batch changed nothing; 3 and 4 wait
    assert receiver.batches == [5, 1, 1, 1]  # once refused, one at a time up to the fault
    for _ in range(3):
        clock.now += 120
        report = outbox.deliver_due(receiver)
    assert report.dead and report.delivered == 2
    assert receiver.applied == [0, 1, 3, 4]
    dead = outbox.dead_letters()
    assert [d["sequence"] for d in dead] == [3] and "refused n=2" in dead[0]["last_error"]


def test_a_batch_is_taken_all_or_none(pair: tuple[Outbox, Receiver, Clock]) -> None:
    outbox, receiver, _ = pair
    for n in range(3):
        post(outbox, n)
    with read_tx(outbox.engine) as conn:
        envelopes = [m["envelope"] for m in outbox.store.queue(conn, "platform", 10)]
    envelopes[2] = dict(envelopes[2]) | {"data_owner": "91320100MA1X00000X"}  # tampered
    with pytest.raises(Refused, match=r"envelopes\[2\]: "):
        receiver("platform", envelopes)
    with read_tx(receiver.engine) as conn:
        assert receiver.inbox.store.last_sequence(conn, "trace-a") == 0
    assert receiver.applied == []


def test_a_queue_another_process_emptied_meanwhile_is_skipped(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, _receiver, _clock = pair
    post(outbox, 0)
    with write_tx(outbox.engine) as conn:
        outbox.post(
            conn,
            "province-32",
            event_type="20",
            event_subtype="201",
            data_owner="91320100MA1X000009",
            payload={"n": 1},
        )
    sent: list[str] = []

    def send(receiver: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
        sent.append(receiver)
        with write_tx(outbox.engine) as conn:  # another node process delivers the rest
            rows = outbox.store.by_state(conn, "pending")
            outbox.store.mark_delivered(conn, [int(r["id"]) for r in rows], outbox._now())

    report = outbox.deliver_due(send)
    assert len(sent) == 1 and report.failed == 0 and outbox.dead_letters() == []
