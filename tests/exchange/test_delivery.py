"""Outbox → inbox: nothing lost while the receiver is down, order kept, each event once,
dead letters after N failures; a message the receiver refuses is final at once and holds up
nothing behind it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, RowMapping

from tests.refusals import refused_with
from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.delivery import (
    ENVELOPE_OVERHEAD,
    Inbox,
    Outbox,
    Refused,
    RetryPolicy,
    take_batch,
)
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
        self.names_the_envelope = True
        """Whether a refusal says which envelope of the batch it is about (as ours do)."""

    def __call__(self, receiver: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
        if not self.up:
            raise ConnectionError("receiver down")
        self.batches.append(len(envelopes))
        applied = []
        try:
            with write_tx(self.engine) as conn:
                take_batch(envelopes, lambda envelope: self._take(conn, envelope, applied))
        except DomainError as exc:
            problem = {"reason": exc.reason, "detail": exc.message, "status": 409}
            if self.names_the_envelope:
                problem["field"] = exc.field
            raise Refused(str(exc), problem, 409) from exc
        self.applied += applied

    def _take(self, conn: Connection, envelope: Any, applied: list[int]) -> dict[str, Any]:
        opened = open_envelope(envelope, lambda *_: SIGNER.verifier())
        if opened.payload["n"] in self.refuse:
            raise DomainError("locked", f"refused n={opened.payload['n']}", field="codes")
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


def post(outbox: Outbox, n: int, pad: int = 0) -> None:
    payload: dict[str, Any] = {"n": n}
    if pad:
        payload["pad"] = os.urandom(pad).hex()
    with write_tx(outbox.engine) as conn:
        outbox.post(
            conn,
            "platform",
            event_type="20",
            event_subtype="201",
            data_owner="91320100MA1X000009",
            payload=payload,
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
    with refused_with(409) as refused, write_tx(receiver.engine) as conn:
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


def test_batches_are_cut_by_bytes_too(pair: tuple[Outbox, Receiver, Clock]) -> None:
    """Large envelopes go in several requests under the byte limit, in order, none lost."""
    outbox, receiver, _ = pair
    outbox.batch_size = 50
    for n in range(7):
        post(outbox, n, pad=20_000)  # incompressible padding: ~30 kB of base64 each
    with read_tx(outbox.engine) as conn:
        queued = outbox.store.queue(conn, "platform", 50)
    largest = max(len(m["envelope"]["payload"]) for m in queued) + ENVELOPE_OVERHEAD
    outbox.batch_bytes = 2 * largest + largest // 2  # two envelopes a request
    assert outbox.deliver_due(receiver).delivered == 7
    assert receiver.batches == [2, 2, 2, 1]
    assert receiver.applied == list(range(7))
    outbox.batch_bytes = 1_000  # smaller than one envelope: each goes alone
    for n in range(7, 9):
        post(outbox, n, pad=20_000)
    assert outbox.deliver_due(receiver).delivered == 2
    assert receiver.batches[-2:] == [1, 1]


def test_a_refused_message_is_final_at_once_and_the_next_goes_in_the_same_round(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, _clock = pair
    told: list[tuple[int, str, str | None, str]] = []

    def tell(conn: Connection, message: RowMapping, refused: Refused) -> None:
        assert conn.in_transaction()
        told.append((int(message["sequence"]), refused.reason, refused.field, refused.detail))

    outbox.on_refused = tell
    receiver.refuse = {2}
    for n in range(5):
        post(outbox, n)
    report = outbox.deliver_due(receiver)
    assert (report.delivered, report.failed, len(report.refused)) == (4, 0, 1)
    assert receiver.applied == [0, 1, 3, 4]  # nothing waits behind the refused one
    # the refusal named envelopes[2]: the two before it went as a batch, then it alone
    # (refused again: final), then the rest
    assert receiver.batches == [5, 2, 1, 2]
    (dead,) = outbox.dead_letters()
    assert (dead["sequence"], dead["state"], dead["attempts"]) == (3, "refused", 1)
    assert dead["last_error"] == "refused: 409 locked (codes): refused n=2"
    # the node was told with the receiver's reason, as if the message had gone alone
    assert told == [(3, "locked", "codes", "refused n=2")]
    assert outbox.deliver_due(receiver).delivered == 0  # final: never sent again


def test_a_receiver_wrong_about_which_envelope_loses_nothing(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, _clock = pair
    refusals = iter([{"reason": "locked", "field": "envelopes[0].codes"}])

    def wrong_once(name: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
        problem = next(refusals, None)
        if problem is not None:
            receiver.batches.append(len(envelopes))
            raise Refused("refused", problem, 409)
        receiver(name, envelopes)

    for n in range(3):
        post(outbox, n)
    report = outbox.deliver_due(wrong_once)
    assert (report.delivered, report.refused) == (3, [])
    assert receiver.batches == [3, 1, 2] and receiver.applied == [0, 1, 2]


def test_a_refusal_naming_no_envelope_is_found_one_at_a_time(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, _clock = pair
    receiver.names_the_envelope = False
    receiver.refuse = {2}
    for n in range(5):
        post(outbox, n)
    report = outbox.deliver_due(receiver)
    assert (report.delivered, report.failed, len(report.refused)) == (4, 0, 1)
    assert receiver.batches == [5, 1, 1, 1, 2]
    assert receiver.applied == [0, 1, 3, 4]
    assert [d["state"] for d in outbox.dead_letters()] == ["refused"]


def test_a_transport_failure_still_backs_off_behind_a_refusal(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, clock = pair
    receiver.refuse = {0}
    post(outbox, 0)
    post(outbox, 1)
    receiver.up = False
    report = outbox.deliver_due(receiver)  # down: nothing is judged, the head backs off
    assert (report.failed, report.refused) == (1, [])
    assert outbox.deliver_due(receiver).failed == 0  # not due yet
    receiver.up = True
    clock.now += 2
    report = outbox.deliver_due(receiver)
    assert (report.delivered, len(report.refused)) == (1, 1) and receiver.applied == [1]
    (dead,) = outbox.dead_letters()
    assert dead["attempts"] == 2  # one failure, then its refusal


def test_a_refusal_the_node_cannot_record_leaves_the_message_queued(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    """Made final and told in one transaction: if telling fails, nothing changed."""
    outbox, receiver, _clock = pair

    def broken(_conn: Connection, _message: RowMapping, _refused: Refused) -> None:
        raise RuntimeError("database is locked")

    outbox.on_refused = broken
    receiver.refuse = {0}
    post(outbox, 0)
    with pytest.raises(RuntimeError):
        outbox.deliver_due(receiver)
    assert outbox.dead_letters() == []
    with read_tx(outbox.engine) as conn:
        (row,) = outbox.store.by_state(conn, "pending")
    assert row["attempts"] == 0


def test_a_requeued_refusal_goes_again_at_the_end_of_its_queue(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, _clock = pair
    receiver.refuse = {1}
    for n in range(3):
        post(outbox, n)
    outbox.deliver_due(receiver)
    (dead,) = outbox.dead_letters()
    receiver.refuse = set()  # the receiver's record was mended
    assert outbox.requeue(int(dead["id"])) == 4  # a new slot: 3 was taken since
    assert outbox.deliver_due(receiver).delivered == 1
    assert receiver.applied == [0, 2, 1] and outbox.dead_letters() == []
    with read_tx(outbox.engine) as conn:
        again = outbox.store.message(conn, int(dead["id"]))
    assert again is not None and again["event_id"] == dead["event_id"]
    with refused_with(404):
        outbox.requeue(int(dead["id"]))  # delivered: not a dead letter


def test_health_tells_the_backlog_its_age_and_dead_letters(
    pair: tuple[Outbox, Receiver, Clock],
) -> None:
    outbox, receiver, clock = pair
    assert outbox.health() == {
        "system_id": "trace-a",
        "pending": 0,
        "oldest_pending_seconds": None,
        "dead_letters": {},
    }
    receiver.refuse = {0}
    post(outbox, 0)
    post(outbox, 1)
    outbox.deliver_due(receiver)
    receiver.up = False
    post(outbox, 2)
    clock.now += 30
    post(outbox, 3)
    outbox.deliver_due(receiver)
    assert outbox.health() == {
        "system_id": "trace-a",
        "pending": 2,
        "oldest_pending_seconds": 30.0,
        "dead_letters": {"platform": 1},
    }


def test_a_refusal_of_one_envelope_reads_as_if_it_went_alone() -> None:
    refused = Refused(
        "platform refused the batch",
        {"reason": "locked", "field": "envelopes[3].codes", "detail": "envelopes[3]: locked"},
        409,
    )
    assert refused.place(5) == 3 and refused.place(3) is None
    alone = refused.of_item(3)
    assert alone.parts == (409, "locked", "codes", "locked")
    whole = Refused("x", {"reason": "forbidden", "field": "envelopes[0]"}, 403).of_item(0)
    assert whole.field is None and whole.place(1) is None
    assert Refused("x", {"reason": "batch_size", "field": "envelopes"}).place(2) is None


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
