"""The cold chain through the province's HTTP API on SQLite and PostgreSQL: a CDC or site records
its fridge's readings (JSON or a logger's CSV), an excursion holds every code the unit has in
stock until a named person of that unit decides usable or abnormal, and a series that cannot be
believed is refused as a problem naming the field, with nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from province_world import (
    BOXES,
    CASE,
    CONTENTS,
    CST,
    DOSES,
    PLATFORM_SIGNER,
    POV,
    PROBLEM,
    PROVINCE_CDC,
    Province,
    dose,
    make_province,
)

from vaxtrace.app import build_app
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.settings import Settings
from vaxtrace.store.immunization.coldchain import excursion_state_of

API = "/immunization/v1"
T0 = datetime(2024, 4, 3, 0, 0, tzinfo=CST)
ALL_CODES = sorted([CASE, *BOXES, *DOSES[BOXES[0]], *DOSES[BOXES[1]]])
_ids = iter(range(1, 10_000))


class ColdRoom:
    """A client of the province's API with a stocked provincial CDC and a site."""

    def __init__(self, client: TestClient, province: Province) -> None:
        self.client, self.province = client, province
        self.tokens = {org: province.svc.issue_token(org, "cold") for org in (PROVINCE_CDC, POV)}

    def auth(self, actor: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def post(self, path: str, body: dict[str, Any], actor: str = PROVINCE_CDC) -> Response:
        return self.client.post(API + path, json=body, headers=self.auth(actor))

    def get(self, path: str, actor: str = PROVINCE_CDC, **params: str) -> Response:
        return self.client.get(API + path, params=params, headers=self.auth(actor))

    def record(
        self, readings: list[dict[str, Any]], actor: str = PROVINCE_CDC, **extra: Any
    ) -> Response:
        return self.post("/temperature-records", upload(readings, **extra), actor)

    def upload_csv(self, text: str, actor: str = PROVINCE_CDC, **extra: Any) -> Response:
        form = header(**extra)
        return self.client.post(
            API + "/temperature-records/csv",
            data={k: v for k, v in form.items() if v is not None},
            files={"file": ("logger.csv", text.encode(), "text/csv")},
            headers=self.auth(actor),
        )

    def state_of(self, *codes: str) -> dict[str, str]:
        with self.province.engine.connect() as conn:
            return excursion_state_of(conn, codes)

    def refused(
        self, response: Response, status: int, reason: str, field: str | None
    ) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        body: dict[str, Any] = response.json()
        assert (body["reason"], body.get("field")) == (reason, field), body
        return body


def header(**extra: Any) -> dict[str, Any]:
    return {
        "client_document_id": f"temp-{next(_ids):05d}",
        "equipment_id": "FRIDGE-1",
        "kind": "storage",
        "product_class": "freeze_sensitive_2_8",
    } | extra


def upload(readings: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return header(**extra) | {"readings": readings}


def readings(
    *stretches: tuple[float, int], start: datetime = T0, every: int = 10
) -> list[dict[str, Any]]:
    """Readings every 10 minutes: each stretch (celsius, minutes), then one at 5 °C."""
    found, t = [], start
    for celsius, minutes in stretches:
        for _ in range(minutes // every):
            found.append({"time": t.isoformat(), "celsius": celsius})
            t += timedelta(minutes=every)
    found.append({"time": t.isoformat(), "celsius": 5.0})
    return found


def as_csv(rows: list[dict[str, Any]]) -> str:
    return "time,celsius\n" + "".join(f"{r['time']},{r['celsius']}\n" for r in rows)


@pytest.fixture
def room(database_url: str, tmp_path: Path) -> Iterator[ColdRoom]:
    settings = Settings(
        data_dir=tmp_path,
        immunization_database_url=database_url,
        platform_exchange_key=PLATFORM_SIGNER.public_text(),
    )
    app = build_app(settings, roles=("immunization",))
    svc: ImmunizationService = app.state.immunization
    province = make_province(svc.engine)
    province.svc = svc
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    with TestClient(app) as client:
        yield ColdRoom(client, province)


FREEZE_70_MIN = readings((5.0, 60), (-1.0, 70), (5.0, 60))


def test_a_freeze_holds_the_stock_until_a_person_decides_usable(room: ColdRoom) -> None:
    recorded = room.record(FREEZE_70_MIN)
    assert recorded.status_code == 201, recorded.text
    body = recorded.json()
    assert (body["tier"], body["in_range"], body["readings"]) == ("severe", False, 20)
    [freeze] = body["excursions"]
    assert (freeze["rule"], freeze["tier"], freeze["minutes"], freeze["min_celsius"]) == (
        "freeze",
        "severe",
        70,
        -1.0,
    )
    assert (freeze["state"], freeze["codes_held"]) == ("open", len(ALL_CODES))
    assert datetime.fromisoformat(freeze["start"]) == T0 + timedelta(hours=1)
    listed = room.get("/excursions").json()
    assert [(e["id"], e["state"], e["codes_held"]) for e in listed] == [
        (freeze["id"], "open", len(ALL_CODES))
    ]
    shown = room.get(f"/excursions/{freeze['id']}").json()
    assert shown["held_codes"] == ALL_CODES
    assert room.state_of(dose(1), CASE, dose(99)) == {dose(1): "open", CASE: "open"}

    decided = room.post(
        f"/excursions/{freeze['id']}/decision",
        {"decision": "usable", "decided_by": "王医生", "reason": "VVM and shake test passed"},
    )
    assert decided.status_code == 201, decided.text
    assert (decided.json()["state"], decided.json()["decided_by"]) == ("usable", "王医生")
    assert room.state_of(*ALL_CODES) == {}
    assert room.get("/excursions", state="open").json() == []
    assert [e["state"] for e in room.get("/excursions", state="usable").json()] == ["usable"]


def test_a_retry_is_answered_again_and_writes_nothing(room: ColdRoom) -> None:
    body = upload(FREEZE_70_MIN)
    first = room.post("/temperature-records", body)
    before = room.province.counts()
    again = room.post("/temperature-records", body)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert room.province.counts() == before
    other = room.post("/temperature-records", body | {"equipment_id": "FRIDGE-2"})
    room.refused(other, 409, "client_document_id_reused", "client_document_id")
    assert room.province.counts() == before


def test_abnormal_keeps_the_codes_out_for_good(room: ColdRoom) -> None:
    [freeze] = room.record(FREEZE_70_MIN).json()["excursions"]
    decision = {"decision": "abnormal", "decided_by": "王医生", "reason": "frozen vaccine"}
    path = f"/excursions/{freeze['id']}/decision"
    assert room.post(path, decision).status_code == 201
    assert set(room.state_of(*ALL_CODES).values()) == {"abnormal"}
    again = room.post(path, decision)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    before = room.province.counts()
    changed = room.post(path, decision | {"decision": "usable"})
    room.refused(changed, 409, "excursion_decided", "decision")
    assert room.province.counts() == before
    assert set(room.state_of(*ALL_CODES).values()) == {"abnormal"}


def test_only_the_unit_whose_fridge_it_was_decides(room: ColdRoom) -> None:
    [freeze] = room.record(FREEZE_70_MIN).json()["excursions"]
    decision = {"decision": "usable", "decided_by": "李护士", "reason": "looks fine"}
    before = room.province.counts()
    other = room.post(f"/excursions/{freeze['id']}/decision", decision, actor=POV)
    room.refused(other, 403, "not_your_excursion", None)
    room.refused(room.get(f"/excursions/{freeze['id']}", POV), 403, "not_your_excursion", None)
    assert room.get("/excursions", POV).json() == []
    room.refused(room.post("/excursions/999/decision", decision), 404, "unknown_excursion", None)
    room.refused(
        room.post(f"/excursions/{2**63}/decision", decision),
        422,
        "invalid_less_than_equal",
        "excursion_id",
    )
    assert room.province.counts() == before
    assert room.state_of(dose(1)) == {dose(1): "open"}
    # a decision sent again by another unit is refused too, even once decided
    assert room.post(f"/excursions/{freeze['id']}/decision", decision).status_code == 201
    room.refused(
        room.post(f"/excursions/{freeze['id']}/decision", decision, actor=POV),
        403,
        "not_your_excursion",
        None,
    )


def test_short_freezes_in_separate_uploads_add_up(room: ColdRoom) -> None:
    """A fridge-tag-like device alarms on none of them; the cumulative rule, judging each
    upload with the fridge's readings before it, does."""
    morning = room.record(readings((5.0, 60), (-1.0, 50), (5.0, 60)))
    assert morning.status_code == 201, morning.text
    assert (morning.json()["tier"], morning.json()["excursions"]) == ("notice", [])
    assert morning.json()["notice_count"] == 1
    evening = room.record(readings((5.0, 60), (-1.0, 50), (5.0, 60), start=T0 + timedelta(hours=8)))
    [cumulative] = evening.json()["excursions"]
    assert (cumulative["rule"], cumulative["minutes"]) == ("freeze_cumulative", 100)
    assert datetime.fromisoformat(cumulative["start"]) == T0 + timedelta(hours=1)
    # the same evening sent again with a later reading finds the excursion already recorded
    later = readings((5.0, 60), (-1.0, 50), (5.0, 70), start=T0 + timedelta(hours=8))
    again = room.record(later)
    assert again.status_code == 201, again.text
    assert (again.json()["excursions"], again.json()["known_excursions"]) == (
        [],
        [cumulative["id"]],
    )
    assert (again.json()["readings"], again.json()["new_readings"]) == (19, 1)
    assert len(room.get("/excursions").json()) == 1


def test_a_transport_record_is_one_journey(room: ColdRoom) -> None:
    room.record(readings((5.0, 60), (-1.0, 50), (5.0, 60)), equipment_id="VAN-1", kind="transport")
    second = room.record(
        readings((5.0, 60), (-1.0, 50), start=T0 + timedelta(hours=8)),
        equipment_id="VAN-1",
        kind="transport",
    )
    assert second.json()["excursions"] == [] and second.json()["tier"] == "notice"


def test_an_excursion_at_a_site_holds_only_the_sites_stock(room: ColdRoom) -> None:
    sent = room.post(
        "/distributions",
        {
            "client_document_id": "dist-cold-1",
            "document_no": "DIST-COLD-1",
            "business_time": T0.isoformat(),
            "codes": [BOXES[0]],
            "receiver_uscc": POV,
        },
    )
    assert sent.status_code == 201, sent.text
    scanned = room.post("/receipts/DIST-COLD-1/scans", {"code": BOXES[0]}, POV)
    assert scanned.status_code == 201, scanned.text
    trip = upload(readings((5.0, 60)), kind="transport", related_document_no="DIST-COLD-1")
    assert (
        room.post("/temperature-records", trip | {"equipment_id": "VAN-1"}, POV).status_code == 201
    )
    receipt = {"client_document_id": "rcv-cold-1", "document_no": "RCV-COLD-1"}
    confirmed = room.post(
        "/receipts/DIST-COLD-1/confirm", receipt | {"business_time": T0.isoformat()}, POV
    )
    assert confirmed.status_code == 201, confirmed.text
    heat = readings((5.0, 60), (9.0, 600), (5.0, 60))
    recorded = room.record(heat, actor=POV, equipment_id="SITE-FRIDGE")
    [warning] = recorded.json()["excursions"]
    assert (warning["rule"], warning["tier"], warning["codes_held"]) == ("heat", "warning", 4)
    held = room.get(f"/excursions/{warning['id']}", POV).json()["held_codes"]
    assert held == sorted([BOXES[0], *DOSES[BOXES[0]]])
    assert room.state_of(dose(1), dose(4)) == {dose(1): "open"}
    assert room.get("/excursions").json() == []


def test_a_logger_csv_is_recorded(room: ColdRoom) -> None:
    heat = readings((5.0, 60), (31.0, 600), (5.0, 60))
    recorded = room.upload_csv(as_csv(heat), document_no="LOG-1")
    assert recorded.status_code == 201, recorded.text
    rules = {e["rule"] for e in recorded.json()["excursions"]}
    assert rules == {"heat", "heat_30_cumulative"}
    assert recorded.json()["document_no"] == "LOG-1"
    assert recorded.json()["readings"] == len(heat)


BAD_READINGS = [
    (
        [{"time": T0.isoformat(), "celsius": 4.0}, {"time": T0.isoformat(), "celsius": False}],
        "invalid_float_type",
        "readings.1.celsius",
    ),
    ([{"time": T0.isoformat(), "celsius": "4.5"}], "invalid_float_type", "readings.0.celsius"),
    ([{"time": T0.isoformat(), "celsius": 200.0}], "implausible_temperature", "readings.0.celsius"),
    (
        [{"time": "2024-04-03T08:00:00", "celsius": 4.0}],
        "invalid_timezone_aware",
        "readings.0.time",
    ),
    (
        [*readings((5.0, 30)), {"time": T0.isoformat(), "celsius": 4.0}],
        "readings_out_of_order",
        "readings[4].time",
    ),
    (
        [{"time": T0.isoformat(), "celsius": 4.0}, {"time": T0.isoformat(), "celsius": 4.0}],
        "duplicate_reading_time",
        "readings[1].time",
    ),
    (
        [{"time": (datetime.now(CST) + timedelta(hours=1)).isoformat(), "celsius": 4.0}],
        "reading_in_the_future",
        "readings[0].time",
    ),
    (
        [{"time": "0001-01-01T00:00:00+14:00", "celsius": 4.0}],
        "time_out_of_range",
        "readings[0].time",
    ),
    ([], "invalid_too_short", "readings"),
]


@pytest.mark.parametrize(("rows", "reason", "field"), BAD_READINGS)
def test_a_bad_upload_is_refused_and_nothing_stored(
    room: ColdRoom, rows: list[dict[str, Any]], reason: str, field: str
) -> None:
    before = room.province.counts()
    room.refused(room.record(rows), 422, reason, field)
    assert room.province.counts() == before


def test_bad_headers_and_conflicting_readings_are_refused(room: ColdRoom) -> None:
    assert room.record(FREEZE_70_MIN).status_code == 201
    before = room.province.counts()
    room.refused(
        room.record(FREEZE_70_MIN, product_class="vaccine"),
        422,
        "unknown_product_class",
        "product_class",
    )
    room.refused(room.record(FREEZE_70_MIN, kind="fridge"), 422, "invalid_literal_error", "kind")
    changed = [dict(r) for r in FREEZE_70_MIN]
    changed[3]["celsius"] = 4.0
    room.refused(room.record(changed), 409, "reading_conflict", "readings[3].celsius")
    assert room.province.counts() == before


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("when,temp\n2024-04-03T08:00:00+08:00,4\n", "csv_header", 1),
        ("time,celsius\n2024-04-03T08:00:00+08:00,false\n", "invalid_celsius", 2),
        (
            "time,celsius\n2024-04-03T08:10:00+08:00,4\n2024-04-03T08:00:00+08:00,4\n",
            "readings_out_of_order",
            3,
        ),
        (
            "time,celsius\n2024-04-03T08:00:00+08:00,4\n2024-04-03T08:00:00+08:00,4\n",
            "duplicate_reading_time",
            3,
        ),
        ("time,celsius\n2099-04-03T08:00:00+08:00,4\n", "reading_in_the_future", 2),
    ],
)
def test_a_bad_csv_is_refused_naming_its_line(
    room: ColdRoom, text: str, reason: str, line: int
) -> None:
    before = room.province.counts()
    body = room.refused(room.upload_csv(text), 422, reason, "file")
    assert body["detail"].startswith(f"line {line}: ")
    assert room.province.counts() == before


def test_a_csv_form_is_checked_like_a_json_body(room: ColdRoom) -> None:
    good = as_csv(FREEZE_70_MIN)
    before = room.province.counts()
    room.refused(room.upload_csv(good, kind="fridge"), 422, "invalid_literal_error", "kind")
    missing = room.client.post(
        API + "/temperature-records/csv",
        data={
            "client_document_id": "x-1",
            "kind": "storage",
            "product_class": "freeze_sensitive_2_8",
        },
        files={"file": ("logger.csv", good.encode(), "text/csv")},
        headers=room.auth(PROVINCE_CDC),
    )
    room.refused(missing, 422, "invalid_missing", "equipment_id")
    not_text = room.upload_csv("")
    room.refused(not_text, 422, "csv_header", "file")
    binary = room.client.post(
        API + "/temperature-records/csv",
        data=header(),
        files={"file": ("logger.csv", b"\xff\xfe\x00t", "text/csv")},
        headers=room.auth(PROVINCE_CDC),
    )
    room.refused(binary, 422, "file_not_utf8", "file")
    assert room.province.counts() == before


def test_no_token_no_record(room: ColdRoom) -> None:
    before = room.province.counts()
    anonymous = room.client.post(API + "/temperature-records", json=upload(FREEZE_70_MIN))
    room.refused(anonymous, 401, "unauthenticated", None)
    room.refused(room.client.get(API + "/excursions"), 401, "unauthenticated", None)
    assert room.province.counts() == before


def test_the_openapi_lists_the_refusals(room: ColdRoom) -> None:
    paths = room.client.get("/openapi.json").json()["paths"]
    assert {"201", "401", "409", "422"} <= set(
        paths[API + "/temperature-records"]["post"]["responses"]
    )
    decision = paths[API + "/excursions/{excursion_id}/decision"]["post"]["responses"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(decision)
