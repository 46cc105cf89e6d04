"""The province's HTTP API (/immunization/v1) on a real app: bearer tokens for the staff of its
CDCs and vaccination sites, scans answered by decision, writes idempotent by client document id,
refusals as RFC 9457 problems that change nothing, each write reported through the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from province_world import (
    BOXES,
    CASE,
    CONTENTS,
    MAH,
    PLATFORM_SIGNER,
    POV,
    PROBLEM,
    PROVINCE_CDC,
    PROVINCE_SIGNER,
    RECEIVED_AT,
    Province,
    dose,
    fields,
    make_province,
)
from sqlalchemy import select

from tests.journeys import journey_record
from vaxtrace.app import build_app
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.settings import Settings
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.immunization import schema

API = "/immunization/v1"


class Desk:
    """A client of the province's API, and the province behind it."""

    def __init__(self, client: TestClient, province: Province) -> None:
        self.client, self.province = client, province
        self.tokens = {org: province.svc.issue_token(org, "desk") for org in (PROVINCE_CDC, POV)}

    def post(self, path: str, body: dict[str, Any], actor: str = PROVINCE_CDC) -> Response:
        return self.client.post(API + path, json=body, headers=self.auth(actor))

    def get(self, path: str, actor: str = PROVINCE_CDC, **params: str) -> Response:
        return self.client.get(API + path, params=params, headers=self.auth(actor))

    def journey(self, note_no: str, actor: str = PROVINCE_CDC) -> None:
        """The receiver uploads the delivery's journey record (in range) before confirming."""
        trip = journey_record(note_no, RECEIVED_AT)
        answer = self.post("/temperature-records", trip, actor)
        assert answer.status_code == 201, answer.text

    def auth(self, actor: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def refused(
        self, response: Response, status: int, reason: str, field: str | None, before: Any
    ) -> dict[str, Any]:
        """An RFC 9457 refusal naming reason and field, with every table as it was."""
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        body: dict[str, Any] = response.json()
        assert (body["reason"], body.get("field"), body["status"]) == (reason, field, status)
        assert self.province.counts() == before
        return body


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def write(prefix: str, **extra: Any) -> dict[str, Any]:
    return jsonable(fields(prefix)) | extra


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(
        data_dir=tmp_path,
        immunization_database_url=database_url,
        platform_exchange_key=PLATFORM_SIGNER.public_text(),
    )
    app = build_app(settings, roles=("immunization",))
    svc: ImmunizationService = app.state.immunization
    svc.outbox = Outbox(svc.engine, ExchangeStore(schema.exchange), PROVINCE_SIGNER, "province-32")
    province = make_province(svc.engine)
    province.svc = svc  # the app's own service: the organisations are in its database
    with TestClient(app) as client:
        yield Desk(client, province)


def test_no_token_no_access(desk: Desk) -> None:
    before = desk.province.counts()
    for response in (
        desk.client.post(f"{API}/distributions", json=write("d")),
        desk.client.get(f"{API}/stock", headers={"Authorization": "Bearer vt_nope"}),
        desk.client.post(f"{API}/receipts/FH1/scans", json={"code": dose(1)}),
    ):
        desk.refused(response, 401, "unauthenticated", None, before)
        assert response.headers["www-authenticate"] == "Bearer"


def test_scan_confirm_distribute_vaccinate(desk: Desk) -> None:
    desk.province.announce("FH1", [CASE], contents=CONTENTS)
    assert [n["note_no"] for n in desk.get("/receipts").json()] == ["FH1"]
    first = desk.post("/receipts/FH1/scans", {"code": CASE})
    assert first.status_code == 201 and first.json()["result"] == "accepted"
    again = desk.post("/receipts/FH1/scans", {"code": f"{CASE[:7]} {CASE[7:]}"})
    assert again.status_code == 200 and again.json()["reason"] == "already_scanned"
    before = desk.province.counts()
    stray = desk.post("/receipts/FH1/scans", {"code": dose(99)})
    body = desk.refused(
        stray, 422, "not_on_note", "code", {**desk.province.journaled(before), "receipt_scan": 3}
    )
    assert body["result"] == "rejected" and body["code"] == dose(99)
    assert desk.get("/receipts/FH1").json()["verification"] == "verified"

    confirm = write("rcv")
    desk.journey("FH1")
    done = desk.post("/receipts/FH1/confirm", confirm)
    assert done.status_code == 201, done.text
    assert done.headers["idempotent-replayed"] == "false"
    assert done.json()["verification"] == "verified"
    replay = desk.post("/receipts/FH1/confirm", confirm)
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == done.json()

    supplied = write("dist", codes=[BOXES[0]], receiver_uscc=POV)
    sent = desk.post("/distributions", supplied)
    assert sent.status_code == 201, sent.text
    note_no = supplied["document_no"]
    (expected,) = desk.get("/receipts", POV).json()
    assert {k: expected[k] for k in ("note_no", "kind", "shipper_uscc", "state", "doses")} == {
        "note_no": note_no,
        "kind": "distribution",
        "shipper_uscc": PROVINCE_CDC,
        "state": "open",
        "doses": 3,
    }
    assert desk.get("/stock", POV).json()["by_state"] == {"in_transit": 4}
    vaccination = write("vac", code=dose(2), vaccinee_ref="c-1", vaccinator="李护士")
    early = desk.post("/vaccinations", vaccination, actor=POV)
    assert early.status_code == 409, early.text
    assert (early.json()["reason"], early.json()["reasons"]) == (
        "receipt_not_confirmed",
        ["receipt_not_confirmed"],
    )

    assert desk.post(f"/receipts/{note_no}/scans", {"code": BOXES[0]}, POV).status_code == 201
    progress = desk.get(f"/receipts/{note_no}", POV).json()
    assert (progress["verification"], progress["state"]) == ("verified", "open")
    desk.journey(note_no, POV)
    arrived = desk.post(f"/receipts/{note_no}/confirm", write("rcv"), POV)
    assert arrived.status_code == 201, arrived.text
    assert (arrived.json()["state"], arrived.json()["in_stock"]) == ("received", 4)
    used = desk.post("/vaccinations", vaccination, actor=POV)
    assert used.status_code == 201, used.text
    assert desk.get("/stock", POV, code=dose(2)).json()["state"] == "used"
    assert desk.get("/stock", POV).json()["by_state"] == {"in_stock": 3, "used": 1}
    reports = [(e.bill_type, e.org_uscc) for _, e in desk.province.reports()]
    assert reports == [
        (DownstreamBill.RECEIPT, PROVINCE_CDC),
        (DownstreamBill.DISTRIBUTION, PROVINCE_CDC),
        (DownstreamBill.RECEIPT, POV),
        (DownstreamBill.VACCINATION, POV),
    ]


def test_returns_and_damage(desk: Desk) -> None:
    desk.province.announce("FH1", [CASE], contents=CONTENTS)
    desk.post("/receipts/FH1/scans", {"code": CASE})
    desk.journey("FH1")
    desk.post("/receipts/FH1/confirm", write("rcv"))
    back = desk.post(
        "/returns",
        write("ret", codes=[BOXES[0]], counterparty_uscc=MAH, reason_code="quality"),
    )
    assert back.status_code == 201, back.text
    assert back.json()["state"] == "returned"
    broken = desk.post("/damage-reports", write("dmg", codes=[dose(4)], reason="broken vial"))
    assert broken.status_code == 201, broken.text
    assert desk.get("/stock", code=dose(4)).json()["state"] == "damaged"


def test_refusals_are_problems_that_change_nothing(desk: Desk) -> None:
    desk.province.announce("FH1", [dose(1)])
    before = desk.province.counts()
    desk.refused(
        desk.post("/receipts/FH1/confirm", write("rcv")),
        422,
        "nothing_scanned",
        "shipping_note_no",
        before,
    )
    desk.refused(
        desk.post("/receipts/NONE/confirm", write("rcv")), 404, "unknown_note", None, before
    )
    desk.refused(
        desk.post("/distributions", write("dist", codes=[dose(1)], receiver_uscc=POV)),
        422,
        "unknown_code",
        "codes",
        before,
    )
    desk.refused(
        desk.post("/vaccinations", write("vac", code=dose(1), vaccinator="李护士")),
        422,
        "wrong_organisation_kind",
        None,
        before,
    )
    desk.refused(
        desk.post("/returns", write("ret", codes=[dose(1)], counterparty_uscc=MAH)),
        422,
        "invalid_missing",
        "reason_code",
        before,
    )
    desk.refused(desk.get("/stock", code=dose(1)), 404, "not_in_your_stock", "code", before)
    rejected = desk.post("/receipts/FH1/scans", {"code": "12345"})
    desk.refused(
        rejected,
        422,
        "malformed_code",
        "code",
        {**desk.province.journaled(before), "receipt_scan": 1},
    )
    other = desk.post("/receipts/NONE/scans", {"code": dose(1)})
    desk.refused(
        other, 404, "unknown_note", None, {**desk.province.journaled(before, 2), "receipt_scan": 2}
    )


def _at_the_site(desk: Desk) -> None:
    desk.province.announce("FH1", [CASE], contents=CONTENTS)
    desk.post("/receipts/FH1/scans", {"code": CASE})
    desk.journey("FH1")
    assert desk.post("/receipts/FH1/confirm", write("rcv")).status_code == 201
    supplied = write("dist", codes=[BOXES[0]], receiver_uscc=POV)
    assert desk.post("/distributions", supplied).status_code == 201
    note_no = supplied["document_no"]
    assert desk.post(f"/receipts/{note_no}/scans", {"code": BOXES[0]}, POV).status_code == 201
    desk.journey(note_no, POV)
    assert desk.post(f"/receipts/{note_no}/confirm", write("rcv"), POV).status_code == 201


def test_the_vaccination_record_the_law_asks_for(desk: Desk) -> None:
    _at_the_site(desk)
    given = write("vac", code=dose(1), vaccinee_ref="c-1", vaccinator="李护士", dose_number=2)
    assert desk.post("/vaccinations", given, actor=POV).status_code == 201
    (record,) = desk.get("/vaccinations", POV, vaccinee_ref="c-1").json()
    assert {k: record[k] for k in ("code", "vaccinator", "dose_number", "site_uscc")} == {
        "code": dose(1),
        "vaccinator": "李护士",
        "dose_number": 2,
        "site_uscc": POV,
    }
    assert (record["mah_uscc"], record["batch_no"], record["expiry_date"]) == (
        MAH,
        "B2024001",
        "2028-12-31",
    )
    assert record["product_code"] == "HEPB-10" and record["undone_by"] is None
    assert desk.get("/vaccinations", POV, vaccinee_ref="c-2").json() == []
    before = desk.province.counts()
    nameless = desk.post("/vaccinations", write("vac", code=dose(2)), actor=POV)
    desk.refused(nameless, 422, "invalid_missing", "vaccinator", before)


def test_whoever_recorded_a_vaccination_may_undo_it_within_the_window(desk: Desk) -> None:
    _at_the_site(desk)
    given = write("vac", code=dose(1), vaccinator="李护士")
    assert desk.post("/vaccinations", given, actor=POV).status_code == 201
    other_nurse = desk.province.svc.issue_token(POV, "王护士")
    before = desk.province.counts()
    undo = write("undo", vaccination_document_no=given["document_no"], reason="扫错了")
    by_other = desk.client.post(
        f"{API}/vaccination-undos", json=undo, headers={"Authorization": f"Bearer {other_nurse}"}
    )
    desk.refused(by_other, 403, "not_the_recorder", "vaccination_document_no", before)
    unknown = write("undo", vaccination_document_no="NOPE", reason="扫错了")
    desk.refused(
        desk.post("/vaccination-undos", unknown, actor=POV),
        404,
        "unknown_vaccination",
        "vaccination_document_no",
        before,
    )
    done = desk.post("/vaccination-undos", undo, actor=POV)
    assert done.status_code == 201, done.text
    assert desk.get("/stock", POV, code=dose(1)).json()["state"] == "in_stock"
    assert desk.post("/dose-checks", {"code": dose(1)}, actor=POV).json()["allowed"] is True
    (record,) = desk.get("/vaccinations", POV).json()
    assert record["undone_by"] == undo["document_no"]
    _, event = desk.province.reports()[-1]
    assert event.bill_type is DownstreamBill.VACCINATION_UNDO
    assert (event.codes, event.undoes_document_no) == ((dose(1),), given["document_no"])
    again = write("undo", vaccination_document_no=given["document_no"], reason="再次")
    before = desk.province.counts()
    desk.refused(
        desk.post("/vaccination-undos", again, actor=POV),
        409,
        "already_undone",
        "vaccination_document_no",
        before,
    )


def test_no_undo_after_the_window(desk: Desk) -> None:
    _at_the_site(desk)
    given = write("vac", code=dose(1), vaccinator="李护士")
    assert desk.post("/vaccinations", given, actor=POV).status_code == 201
    desk.province.svc.undo_window = timedelta(0)
    before = desk.province.counts()
    late = write("undo", vaccination_document_no=given["document_no"], reason="太晚了")
    desk.refused(
        desk.post("/vaccination-undos", late, actor=POV),
        409,
        "undo_window_passed",
        "vaccination_document_no",
        before,
    )


@pytest.mark.parametrize(
    "stamp",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2000-01-01T07:59:59+08:00"],
)
def test_a_time_no_node_can_store_is_refused_at_the_edge(desk: Desk, stamp: str) -> None:
    """What the province accepts, the chain accepts: a time the trace node could not store
    never leaves the province (it used to crash the trace node on every retry)."""
    desk.province.announce("FH1", [CASE], contents=CONTENTS)
    desk.post("/receipts/FH1/scans", {"code": CASE})
    before = desk.province.counts()
    far = {"business_time": stamp}
    for response in (
        desk.post("/receipts/FH1/confirm", write("rcv") | far),
        desk.post("/distributions", write("d", codes=[BOXES[0]], receiver_uscc=POV) | far),
        desk.post(
            "/vaccinations", write("vac", code=dose(2), vaccinator="李护士") | far, actor=POV
        ),
        desk.post("/damage-reports", write("dmg", codes=[dose(4)], reason="r") | far),
    ):
        desk.refused(response, 422, "out_of_range", "business_time", before)
    assert desk.province.reports() == []


def test_a_receipt_without_its_journeys_record_is_a_problem(desk: Desk) -> None:
    desk.province.announce("FH1", [dose(1)])
    assert desk.post("/receipts/FH1/scans", {"code": dose(1)}).status_code == 201
    desk.province.svc.flush()
    before = desk.province.counts()
    answer = desk.post("/receipts/FH1/confirm", write("rcv"))
    body = desk.refused(answer, 409, "no_temperature_record", "shipping_note_no", before)
    assert "related_document_no FH1" in body["detail"]


def test_the_openapi_lists_what_receipts_and_movements_answer(desk: Desk) -> None:
    paths = desk.client.get("/openapi.json").json()["paths"]
    writes = {"200", "201", "400", "401", "404", "409", "413", "422"}  # 200: a replay
    answers = {  # 422 wherever a request has parameters (the bearer header)
        ("/receipts", "get"): {"200", "401", "422"},
        ("/receipts/{note_no}", "get"): {"200", "401", "403", "404", "409", "422"},
        ("/receipts/{note_no}/confirm", "post"): writes | {"403"},
        ("/distributions", "post"): writes,
        ("/returns", "post"): writes,
        ("/damage-reports", "post"): writes,
    }
    for (path, method), statuses in answers.items():
        assert set(paths[API + path][method]["responses"]) == statuses, path


# --- the hot paths (web.lean): answered at once in the common case, by FastAPI otherwise -----

AS_FASTAPI = "application/merge-patch+json"
"""A JSON media type FastAPI reads a body in and the lean path leaves to it: the same request
sent with it is answered the usual way, to compare with."""


def _post_as(desk: Desk, path: str, body: Any, actor: str | None, media: str) -> Response:
    headers = {"Content-Type": media} | ({} if actor is None else desk.auth(actor))
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return desk.client.post(API + path, content=content, headers=headers)


def _same_answer(at_once: Response, usual: Response, *varying: str) -> dict[str, Any]:
    """Both answers alike: status, media type and body (but for fields that vary per call)."""
    assert at_once.status_code == usual.status_code, (at_once.text, usual.text)
    assert at_once.headers["content-type"] == usual.headers["content-type"]
    assert at_once.headers.get("www-authenticate") == usual.headers.get("www-authenticate")
    body: dict[str, Any] = at_once.json()
    other = usual.json()
    text = at_once.text
    for name in varying:
        text = text.replace(body[name], other[name])
        assert body.pop(name) and other.pop(name)
    assert body == other
    assert text == usual.text  # byte for byte, but for what varies per call
    return body


def _dose_checks(desk: Desk, body: Any, actor: str | None = POV) -> dict[str, Any]:
    """A dose-check posted the lean way and the usual way: the same answer."""
    at_once = _post_as(desk, "/dose-checks", body, actor, "application/json")
    usual = _post_as(desk, "/dose-checks", body, actor, AS_FASTAPI)
    answer = _same_answer(at_once, usual, *(("checked_at",) if usual.is_success else ()))
    return answer | {"status": at_once.status_code, "type": at_once.headers["content-type"]}


def _audited_checks(desk: Desk) -> list[tuple[str, bool, list[str]]]:
    desk.province.svc.flush()
    table = schema.dose_check
    with desk.province.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.code, table.c.allowed, table.c.reasons).order_by(table.c.id)
        )
        return [(r.code, r.allowed, list(r.reasons)) for r in rows]


def test_dose_checks_over_http_answer_as_fastapi_does(desk: Desk) -> None:
    _at_the_site(desk)
    allowed = _dose_checks(desk, {"code": dose(1)})
    assert (allowed["status"], allowed["type"]) == (200, "application/json")
    assert (allowed["allowed"], allowed["reasons"], allowed["code"]) == (True, [], dose(1))
    assert (allowed["site_uscc"], allowed["batch_no"]) == (POV, "B2024001")
    refused = _dose_checks(desk, {"code": dose(4)})  # a dose still at the CDC
    assert (refused["status"], refused["allowed"], refused["reasons"]) == (200, False, ["not_held"])
    assert refused["messages"]
    assert _audited_checks(desk) == [(dose(1), True, [])] * 2 + [(dose(4), False, ["not_held"])] * 2


@pytest.mark.parametrize(
    ("body", "actor", "status", "reason", "field"),
    [
        ({"code": dose(1)}, None, 401, "unauthenticated", None),
        ({"code": dose(1)}, PROVINCE_CDC, 422, "wrong_organisation_kind", None),
        ({}, POV, 422, "invalid_missing", "code"),
        ({"code": ""}, POV, 422, "invalid_string_too_short", "code"),
        ({"code": 7}, POV, 422, "invalid_string_type", "code"),
        (b'{"code": ', POV, 422, "invalid_json_invalid", None),
        (b"", POV, 422, "invalid_missing", None),
        ({"code": "not a code"}, POV, 422, "bad_characters", "code"),
    ],
)
def test_dose_check_refusals_are_fastapis(
    desk: Desk, body: Any, actor: str | None, status: int, reason: str, field: str | None
) -> None:
    _at_the_site(desk)
    before = desk.province.counts()
    answer = _dose_checks(desk, body, actor)
    assert (answer["status"], answer["type"]) == (status, PROBLEM)
    assert (answer["reason"], answer.get("field")) == (reason, field)
    assert desk.province.counts() == before  # nothing audited: no decision was made


def test_a_dose_check_with_an_unknown_token_is_unauthenticated(desk: Desk) -> None:
    for media in ("application/json", AS_FASTAPI):
        answer = desk.client.post(
            f"{API}/dose-checks",
            content=json.dumps({"code": dose(1)}),
            headers={"Authorization": "Bearer vt_nope", "Content-Type": media},
        )
        assert (answer.status_code, answer.json()["reason"]) == (401, "unauthenticated")
        assert answer.headers["www-authenticate"] == "Bearer"


def _scans(desk: Desk, note_no: str, body: Any, actor: str | None = PROVINCE_CDC) -> Response:
    """A scan posted the lean way; the same scan the usual way must now be a repeat (or
    refused alike), so only refusals are compared whole."""
    return _post_as(desk, f"/receipts/{note_no}/scans", body, actor, "application/json")


def test_receipt_scans_over_http(desk: Desk) -> None:
    desk.province.announce("FH1", [CASE], contents=CONTENTS)
    first = _scans(desk, "FH1", {"code": CASE})
    assert (first.status_code, first.headers["content-type"]) == (201, "application/json")
    assert first.json()["result"] == "accepted" and first.json()["code"] == CASE
    repeat = _scans(desk, "FH1", {"code": dose(1)})  # inside the case scanned
    assert (repeat.status_code, repeat.json()["reason"]) == (200, "inside_scanned_container")
    usual = _post_as(desk, "/receipts/FH1/scans", {"code": CASE}, PROVINCE_CDC, AS_FASTAPI)
    assert (usual.status_code, usual.json()["reason"]) == (200, "already_scanned")
    before = desk.province.counts()
    for note_no, body, actor, status, reason, field in (
        ("FH1", {"code": dose(99)}, PROVINCE_CDC, 422, "not_on_note", "code"),
        ("NOPE", {"code": CASE}, PROVINCE_CDC, 404, "unknown_note", None),
        ("FH1", {"code": CASE}, POV, 403, "wrong_consignee", None),
    ):
        at_once = _scans(desk, note_no, body, actor)
        again = _post_as(desk, f"/receipts/{note_no}/scans", body, actor, AS_FASTAPI)
        answer = _same_answer(at_once, again)
        assert (at_once.status_code, answer["reason"], answer.get("field")) == (
            status,
            reason,
            field,
        )
        assert at_once.headers["content-type"] == PROBLEM
    audited = desk.province.counts()["receipt_scan"]
    assert audited == before["receipt_scan"] + 6  # every rejected scan kept, both ways


@pytest.mark.parametrize(
    ("note_no", "body", "actor", "status", "reason", "field"),
    [
        ("FH1", {"code": CASE}, None, 401, "unauthenticated", None),
        ("FH1", {"code": ""}, PROVINCE_CDC, 422, "invalid_string_too_short", "code"),
        ("FH1", b"[", PROVINCE_CDC, 422, "invalid_json_invalid", None),
        ("F" * 61, {"code": CASE}, PROVINCE_CDC, 422, "invalid_string_too_long", "note_no"),
    ],
)
def test_scan_refusals_before_the_scan_are_fastapis(
    desk: Desk,
    note_no: str,
    body: Any,
    actor: str | None,
    status: int,
    reason: str,
    field: str | None,
) -> None:
    desk.province.announce("FH1", [CASE], contents=CONTENTS)
    before = desk.province.counts()
    at_once = _scans(desk, note_no, body, actor)
    usual = _post_as(desk, f"/receipts/{note_no}/scans", body, actor, AS_FASTAPI)
    answer = _same_answer(at_once, usual)
    assert (at_once.status_code, at_once.headers["content-type"]) == (status, PROBLEM)
    assert (answer["reason"], answer.get("field")) == (reason, field)
    assert desk.province.counts() == before


def test_the_hot_paths_are_documented(desk: Desk) -> None:
    paths = desk.client.get("/openapi.json").json()["paths"]
    check = paths[f"{API}/dose-checks"]["post"]
    assert {"200", "401", "404", "422"} <= set(check["responses"])
    body = check["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/DoseCheck")
    assert "authorization" in {p["name"] for p in check["parameters"]}
    scan = paths[f"{API}/receipts/{{note_no}}/scans"]["post"]
    assert {"201", "422"} <= set(scan["responses"])
    assert scan["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ReceiptScan"
    )
    assert {"note_no", "authorization"} <= {p["name"] for p in scan["parameters"]}
