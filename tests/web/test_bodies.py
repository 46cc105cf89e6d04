"""Request bodies bounded (web.bodies, core.datasets.elements.Model): who calls is known before
a body is read; a body over its route's limit is refused 413, said or streamed; a number is a
number, text holds no control characters (422 naming the field); a JSON body that is not UTF-8
or nests too deep is refused 400 with its reason; every refusal is problem+json."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import event

from vaxtrace.app import build_app
from vaxtrace.core.datasets.elements import Model, Quantity
from vaxtrace.core.reasons import Reason
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import mahs, product_for, provincial_cdc
from vaxtrace.web.bodies import MAX_DEPTH, json_depth

API = "/immunization/v1"
PROBLEM = "application/problem+json"
RECORDS = f"{API}/temperature-records"
VACCINATIONS = f"{API}/vaccinations"
LIMIT = 64 * 1024


@dataclass
class Province:
    app: FastAPI
    client: TestClient
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@pytest.fixture
def province(tmp_path: Path) -> Iterator[Province]:
    settings = Settings(data_dir=tmp_path, body_max_bytes=LIMIT, bulk_body_max_bytes=4 * LIMIT)
    app = build_app(settings, roles=("immunization",))
    svc = app.state.immunization
    cdc = provincial_cdc()
    svc.register_organisation(cdc)
    yield Province(app, TestClient(app), svc.issue_token(cdc.uscc))
    svc.close()


def record(**changes: Any) -> dict[str, Any]:
    """A temperature record as a fridge's logger sends it."""
    body: dict[str, Any] = {
        "client_document_id": "t-1",
        "equipment_id": "fridge-1",
        "kind": "storage",
        "product_class": "freeze_sensitive_2_8",
        "readings": [{"time": "2026-01-05T08:00:00+08:00", "celsius": 5.0}],
    }
    return body | changes


def _problem(response: Any, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    answer: dict[str, Any] = response.json()
    assert (answer["status"], answer["reason"]) == (status, reason)
    return answer


# --- who calls, before the body ---------------------------------------------------------------


@dataclass
class Sent:
    """A request body sent in chunks to the app directly (ASGI), recording how much of it the
    app asked for."""

    chunks: list[bytes]
    asked: int = 0
    answer: list[dict[str, Any]] = field(default_factory=list)

    async def receive(self) -> dict[str, Any]:
        self.asked += 1
        if self.asked > len(self.chunks):
            return {"type": "http.disconnect"}
        more = self.asked < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.asked - 1], "more_body": more}

    async def send(self, message: dict[str, Any]) -> None:
        self.answer.append(message)

    @property
    def status(self) -> int:
        return int(self.answer[0]["status"])

    @property
    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(b"".join(m.get("body", b"") for m in self.answer[1:]))
        return body


def send(app: FastAPI, path: str, sent: Sent, headers: dict[str, str]) -> Sent:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, sent.receive, sent.send))
    return sent


@pytest.mark.parametrize("length", [None, str(50 * 1024 * 1024)])
def test_without_a_token_nothing_of_the_body_is_read(
    province: Province, length: str | None
) -> None:
    headers = {"content-type": "application/json"}
    headers |= {"transfer-encoding": "chunked"} if length is None else {"content-length": length}
    sent = send(province.app, RECORDS, Sent([b"{" * 1024] * 100), headers)
    assert (sent.status, sent.asked) == (401, 0)
    assert sent.problem["reason"] == "unauthenticated"


def test_a_hot_path_without_a_token_is_refused_before_the_body(province: Province) -> None:
    """The lean dose-check (web.lean) reads a small body at once only behind a bearer token."""
    headers = {"content-type": "application/json", "content-length": "2"}
    sent = send(province.app, f"{API}/dose-checks", Sent([b"{}"]), headers)
    assert (sent.status, sent.asked) == (401, 0)


def test_an_unknown_token_is_refused_before_the_body_too(province: Province) -> None:
    headers = {"content-type": "application/json", "transfer-encoding": "chunked"}
    headers |= {"authorization": "Bearer not-a-token"}
    sent = send(province.app, RECORDS, Sent([b"{}"] * 10), headers)
    assert (sent.status, sent.asked) == (401, 0)


def test_a_system_route_without_a_certificate_is_refused_before_the_body(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path), roles=("platform",))
    headers = {"content-type": "application/json", "transfer-encoding": "chunked"}
    sent = send(app, "/platform/v1/exchange/envelopes", Sent([b"{}"] * 10), headers)
    assert (sent.status, sent.asked) == (401, 0)


def test_with_a_token_the_body_is_read(province: Province) -> None:
    body = json.dumps(record()).encode()
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    sent = send(province.app, RECORDS, Sent([body]), headers | province.bearer)
    assert sent.asked >= 1
    assert sent.status in (201, 422), sent.problem  # read, and judged on what it says


# --- the limit ----------------------------------------------------------------------------------


def test_a_stated_length_over_the_limit_is_refused_before_the_body(province: Province) -> None:
    headers = {"content-type": "application/json", "content-length": str(LIMIT + 1)}
    sent = send(province.app, VACCINATIONS, Sent([b" " * 10]), headers | province.bearer)
    assert (sent.status, sent.asked) == (413, 0)
    assert sent.problem["reason"] == Reason.BODY_TOO_LARGE


def test_a_streamed_body_is_refused_at_the_limit(province: Province) -> None:
    headers = {"content-type": "application/json", "transfer-encoding": "chunked"}
    chunks = [b" " * 16 * 1024] * 100  # 1.6 MB of which the route takes 64 KiB
    sent = send(province.app, VACCINATIONS, Sent(chunks), headers | province.bearer)
    assert sent.status == 413
    assert sent.problem["reason"] == Reason.BODY_TOO_LARGE
    assert sent.asked == LIMIT // (16 * 1024) + 1  # read up to the limit, not beyond


def test_a_body_longer_than_it_said_is_refused_at_the_limit(province: Province) -> None:
    headers = {"content-type": "application/json", "content-length": "10"}
    chunks = [b" " * 16 * 1024] * 10
    sent = send(province.app, VACCINATIONS, Sent(chunks), headers | province.bearer)
    assert sent.status == 413


def test_over_the_limit_through_the_client(province: Province) -> None:
    big = record(readings=[{"time": "2026-01-05T08:00:00+08:00", "celsius": 5.0}] * 10_000)
    answer = province.client.post(RECORDS, json=big, headers=province.bearer)
    _problem(answer, 413, Reason.BODY_TOO_LARGE)


def test_a_bulk_route_takes_more_than_the_default(province: Province) -> None:
    readings = [
        {"time": f"2026-01-05T{h:02d}:{m:02d}:00+08:00", "celsius": 5.0}
        for h in range(24)
        for m in range(60)
    ]  # over 64 KiB, under the bulk limit
    body = record(readings=readings)
    assert len(json.dumps(body)) > LIMIT
    answer = province.client.post(RECORDS, json=body, headers=province.bearer)
    assert answer.status_code != 413, answer.text


def test_a_route_limit_can_be_set(tmp_path: Path) -> None:
    route = {f"POST {RECORDS}": 1024}
    app = build_app(
        Settings(data_dir=tmp_path, body_max_bytes_per_route=route), roles=("immunization",)
    )
    svc = app.state.immunization
    svc.register_organisation(provincial_cdc())
    token = svc.issue_token(provincial_cdc().uscc)
    big = record(equipment_id="f" * 100, readings=[record()["readings"][0]] * 30)
    answer = TestClient(app).post(RECORDS, json=big, headers={"authorization": f"Bearer {token}"})
    _problem(answer, 413, Reason.BODY_TOO_LARGE)
    svc.close()


# --- what a body says ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [False, True])
def test_a_boolean_is_not_a_temperature(province: Province, value: bool) -> None:
    body = record(readings=[{"time": "2026-01-05T08:00:00+08:00", "celsius": value}])
    answer = province.client.post(RECORDS, json=body, headers=province.bearer)
    problem = _problem(answer, 422, "invalid_float_type")  # as a string for a number is
    assert problem["field"] == "readings.0.celsius"


@pytest.mark.parametrize("text", ["fridge\x00-1", "fridge\x1b[2J", "fr\x7fidge"])
def test_a_control_character_in_text_is_refused(province: Province, text: str) -> None:
    answer = province.client.post(RECORDS, json=record(equipment_id=text), headers=province.bearer)
    problem = _problem(answer, 422, Reason.CONTROL_CHARACTER)
    assert problem["field"] == "equipment_id"


def test_a_nul_in_a_document_number_is_refused(province: Province) -> None:
    answer = province.client.post(
        RECORDS, json=record(document_no="WR-1\x00"), headers=province.bearer
    )
    assert _problem(answer, 422, Reason.CONTROL_CHARACTER)["field"] == "document_no"


def test_invalid_utf8_is_refused(province: Province) -> None:
    text = json.dumps(record(equipment_id="fridge-Ω"), ensure_ascii=False)
    body = text.encode().replace("Ω".encode(), b"\xff\xfe")
    headers = province.bearer | {"content-type": "application/json"}
    answer = province.client.post(RECORDS, content=body, headers=headers)
    assert "UTF-8" in _problem(answer, 400, Reason.INVALID_UTF8)["detail"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000])
def test_deep_nesting_is_refused(province: Province, depth: int) -> None:
    text = json.dumps(record())[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    headers = province.bearer | {"content-type": "application/json"}
    answer = province.client.post(RECORDS, content=text.encode(), headers=headers)
    _problem(answer, 400, Reason.TOO_DEEPLY_NESTED)


def test_nesting_within_strings_is_not_counted() -> None:
    assert json_depth(b'{"a": "[[[[[[[[", "b": [[1], {"c": "]]]}"}]}') == 3
    assert json_depth(b'"\\"[[["') == 0


def test_unreadable_json_keeps_its_answer(province: Province) -> None:
    headers = province.bearer | {"content-type": "application/json"}
    answer = province.client.post(RECORDS, content=b'{"a": ', headers=headers)
    _problem(answer, 422, "invalid_json_invalid")


class Counted(Model):
    doses: Quantity
    share: float | None = None
    sealed: bool = False
    codes: tuple[str, ...] = ()


@pytest.mark.parametrize(
    ("sent", "error", "where"),
    [
        ({"doses": True}, "int_type", ("doses",)),
        ({"doses": 1, "share": False}, "float_type", ("share",)),
        ({"doses": 1, "codes": ["a", "b\x00"]}, "value_error", ("codes", 1)),
    ],
)
def test_every_data_set_takes_numbers_as_numbers_and_plain_text(
    sent: dict[str, Any], error: str, where: tuple[str | int, ...]
) -> None:
    with pytest.raises(ValidationError) as refused:
        Counted.model_validate_json(json.dumps(sent))
    assert [(e["type"], e["loc"]) for e in refused.value.errors()] == [(error, where)]


def test_a_boolean_where_a_boolean_is_due_and_text_with_line_breaks_are_taken() -> None:
    codes = ("a\tb", "c\r\nd", "0106901234567892\x1d21SER001")  # GS: a scanned GS1 code
    taken = Counted.model_validate({"doses": 2, "sealed": True, "codes": codes})
    assert (taken.doses, taken.sealed, taken.codes) == (2, True, codes)


def test_a_write_looks_its_token_up_once(tmp_path: Path) -> None:
    """The guard asks who calls before the body is read and the route asks again: one lookup
    of the token in the database serves both (the trace role asks its database each time)."""
    app = build_app(Settings(data_dir=tmp_path), roles=("trace",))
    svc = app.state.trace
    mah = mahs(1)[0]
    svc.register_organisation(mah.organisation)
    bearer = {"authorization": f"Bearer {svc.issue_token(mah.organisation.uscc)}"}
    product = product_for(mah, 0, "HEPB").model_dump(mode="json")
    lookups: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_token" in statement:
            lookups.append(statement)

    event.listen(svc.engine, "before_cursor_execute", count)
    with TestClient(app) as client:
        answer = client.post("/trace/v1/products", json=product, headers=bearer)
    event.remove(svc.engine, "before_cursor_execute", count)
    assert answer.status_code == 201, answer.text
    assert len(lookups) == 1, lookups
