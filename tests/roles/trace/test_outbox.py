"""A MAH's shipping note leaves for the platform in the ship transaction, with what each
shipped container holds, so the province can verify and break down the delivery."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from tests.roles.trace.trace_world import World, outbox_notes, with_outbox
from vaxtrace.exchange.envelope import Ed25519Signer
from vaxtrace.store.engine import read_tx
from vaxtrace.store.trace.schema import exchange

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())


def test_the_note_carries_the_packing_of_what_was_shipped(world: World) -> None:
    with_outbox(world, SIGNER)
    case = world.nmpa_cases[0]
    boxes = world.children(case)
    loose = world.children(world.children(world.nmpa_cases[1])[0])[:3]
    done = world.ok("/shipping-notes", world.ship_body([case], 500))
    world.ok("/shipping-notes", world.ship_body(loose, 3))
    whole, doses = outbox_notes(world, SIGNER)
    assert whole["codes"] == [case] and whole["doses"] == 500
    assert whole["trace_event_id"] == done["event_id"]
    contents = whole["contents"]
    assert isinstance(contents, dict)
    assert contents[case] == sorted(boxes)
    assert contents[boxes[0]] == sorted(world.children(boxes[0]))
    assert len(contents) == 1 + len(boxes)
    assert doses["codes"] == loose and "contents" not in doses


def test_a_refused_note_leaves_nothing_in_the_outbox(world: World) -> None:
    with_outbox(world, SIGNER)
    refused = world.post("/shipping-notes", world.ship_body([world.nmpa_cases[0]], 499))
    assert refused.status_code == 422
    with read_tx(world.engine) as conn:
        assert conn.execute(select(func.count()).select_from(exchange.outbox)).scalar_one() == 0
