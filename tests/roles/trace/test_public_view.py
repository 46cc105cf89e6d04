"""The public view answered at once (one read on the event loop, the platform's every scan)
is the view as the usual route reads it, for every kind of code, fresh after every change."""

from __future__ import annotations

from datetime import timedelta

from trace_world import PRODUCED, SHIPPED_AT, World, at, expect, write_fields

from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.roles.trace.service.queries import consumer_view, consumer_view_at_once

PUBLIC = "/trace/v1/public/codes"


def _both(world: World, code: str) -> dict[str, object]:
    """The view at once, checked against the usual read and the HTTP answer."""
    at_once = consumer_view_at_once(world.engine, code)
    assert at_once is not None
    assert at_once == consumer_view(world.engine, code)
    assert expect(world.client.get(PUBLIC, params={"code": code}), 200) == at_once
    return at_once


def test_every_kind_of_code_reads_the_same_at_once(world: World) -> None:
    case = world.nmpa_cases[0]
    box = world.children(case)[0]
    dose = world.children(box)[0]
    gs1_case = world.gs1_cases[0]
    gs1_box = world.children(gs1_case)[0]
    for code in (case, box, dose, gs1_case, gs1_box, f"{case[:7]} {case[7:]}"):
        view = _both(world, code)
        assert view["lot_release"] is not None and view["mah"] == world.mah.name
    world.register_batch(world.gs1, "IPV240301", quantity=400)
    world.ok("/commissions", write_fields("com", at(PRODUCED), batch_no="IPV240301", cases=1))
    unreleased = world.codes("IPV240301", 1)[0]
    assert _both(world, unreleased)["lot_release"] is None


def test_a_change_of_status_shows_at_once(world: World) -> None:
    case = world.nmpa_cases[0]
    dose = world.children(world.children(case)[0])[0]
    before = _both(world, dose)["status"]
    recall = write_fields(
        "rc",
        SHIPPED_AT + timedelta(days=10),
        recall_no="ZH-2024-009",
        batch_nos=[world.nmpa_batch],
        reason="效价不合格",
        level=2,
        range="province",
    )
    world.ok("/recalls", recall)
    assert before != "recalling" and _both(world, dose)["status"] == "recalling"


def test_unknown_or_unreadable_codes_are_left_to_the_usual_route(world: World) -> None:
    never_issued = issue_nmpa20(world.nmpa_cases[0][:7], 123_456_789)
    for code in (never_issued, "8123", ""):
        assert consumer_view_at_once(world.engine, code) is None
    refused = world.client.get(PUBLIC, params={"code": never_issued})
    assert refused.status_code == 404 and refused.json()["reason"] == "not_commissioned"
    unreadable = world.client.get(PUBLIC, params={"code": "8123"})
    assert unreadable.status_code == 422
    missing = world.client.get(PUBLIC)
    assert missing.status_code == 422
