"""Locks (待定 / 待召回 / 异常) with evidence, unlocks, header corrections, and the rule that
codes are issued before a batch is inspected."""

from __future__ import annotations

from trace_world import SHIPPED_AT, World, at, snapshot, write_fields


def _dose_in(world: World, case: str) -> tuple[str, str]:
    box = world.children(case)[0]
    return box, world.children(box)[0]


def test_locking_a_box_locks_its_doses_in_place_and_blocks_shipping(world: World) -> None:
    case = world.nmpa_cases[0]
    box, dose = _dose_in(world, case)
    body = write_fields(
        "lk",
        codes=[box],
        kind="pending",
        reason="疑似冷链异常",
        evidence="TR-2024-001 fridge 3 reached 11.2 °C for 3 h",
    )
    done = world.ok("/locks", body)
    assert done["doses"] == 10 and done["unpacked"] == []
    found = world.trace(dose)
    assert found["status"] == "pending"
    assert found["containers"] == [box, case]  # a lock moves nothing
    lock_event = next(e for e in found["history"] if e["bill_type"] == "lock")
    assert lock_event["payload"]["evidence"].startswith("TR-2024-001")
    before = snapshot(world.engine)
    note = world.ship_body([case], 500)
    world.refused(world.post("/shipping-notes", note), 409, "locked", "codes", before)
    # pending resolves back to normal; the case ships again
    world.ok("/unlocks", write_fields("ul", codes=[box], reason="温度记录复核无异常"))
    assert world.trace(dose)["status"] == "normal"
    world.ok("/shipping-notes", world.ship_body([case], 500))


def test_a_batch_lock_reaches_codes_already_shipped(world: World) -> None:
    case = world.nmpa_cases[0]
    _box, dose = _dose_in(world, case)
    world.ok("/shipping-notes", world.ship_body([case], 500))
    done = world.ok(
        "/locks",
        write_fields(
            "lk", batch_nos=[world.nmpa_batch], kind="abnormal", reason="稳定性考察不合格"
        ),
    )
    assert done["by_status"] == {"abnormal": 1102}
    found = world.trace(dose)
    assert found["status"] == "abnormal" and found["holder_uscc"] == world.cdc.uscc
    # abnormal is not pending: it does not unlock, it may only go back and be destroyed
    before = snapshot(world.engine)
    refused = world.post("/unlocks", write_fields("ul", codes=[dose], reason="x"))
    world.refused(refused, 409, "locked", "codes", before)
    world.ok(
        "/sales-returns",
        write_fields("rt", codes=[case], from_uscc=world.cdc.uscc, reason_code="quality"),
    )
    destroyed = world.ok(
        "/destructions",
        write_fields("xd", codes=[case], reason="异常疫苗销毁", executor="李四", supervisor="王五"),
    )
    assert destroyed["doses"] == 500
    assert world.trace(dose)["status"] == "destroyed"


def test_a_lock_needs_a_reason_and_one_target(world: World) -> None:
    before = snapshot(world.engine)
    no_reason = write_fields("lk", codes=[world.nmpa_cases[0]], kind="pending")
    world.refused(world.post("/locks", no_reason), 422, "invalid_missing", "reason", before)
    both = write_fields(
        "lk", codes=[world.nmpa_cases[0]], batch_nos=[world.nmpa_batch], kind="pending", reason="r"
    )
    response = world.post("/locks", both)
    assert response.status_code == 422 and "either codes or batch_nos" in response.text
    assert snapshot(world.engine) == before


def test_a_correction_is_a_new_event_shown_with_what_it_corrects(world: World) -> None:
    case = world.nmpa_cases[0]
    _box, dose = _dose_in(world, case)
    shipped = world.ok("/shipping-notes", world.ship_body([case], 500))
    before_events = len(world.trace(dose)["history"])
    fix = write_fields(
        "cr",
        corrects_event_id=shipped["event_id"],
        reason="发货单号录入错误",
        corrected={"document_no": "FH-2024-000123"},
    )
    done = world.ok("/corrections", fix)
    history = world.trace(dose)["history"]
    assert len(history) == before_events + 1
    correction = history[-1]
    assert correction["bill_type"] == "correction"
    assert correction["payload"]["corrects_event_id"] == shipped["event_id"]
    assert correction["event_id"] == done["event_id"]
    original = next(e for e in history if e["event_id"] == shipped["event_id"])
    assert original["document_no"] != "FH-2024-000123"  # history itself is never edited


def test_corrections_are_refused_for_foreign_events_and_uncorrectable_fields(
    world: World,
) -> None:
    shipped = world.ok("/shipping-notes", world.ship_body([world.nmpa_cases[0]], 500))
    before = snapshot(world.engine)
    world.refused(
        world.post(
            "/corrections",
            write_fields(
                "cr", corrects_event_id=10_000_000, reason="r", corrected={"document_no": "X"}
            ),
        ),
        404,
        "unknown_event",
        "corrects_event_id",
        before,
    )
    world.refused(
        world.post(
            "/corrections",
            write_fields(
                "cr", corrects_event_id=shipped["event_id"], reason="r", corrected={"codes": "X"}
            ),
        ),
        422,
        "invalid_value_error",
        "corrected",
        before,
    )
    world.refused(
        world.post(
            "/corrections",
            write_fields(
                "cr",
                corrects_event_id=shipped["event_id"],
                reason="r",
                corrected={"business_time": "2024-04-01T09:00:00"},
            ),
        ),
        422,
        "timezone_missing",
        "corrected.business_time",
        before,
    )
    world.refused(
        world.post(
            "/corrections",
            write_fields(
                "cr",
                corrects_event_id=shipped["event_id"],
                reason="r",
                corrected={"document_no": "X"},
            ),
            headers=world.cdc_headers,
        ),
        404,
        "unknown_event",
        "corrects_event_id",
        before,
    )


def test_codes_are_not_issued_into_an_inspected_batch(world: World) -> None:
    before = snapshot(world.engine)
    more = write_fields("com", at(SHIPPED_AT.date()), batch_no=world.nmpa_batch, cases=1)
    world.refused(world.post("/commissions", more), 409, "batch_inspected", "batch_no", before)
