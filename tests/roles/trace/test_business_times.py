"""Business times on the trace node: every write is judged by the one rule of
vaxtrace.core.times (not in the future beyond the clock skew, not before the codes' previous
step, their lot release (a sale) or their production, years 2000–2199), and integers are
bounded to what the database stores. Each refusal is problem+json and changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.roles.trace.trace_world import (
    CERTIFICATE,
    CST,
    NOW,
    PRODUCED,
    SHIPPED_AT,
    World,
    at,
    clock_at,
    expect,
    snapshot,
    write_fields,
)
from vaxtrace.core.errors import DomainError
from vaxtrace.core.times import Clock
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service.downstream import DownstreamReceiver

FAR = "0001-01-01T00:00:00+14:00"
WAREHOUSED = at(PRODUCED, 51)  # when the world's cases went into the MAH's cold store


def note(
    world: World, when: datetime | str, codes: list[str] | None = None, doses: int = 500
) -> dict[str, Any]:
    stamp = when if isinstance(when, str) else when.isoformat()
    return world.ship_body(codes or [world.nmpa_cases[0]], doses, business_time=stamp)


# --- the clock ------------------------------------------------------------------------------


def test_a_note_in_the_future_is_refused_within_the_skew_accepted(world: World) -> None:
    before = snapshot(world.engine)
    ahead = note(world, NOW + timedelta(minutes=6))
    world.refused(world.post("/shipping-notes", ahead), 422, "in_future", "business_time", before)
    tomorrow = note(world, (NOW + timedelta(days=1)).astimezone(UTC))
    world.refused(
        world.post("/shipping-notes", tomorrow), 422, "in_future", "business_time", before
    )
    world.ok("/shipping-notes", note(world, NOW + timedelta(minutes=4)))


def test_the_skew_is_the_nodes_setting(world: World) -> None:
    world.service.clock = Clock(skew=timedelta(hours=1), now=lambda: NOW)
    world.ok("/shipping-notes", note(world, NOW + timedelta(minutes=30)))


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        (FAR, "out_of_range"),
        ("9999-12-31T23:59:59-14:00", "out_of_range"),
        ("1999-12-31T23:59:59+00:00", "out_of_range"),
        ("2000-01-01T07:00:00+08:00", "out_of_range"),  # 1999 in UTC
        ("2024-04-01T09:00:00", "invalid_timezone_aware"),
    ],
)
def test_a_time_no_node_can_store_is_refused_at_parsing(
    world: World, stamp: str, reason: str
) -> None:
    before = snapshot(world.engine)
    world.refused(
        world.post("/shipping-notes", note(world, stamp)), 422, reason, "business_time", before
    )


# --- back-dating ----------------------------------------------------------------------------


def test_a_note_back_dated_before_the_codes_previous_step_is_refused(world: World) -> None:
    before = snapshot(world.engine)
    early = note(world, WAREHOUSED - timedelta(hours=1))
    world.refused(
        world.post("/shipping-notes", early), 422, "before_previous_step", "business_time", before
    )
    # back-dated to 2023, before the batch was even made (the case)
    old = note(world, datetime(2023, 6, 1, 9, tzinfo=CST))
    world.refused(
        world.post("/shipping-notes", old), 422, "before_production", "business_time", before
    )
    world.ok("/shipping-notes", note(world, WAREHOUSED))  # the same instant is not before it


def test_a_box_shipped_out_of_its_case_is_not_dated_before_the_cases_steps(world: World) -> None:
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    dose = world.children(box)[0]
    before = snapshot(world.engine)
    for codes, doses in (([box], 10), ([dose], 1)):
        early = note(world, WAREHOUSED - timedelta(days=1), codes, doses)
        world.refused(
            world.post("/shipping-notes", early),
            422,
            "before_previous_step",
            "business_time",
            before,
        )
    world.ok("/shipping-notes", note(world, WAREHOUSED, [box], 10))


def test_a_sale_before_the_lot_release_is_refused(world: World) -> None:
    cases = world.make_batch(world.gs1, "IPV240301", release=False, warehouse=False)
    world.ok("/warehousings", write_fields("wh", at(PRODUCED, 1), codes=cases, warehouse="A"))
    body = world.lot_release_body("IPV240301", at(PRODUCED, 50), 400)
    expect(world.release(body), 201)
    before = snapshot(world.engine)
    early = note(world, at(PRODUCED, 30), cases, 400)
    world.refused(
        world.post("/shipping-notes", early), 422, "before_lot_release", "business_time", before
    )
    world.ok("/shipping-notes", note(world, at(PRODUCED, 50, 10), cases, 400))


def test_an_upload_names_the_back_dated_note(world: World) -> None:
    before = snapshot(world.engine)
    upload = {
        "shipping_notes": [
            note(world, SHIPPED_AT),
            note(world, WAREHOUSED - timedelta(days=1), [world.nmpa_cases[1]]),
        ]
    }
    world.refused(
        world.post("/shipping-note-uploads", upload),
        422,
        "before_previous_step",
        "shipping_notes[1].business_time",
        before,
    )


def test_batch_steps_keep_their_order(world: World) -> None:
    world.register_batch(world.gs1, "IPV240301", quantity=400)
    before = snapshot(world.engine)
    made_before = write_fields("com", at(PRODUCED, -1), batch_no="IPV240301", cases=1)
    world.refused(
        world.post("/commissions", made_before), 422, "before_production", "business_time", before
    )
    world.ok("/commissions", write_fields("com", at(PRODUCED, 2), batch_no="IPV240301", cases=1))
    before = snapshot(world.engine)
    inspected_before = write_fields(
        "si", at(PRODUCED, 1), batch_no="IPV240301", report_no="QC", conclusion="pass"
    )
    world.refused(
        world.post("/self-inspections", inspected_before),
        422,
        "before_previous_step",
        "business_time",
        before,
    )
    world.self_inspect("IPV240301", at(PRODUCED, 20))
    before = snapshot(world.engine)
    released_before = world.lot_release_body("IPV240301", at(PRODUCED, 19), 400)
    world.refused(
        world.release(released_before), 422, "before_previous_step", "business_time", before
    )
    far = world.lot_release_body("IPV240301", at(PRODUCED, 50), 400) | {"business_time": FAR}
    world.refused(world.release(far), 422, "out_of_range", "data.business_time", before)
    expect(world.release(world.lot_release_body("IPV240301", at(PRODUCED, 50), 400)), 201)


def test_locks_are_not_ordered_after_custody_steps_but_after_production(world: World) -> None:
    case = world.nmpa_cases[0]
    lock = write_fields(
        "lk", WAREHOUSED - timedelta(days=5), codes=[case], kind="pending", reason="复核"
    )
    world.ok("/locks", lock)  # a decision about the codes wherever they are
    before = snapshot(world.engine)
    for target in ({"codes": [world.nmpa_cases[1]]}, {"batch_nos": [world.nmpa_batch]}):
        early = write_fields("lk", at(PRODUCED, -2), kind="pending", reason="复核", **target)
        world.refused(
            world.post("/locks", early), 422, "before_production", "business_time", before
        )
    future = write_fields("lk", NOW + timedelta(hours=1), codes=[case], reason="复核完成")
    world.refused(world.post("/unlocks", future), 422, "in_future", "business_time", before)


def test_packing_is_not_dated_before_the_codes_steps(world: World) -> None:
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    before = snapshot(world.engine)
    early = write_fields("up", WAREHOUSED - timedelta(days=1), parent=case, children=[box])
    world.refused(
        world.post("/unpacks", early), 422, "before_previous_step", "business_time", before
    )
    world.ok("/unpacks", write_fields("up", SHIPPED_AT, parent=case, children=[box]))
    before = snapshot(world.engine)
    back = write_fields("pk", SHIPPED_AT - timedelta(hours=1), parent=case, children=[box])
    world.refused(world.post("/packs", back), 422, "before_previous_step", "business_time", before)


def test_temperatures_and_corrections_are_not_in_the_future(world: World) -> None:
    start = NOW - timedelta(hours=1)
    end = NOW + timedelta(hours=1)
    record = write_fields(
        "tr",
        start,
        kind="storage",
        equipment_id="冷库A",
        start_time=start.isoformat(),
        end_time=end.isoformat(),
        readings=[{"time": start.isoformat(), "celsius": 5.0}],
    )
    before = snapshot(world.engine)
    world.refused(world.post("/temperature-records", record), 422, "in_future", "end_time", before)
    far = record | {"readings": [{"time": FAR, "celsius": 5.0}]}
    world.refused(
        world.post("/temperature-records", far), 422, "out_of_range", "readings.0.time", before
    )
    shipped = world.ok("/shipping-notes", note(world, SHIPPED_AT))
    before = snapshot(world.engine)
    for stamp, reason in (
        (FAR, "out_of_range"),
        ((NOW + timedelta(days=1)).isoformat(), "in_future"),
    ):
        fix = write_fields(
            "cr",
            corrects_event_id=shipped["event_id"],
            reason="时间录入错误",
            corrected={"business_time": stamp},
        )
        world.refused(
            world.post("/corrections", fix), 422, reason, "corrected.business_time", before
        )


# --- integers the database cannot store -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/corrections", "corrects_event_id", 2**63),
        ("/batches", "quantity", 2**31),
        ("/shipping-notes", "expected_quantity", 2**31),
        ("/shipping-notes", "expected_quantity", 10**30),
    ],
)
def test_an_integer_too_large_to_store_is_refused(
    world: World, path: str, field: str, value: int
) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "/corrections": write_fields(
            "cr", corrects_event_id=1, reason="r", corrected={"document_no": "X"}
        ),
        "/batches": {
            "product_code": world.nmpa.product_code,
            "batch_no": "HB240301",
            "production_date": "2024-03-01",
            "expiry_date": "2027-03-01",
            "quantity": 1000,
        },
        "/shipping-notes": note(world, SHIPPED_AT),
    }
    before = snapshot(world.engine)
    response = world.post(path, bodies[path] | {field: value})
    world.refused(response, 422, "invalid_less_than_equal", field, before)


def test_a_lot_release_quantity_too_large_to_store_is_refused(world: World) -> None:
    world.make_batch(world.gs1, "IPV240301", release=False, warehouse=False)
    before = snapshot(world.engine)
    body = world.lot_release_body("IPV240301", at(PRODUCED, 50), 2**31)
    world.refused(world.release(body), 422, "invalid_less_than_equal", "data.quantity", before)
    assert world.release(body | {"quantity": 400}, certificate=CERTIFICATE).status_code == 201


# --- what provinces report ------------------------------------------------------------------

PLATFORM_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PLATFORM = SystemIdentity("platform", "12100000MB0000001P", 1)
_sequence = iter(range(1, 10_000))


def forwarded(event: dict[str, Any]) -> dict[str, Any]:
    n = next(_sequence)
    return dict(
        seal(
            PLATFORM_SIGNER,
            system_id="platform",
            event_type="20",
            event_subtype=event["bill_type"],
            data_owner=event["org_uscc"],
            sequence=n,
            payload={
                "downstream_event": event,
                "forwarded_from": {"system_id": "local-province", "event_id": f"prov-{n}"},
            },
        )
    )


def report(world: World, bill: str, codes: list[str], when: datetime | str) -> dict[str, Any]:
    org = world.pov.uscc if bill == "322" else world.cdc.uscc
    extra: dict[str, Any] = {
        "107": {
            "counterparty_uscc": world.mah.uscc,
            "shipping_note_no": "FH1",
            "verification": "verified",
        },
        "209": {"counterparty_uscc": world.pov.uscc},
        "322": {},
    }[bill]
    return {
        "bill_type": bill,
        "document_no": f"P{bill}-{next(_sequence)}",
        "business_time": when if isinstance(when, str) else when.isoformat(),
        "org_uscc": org,
        "codes": codes,
    } | extra


@pytest.fixture
def receiver(world: World) -> DownstreamReceiver:
    return DownstreamReceiver(world.engine, "platform", PLATFORM_SIGNER.verifier(), clock_at())


def refusal(receiver: DownstreamReceiver, event: dict[str, Any]) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as refused:
        receiver.receive_batch(PLATFORM, [forwarded(event)])
    return refused.value.reason, refused.value.field


def test_a_report_with_a_far_time_is_refused_cleanly(
    world: World, receiver: DownstreamReceiver
) -> None:
    case = world.nmpa_cases[0]
    world.ok("/shipping-notes", note(world, SHIPPED_AT))
    before = snapshot(world.engine)
    for _retry in range(2):  # refused the same way every time, never an OverflowError
        assert refusal(receiver, report(world, "107", [case], FAR)) == (
            "malformed_document",
            "envelopes[0].payload.downstream_event.business_time",
        )
        assert snapshot(world.engine) == before


def test_a_report_is_not_dated_before_the_step_it_follows_nor_in_the_future(
    world: World, receiver: DownstreamReceiver
) -> None:
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    dose = world.children(box)[0]
    world.ok("/shipping-notes", note(world, SHIPPED_AT))
    before = snapshot(world.engine)
    cases = [
        (report(world, "107", [case], SHIPPED_AT - timedelta(hours=1)), "before_previous_step"),
        (report(world, "107", [case], NOW + timedelta(hours=1)), "in_future"),
    ]
    for event, reason in cases:
        assert refusal(receiver, event) == (reason, "envelopes[0].business_time")
        assert snapshot(world.engine) == before
    received = at(SHIPPED_AT.date(), 1)
    receiver.receive_batch(PLATFORM, [forwarded(report(world, "107", [case], received))])
    receiver.receive_batch(PLATFORM, [forwarded(report(world, "209", [box], received))])
    before = snapshot(world.engine)
    jab = report(world, "322", [dose], received - timedelta(minutes=1))
    assert refusal(receiver, jab) == ("before_previous_step", "envelopes[0].business_time")
    assert snapshot(world.engine) == before
    receiver.receive_batch(PLATFORM, [forwarded(report(world, "322", [dose], received))])
    assert world.trace(dose)["status"] == "used"


def test_a_note_for_an_expired_batch_cannot_be_back_dated_past_its_steps(world: World) -> None:
    """The issue's case: a note for an expired batch, back-dated to a time it could be sold."""
    produced, expiry = date(2020, 1, 6), date(2021, 1, 5)
    cases = world.make_batch(world.gs1, "IPV200106", produced=produced, expiry=expiry)
    before = snapshot(world.engine)
    for when, status, reason in (
        (at(expiry, 1), 409, "expired"),  # the goods' state clashes with the sale
        (datetime(2019, 12, 1, 9, tzinfo=CST), 422, "before_production"),
        (at(produced, 30), 422, "before_lot_release"),
        (at(produced, 51, 8), 422, "before_previous_step"),  # an hour before it was warehoused
    ):
        field = "codes" if reason == "expired" else "business_time"
        world.refused(
            world.post("/shipping-notes", note(world, when, cases, 400)),
            status,
            reason,
            field,
            before,
        )
