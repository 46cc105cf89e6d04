"""The public query entry: a code in any form → resolved → the owning trace system's view."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient

from vaxtrace.app import build_app
from vaxtrace.core.codes import digital_link, issue_nmpa20, split_canonical
from vaxtrace.core.registry import ConnectedSystem, RegisteredCodingRule, RegisteredOrganisation
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.public_client import OwnerAsker
from vaxtrace.roles.platform.service.resolution import KEPT_SECONDS
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import product_for
from vaxtrace.sim.province import build_province, sample_codes
from vaxtrace.store.engine import read_tx
from vaxtrace.store.platform import registry

ENDPOINT = "https://trace-a.example"


class _Reachable(httpx.AsyncBaseTransport):
    """The trace node's app, unless it is down: every request then fails to connect, as to
    a node that is gone (the platform keeps its client, so a new one is not asked for)."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.inner, self.state = httpx.ASGITransport(app), state

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.state["down"]:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[TestClient, list[str], dict[str, Any]]]:
    trace_app = build_app(Settings(data_dir=tmp_path / "mah"), roles=("trace",))
    state: dict[str, Any] = {"down": False}
    with TestClient(trace_app):

        def clients(endpoint: str) -> httpx.AsyncClient:
            if endpoint.rstrip("/") != ENDPOINT or state["down"]:
                raise httpx.ConnectError("connection refused")
            transport = _Reachable(trace_app, state)
            return httpx.AsyncClient(base_url=endpoint, transport=transport)

        province = build_province(trace_app.state.trace, units=1000)
        samples = sample_codes(trace_app.state.trace)
        platform_app = build_app(
            Settings(data_dir=tmp_path / "platform"),
            roles=("platform",),
            ask_owner=OwnerAsker(clients, timeout=5, at_once=4),
        )
        hub = platform_app.state.platform
        operator = province.mahs[0].organisation
        for m in province.mahs:
            hub.register_organisation(RegisteredOrganisation(**m.organisation.model_dump()))
        hub.register_system(
            ConnectedSystem(
                system_id="trace-a",
                name="trace-a",
                role="trace",
                operator_uscc=operator.uscc,
                endpoint=ENDPOINT,
                represents=tuple(m.organisation.uscc for m in province.mahs),
            )
        )
        caller = SystemIdentity("trace-a", operator.uscc, 1)
        for index, m in enumerate(province.mahs):
            for key in m.templates:
                product = product_for(m, index, key)
                hub.register_coding_rule(
                    caller,
                    RegisteredCodingRule(
                        mah_uscc=m.organisation.uscc,
                        family=product.family,
                        entries=tuple(level.identification_code for level in product.levels),
                        serial_format="N9",
                        check_algorithm="VT-MOD97-10x2",
                    ),
                )
        with TestClient(platform_app) as platform:
            yield platform, samples, state


def test_every_form_of_a_code_reaches_its_owner(
    nodes: tuple[TestClient, list[str], dict[str, Any]],
) -> None:
    platform, samples, _ = nodes
    for value in samples:
        code = split_canonical(value)
        forms = [value]
        if value.startswith("01"):
            forms.append(digital_link(code))
        for form in forms:
            answer = platform.get("/platform/v1/public/codes", params={"code": form})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["code"] == value and body["resolved"]["system_id"] == "trace-a"
            assert body["lot_release"]["certificate_no"] and "holder_uscc" not in body


def test_unknown_malformed_and_unreachable(
    nodes: tuple[TestClient, list[str], dict[str, Any]],
) -> None:
    platform, samples, state = nodes
    nobody = platform.get("/platform/v1/public/codes", params={"code": issue_nmpa20("8777777", 1)})
    assert nobody.status_code == 404 and nobody.json()["reason"] == "no_rule"
    never = issue_nmpa20(samples[0][:7], 999_999_999)
    missing = platform.get("/platform/v1/public/codes", params={"code": never})
    assert missing.status_code == 404 and missing.json()["reason"] == "not_commissioned"
    bad = platform.get("/platform/v1/public/codes", params={"code": "8123"})
    assert bad.status_code == 422 and bad.json()["reason"] == "bad_length"
    state["down"] = True
    down = platform.get("/platform/v1/public/codes", params={"code": samples[0]})
    assert down.status_code == 503 and down.json()["reason"] == "owner_unreachable"
    assert down.headers["content-type"] == "application/problem+json"


def test_where_a_code_resolves_is_kept_a_second_and_a_miss_never(
    nodes: tuple[TestClient, list[str], dict[str, Any]],
) -> None:
    """A trace system's endpoint changed reaches the public queries within
    resolution.KEPT_SECONDS; a code no rule covered resolves as soon as a rule covers it."""
    platform, samples, _ = nodes
    public = "/platform/v1/public/codes"
    hub = platform.app.state.platform  # type: ignore[attr-defined]
    asked_first = time.monotonic()  # the resolution kept is no older than this
    assert platform.get(public, params={"code": samples[0]}).status_code == 200
    with read_tx(hub.engine) as conn:
        found = registry.find_system(conn, "trace-a")
    assert found is not None
    moved_to = found["data"] | {"endpoint": "https://moved.example"}
    system = ConnectedSystem.model_validate(moved_to)
    hub.register_system(system)
    kept = platform.get(public, params={"code": samples[0]})
    assert kept.status_code == 200 or time.monotonic() - asked_first >= KEPT_SECONDS
    time.sleep(KEPT_SECONDS)
    moved = platform.get(public, params={"code": samples[0]})
    assert (moved.status_code, moved.json()["reason"]) == (503, "owner_unreachable")
    uncovered = issue_nmpa20("8777777", 1)
    missed = platform.get(public, params={"code": uncovered})
    assert (missed.status_code, missed.json()["reason"]) == (404, "no_rule")
    hub.register_system(ConnectedSystem.model_validate(found["data"]))
    operator = system.operator_uscc
    hub.register_coding_rule(
        SystemIdentity("trace-a", operator, 1),
        RegisteredCodingRule(
            mah_uscc=operator,
            family="nmpa20",
            entries=("8777777",),
            serial_format="N9",
            check_algorithm="VT-MOD97-10x2",
        ),
    )
    asked = platform.get(public, params={"code": uncovered})  # no wait: the miss was not kept
    assert (asked.status_code, asked.json()["reason"]) == (404, "not_commissioned")


def test_no_worker_free_in_time_is_busy(
    nodes: tuple[TestClient, list[str], dict[str, Any]],
) -> None:
    """The public query waits for a worker thread to resolve the code only so long; the owner
    is asked with none held (see tests/test_never_stall.py for the whole process)."""
    platform, samples, _ = nodes
    state = platform.app.state  # type: ignore[attr-defined]
    state.settings = state.settings.model_copy(update={"public_query_timeout_seconds": 0.3})
    holders: list[object] = []

    async def hold_every_worker() -> None:
        limiter = anyio.to_thread.current_default_thread_limiter()
        while limiter.available_tokens:
            holders.append(object())
            limiter.acquire_on_behalf_of_nowait(holders[-1])

    async def free_them_later() -> None:  # a wait without end fails the test, not hangs it
        await anyio.sleep(3)
        limiter = anyio.to_thread.current_default_thread_limiter()
        for holder in holders:
            limiter.release_on_behalf_of(holder)

    assert platform.portal is not None
    platform.portal.call(hold_every_worker)
    freed = platform.portal.start_task_soon(free_them_later)
    busy = platform.get("/platform/v1/public/codes", params={"code": samples[0]})
    freed.result(timeout=10)
    assert busy.status_code == 503 and busy.json()["reason"] == "busy"
    assert busy.headers["content-type"] == "application/problem+json"
    again = platform.get("/platform/v1/public/codes", params={"code": samples[0]})
    assert again.status_code == 200


def test_the_openapi_lists_the_problems_of_the_public_query(
    nodes: tuple[TestClient, list[str], dict[str, Any]],
) -> None:
    platform, _, _ = nodes
    paths = platform.get("/openapi.json").json()["paths"]
    answers = paths["/platform/v1/public/codes"]["get"]["responses"]
    for status in ("404", "422", "503"):
        content = answers[status]["content"]
        assert list(content) == ["application/problem+json"]
        assert "reason" in content["application/problem+json"]["schema"]["required"]
