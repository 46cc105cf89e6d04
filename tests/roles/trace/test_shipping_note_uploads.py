"""Several shipping notes in one upload (``POST /trace/v1/shipping-note-uploads``): all or none,
each note written as if posted alone (its event, its leaf in the log, its note to the platform),
a retried upload replayed, a refusal naming the note and the field at fault."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.roles.trace.trace_world import (
    World,
    assert_problem,
    expect,
    outbox_notes,
    snapshot,
    with_outbox,
)
from vaxtrace.exchange.envelope import Ed25519Signer
from vaxtrace.ledger import merkle
from vaxtrace.store.engine import read_tx
from vaxtrace.store.trace.documents import TRACE_LEDGER, event_documents

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
UPLOADS = "/shipping-note-uploads"


def _loose_doses(world: World, count: int) -> list[str]:
    boxes = world.children(world.nmpa_cases[1])
    doses = [d for box in boxes for d in world.children(box)]
    return doses[:count]


def _upload(world: World, *groups: list[str]) -> dict[str, Any]:
    return {"shipping_notes": [world.ship_body(codes, len(codes)) for codes in groups]}


def test_every_note_of_an_upload_is_written_as_if_posted_alone(world: World) -> None:
    with_outbox(world, SIGNER)
    doses = _loose_doses(world, 6)
    case = world.nmpa_cases[0]
    body = {
        "shipping_notes": [
            world.ship_body(doses[:2], 2),
            world.ship_body([case], 500),
            world.ship_body(doses[2:6], 4),
        ]
    }
    response = world.post(UPLOADS, body)
    answer = expect(response, 201)
    assert response.headers["Idempotent-Replayed"] == "false"
    notes = answer["shipping_notes"]
    assert [n["doses"] for n in notes] == [2, 500, 4]
    assert [n["document_no"] for n in notes] == [n["document_no"] for n in body["shipping_notes"]]
    assert not any(n["replayed"] for n in notes)
    for code in [*doses, case]:
        assert world.trace(code)["holder_uscc"] == world.cdc.uscc
    # in the outbox in the upload's order, each with the event it records
    sent = outbox_notes(world, SIGNER)
    assert [s["document_no"] for s in sent] == [n["document_no"] for n in notes]
    assert [s["trace_event_id"] for s in sent] == [n["event_id"] for n in notes]
    # each event has its own leaf in the log, over the event as stored
    with read_tx(world.engine) as conn:
        for note in notes:
            event_id = note["event_id"]
            index = TRACE_LEDGER.leaf_of_event(conn, event_id)
            assert index is not None
            [(_, document)] = list(event_documents(conn, event_id, event_id + 1))
            assert TRACE_LEDGER.leaf_hash(conn, index) == merkle.leaf_hash(document)


def test_a_retried_upload_is_answered_again_and_writes_nothing(world: World) -> None:
    body = _upload(world, _loose_doses(world, 3)[:1], _loose_doses(world, 3)[1:])
    first = expect(world.post(UPLOADS, body), 201)
    before = snapshot(world.engine)
    again = world.post(UPLOADS, body)
    assert expect(again, 200) == {
        "shipping_notes": [n | {"replayed": True} for n in first["shipping_notes"]]
    }
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(world.engine) == before


def test_a_note_already_posted_alone_is_replayed_inside_an_upload(world: World) -> None:
    doses = _loose_doses(world, 3)
    alone = world.ship_body(doses[:1], 1)
    posted = world.ok("/shipping-notes", alone)
    response = world.post(UPLOADS, {"shipping_notes": [alone, world.ship_body(doses[1:], 2)]})
    notes = expect(response, 201)["shipping_notes"]
    assert response.headers["Idempotent-Replayed"] == "false"
    assert notes[0] == posted | {"replayed": True}
    assert notes[1]["replayed"] is False and notes[1]["doses"] == 2


def test_one_refused_note_refuses_the_whole_upload(world: World) -> None:
    doses = _loose_doses(world, 4)
    before = snapshot(world.engine)
    body = {
        "shipping_notes": [
            world.ship_body(doses[:2], 2),
            world.ship_body(doses[2:], 3),  # the codes hold 2 doses
        ]
    }
    world.refused(
        world.post(UPLOADS, body),
        422,
        "quantity_mismatch",
        "shipping_notes[1].expected_quantity",
        before,
    )
    response = world.post(UPLOADS, body)
    assert response.json()["detail"].startswith("shipping_notes[1]: ")


def test_a_code_shipped_by_an_earlier_note_of_the_upload_is_refused(world: World) -> None:
    doses = _loose_doses(world, 3)
    before = snapshot(world.engine)
    body = _upload(world, doses[:2], doses[1:])
    world.refused(
        world.post(UPLOADS, body), 409, "already_shipped", "shipping_notes[1].codes", before
    )


def test_an_upload_reusing_a_client_document_id_is_refused(world: World) -> None:
    doses = _loose_doses(world, 2)
    first = world.ship_body(doses[:1], 1)
    second = world.ship_body(doses[1:], 1) | {"client_document_id": first["client_document_id"]}
    before = snapshot(world.engine)
    response = world.post(UPLOADS, {"shipping_notes": [first, second]})
    assert_problem(response, 422, "invalid_value_error", "shipping_notes")
    assert "client_document_id" in response.json()["detail"]
    assert snapshot(world.engine) == before


def test_an_empty_upload_and_one_without_a_token_are_refused(world: World) -> None:
    before = snapshot(world.engine)
    assert_problem(
        world.post(UPLOADS, {"shipping_notes": []}), 422, "invalid_too_short", "shipping_notes"
    )
    body = _upload(world, _loose_doses(world, 1))
    world.refused(world.post(UPLOADS, body, headers={}), 401, "unauthenticated", None, before)


def test_a_note_id_reused_for_another_note_is_named_in_the_refusal(world: World) -> None:
    doses = _loose_doses(world, 3)
    first, second = world.ship_body(doses[:1], 1), world.ship_body(doses[1:2], 1)
    world.ok("/shipping-notes", first)
    world.ok("/shipping-notes", second)
    before = snapshot(world.engine)
    changed = second | {"codes": doses[2:3]}
    world.refused(
        world.post(UPLOADS, {"shipping_notes": [first, changed]}),
        409,
        "client_document_id_reused",
        "shipping_notes[1].client_document_id",
        before,
    )
