"""Recipients over HTTP (/immunization/v1/children): what a site's staff send and read, and
every bad input refused as problem+json with its reason and field, nothing written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from province_world import CST, OTHER_POV, POV
from test_api import Desk, desk  # noqa: F401  (the fixture: the app on each backend)
from test_children import resident_id


def child(**extra: Any) -> dict[str, Any]:
    return {
        "name": "陈一鸣",
        "sex": "M",
        "birth_date": "2024-02-29",
        "birth_division": "320102",
        "guardians": [{"name": "陈强", "relation": "father", "phone": "139 0013 9000"}],
        "card_no": "320102-2024-1001",
    } | extra


def test_register_read_and_the_record(desk: Desk) -> None:  # noqa: F811
    sent = desk.post("/children", child(), POV)
    assert sent.status_code == 201, sent.text
    child_id = sent.json()["child"]["child_id"]
    assert sent.json()["child"]["guardians"][0]["phone"] == "13900139000"
    again = desk.post("/children", child(), POV)
    assert (again.status_code, again.json()["child"]["child_id"]) == (200, child_id)
    listed = desk.get("/children", POV)
    assert [c["child_id"] for c in listed.json()] == [child_id]
    record = desk.get(f"/children/{child_id}/record", POV)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["doses"] == [] and body["child"]["name"] == "陈一鸣"
    hepb = next(s for s in body["series"] if s["vaccine"] == "HepB")
    assert hepb["status"] == "overdue" and hepb["next"]["earliest"] == "2024-02-29"
    assert body["school_entry"]["entry_date"] == "2030-02-28"  # a leap day's 6th birthday


def test_bad_input_is_refused_as_a_problem(desk: Desk) -> None:  # noqa: F811
    desk.tokens[OTHER_POV] = desk.province.svc.issue_token(OTHER_POV, "desk")
    tomorrow = (datetime.now(CST) + timedelta(days=2)).date().isoformat()
    before = desk.province.counts()
    cases = [
        (child(birth_date=tomorrow), 422, "birth_in_future", "birth_date"),
        (child(resident_id="320102202402290010"), 422, "invalid_resident_id", "resident_id"),
        (child(site_uscc=OTHER_POV), 403, "not_your_site", "site_uscc"),
        (child(guardians=[{"name": "陈强", "relation": "父", "phone": "911"}]), 422,
         "invalid_phone", "guardians.0.phone"),
    ]  # fmt: skip
    for body, status, reason, field in cases:
        desk.refused(desk.post("/children", body, POV), status, reason, field, before)
    sent = desk.post("/children", child(resident_id=resident_id()), POV)
    desk.refused(sent, 422, "resident_id_mismatch", "resident_id", before)
    child_id = desk.post("/children", child(), POV).json()["child"]["child_id"]
    before = desk.province.counts()
    for path in (f"/children/{child_id}", f"/children/{child_id}/record"):
        desk.refused(desk.get(path, OTHER_POV), 403, "not_your_child", None, before)
    desk.refused(desk.get("/children/ch-00000000000000ff", POV), 404, "unknown_child", None, before)
    twin = child(name="陈一明", card_no="320205-2024-7")
    found = desk.post("/children", twin, OTHER_POV)
    body = desk.refused(found, 409, "possible_duplicate", None, before)
    assert [c["name"] for c in body["candidates"]] == ["陈*鸣"]
    assert (
        desk.post("/children", twin | {"confirm_not_duplicate": True}, OTHER_POV).status_code == 201
    )
    pairs = desk.get("/children/duplicates", OTHER_POV).json()
    assert len(pairs) == 1 and "name_pinyin" in pairs[0]["matched"]


def test_the_record_exports_as_fhir_for_the_managing_site_only(desk: Desk) -> None:  # noqa: F811
    child_id = desk.post("/children", child(), POV).json()["child"]["child_id"]
    sent = desk.get(f"/children/{child_id}/fhir", POV)
    assert sent.status_code == 200, sent.text
    assert sent.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(sent.json())
    kinds = [e.resource.get_resource_type() for e in bundle.entry or []]
    assert kinds == ["Patient", "ImmunizationRecommendation"]  # no dose given yet
    desk.tokens[OTHER_POV] = desk.province.svc.issue_token(OTHER_POV, "desk")
    before = desk.province.counts()
    desk.refused(
        desk.get(f"/children/{child_id}/fhir", OTHER_POV), 403, "not_your_child", None, before
    )
    responses = desk.client.get("/openapi.json").json()["paths"][
        "/immunization/v1/children/{child_id}/fhir"
    ]["get"]["responses"]
    assert set(responses) == {"200", "401", "403", "404", "422"}
    assert "application/fhir+json" in responses["200"]["content"]
