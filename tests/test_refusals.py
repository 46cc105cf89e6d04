"""No refusal goes unseen, in the one-process federation (``--role all``, as the demo runs it):
the MAH locks a dose the province already holds; the site, not knowing, records its
vaccination and then a valid one; the trace system refuses the first report, and within
seconds the site sees the alert, the province's regulator the finding, the platform's operator
the alert and the dead letter, while the valid report behind it reached the trace history."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from vaxtrace import demo
from vaxtrace.core.datasets.locks import Lock
from vaxtrace.roles.trace.service import locks
from vaxtrace.settings import Settings

T = TypeVar("T")
API = "/immunization/v1"


def _document(tag: str) -> dict[str, Any]:
    return {
        "client_document_id": tag,
        "document_no": tag.upper(),
        "business_time": datetime.now(UTC).isoformat(),
    }


def _within(seconds: float, read: Callable[[], T], done: Callable[[T], bool]) -> tuple[T, float]:
    """What ``read`` answers once ``done`` holds (or at the deadline), and how long it took."""
    start = time.monotonic()
    while True:
        value = read()
        elapsed = time.monotonic() - start
        if done(value) or elapsed > seconds:
            return value, elapsed
        time.sleep(0.02)


def _doses_held(client: TestClient, headers: dict[str, str], n: int) -> list[str]:
    """``n`` doses a unit holds in stock, down from its outermost codes."""
    stock = client.get(f"{API}/stock", headers=headers).json()
    todo, doses = [c["code"] for c in stock["in_stock"]], list[str]()
    while todo and len(doses) < n:
        code = todo.pop(0)
        found = client.get(f"{API}/stock", params={"code": code}, headers=headers).json()
        if found["inside"]:
            todo[:0] = found["inside"]
        elif found["state"] == "in_stock" and _may_be_given(client, headers, code):
            doses.append(code)
    return doses


def _may_be_given(client: TestClient, headers: dict[str, str], code: str) -> bool:
    answer = client.post(f"{API}/dose-checks", json={"code": code}, headers=headers)
    return bool(answer.json()["allowed"])


@dataclass(frozen=True)
class Refusal:
    """A vaccination the trace system refused, and a valid one behind it."""

    locked: str
    good: str
    site: dict[str, str]
    """The site's bearer header."""


def refused_vaccination(built: demo.Demo, client: TestClient) -> Refusal:
    """The MAH locks a dose the site holds; the site, not knowing, uses it and then another.

    The lock's safety signal is held back (the lock is written without the trace node's
    outbox), as if it were still on its way: else it would reach the province in a fraction
    of a second and the site's gate would refuse the dose itself, so that nothing is refused
    downstream."""
    pov = demo.cast().province[1].uscc
    as_pov = {"Authorization": f"Bearer {built.staff[pov]}"}
    locked, good = _doses_held(client, as_pov, 2)
    trace = built.app.state.trace
    owner = trace.trace(locked)["product"]["mah_uscc"]
    lock = Lock.model_validate(
        _document("lock-1") | {"codes": [locked], "kind": "pending", "reason": "疑似冷链异常"}
    )
    assert not locks.lock(trace.engine, owner, lock, trace.clock).replayed  # no outbox: no signal
    for n, dose in enumerate((locked, good)):
        body = _document(f"vac-{n}") | {"code": dose, "vaccinator": "李护士"}
        used = client.post(f"{API}/vaccinations", json=body, headers=as_pov)
        assert used.status_code == 201, used.text
    return Refusal(locked, good, as_pov)


def alerts_at_the_site(client: TestClient, refusal: Refusal, count: int = 1) -> list[Any]:
    """The site's alerts once there are ``count`` of them (or after 5 s)."""
    found, _ = _within(
        5,
        lambda: _about(
            refusal.locked, client.get(f"{API}/alerts", headers=refusal.site).json()["alerts"]
        ),
        lambda alerts: len(alerts) >= count,
    )
    return list(found)


def _about(code: str, items: list[Any]) -> list[Any]:
    """The alerts or findings about ``code`` (the demo has a refused report of its own)."""
    return [item for item in items if code in item["codes"]]


def test_the_site_sees_a_refused_vaccination_within_seconds(tmp_path: Path) -> None:
    built = demo.build(Settings(data_dir=tmp_path), 2000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    assert built.failures == [] and built.vaccinated is not None
    cdc, pov = (o.uscc for o in demo.cast().province[:2])
    regulator = demo.cast().regulators[0].uscc
    as_pov = {"Authorization": f"Bearer {built.staff[pov]}"}
    as_cdc = {"Authorization": f"Bearer {built.staff[cdc]}"}
    as_regulator = {"Authorization": f"Bearer {built.staff[regulator]}"}
    hub = built.app.state.platform
    with TestClient(built.app) as client:
        refusal = refused_vaccination(built, client)
        locked, good = refusal.locked, refusal.good
        alerts, waited = _within(
            5,
            lambda: _about(locked, client.get(f"{API}/alerts", headers=as_pov).json()["alerts"]),
            lambda found: bool(found),
        )
        assert waited < 5, "the site was not told within 5 s"
        (alert,) = alerts
        assert (alert["bill_type"], alert["codes"], alert["reason"]) == ("322", [locked], "locked")
        assert alert["refused_by"] == "local-trace" and "do not use" in alert["what_to_do"]
        assert client.get(f"{API}/alerts", headers=as_cdc).json()["alerts"] == []

        # the valid report behind it was not held up
        history, _ = _within(
            10,
            lambda: built.app.state.trace.trace(good),
            lambda found: found["status"] == "used",
        )
        assert history["history"][-1]["bill_type"] == "322"
        assert built.app.state.trace.trace(locked)["status"] == "pending"

        findings, _ = _within(
            10,
            lambda: _about(
                locked,
                client.get("/supervision/v1/findings", headers=as_regulator).json()["findings"],
            ),
            lambda found: bool(found),
        )
        (finding,) = findings
        assert (finding["org_uscc"], finding["reason"], finding["codes"]) == (
            pov,
            "locked",
            [locked],
        )

        refused = [a for a in hub.exchange_alerts() if a["reason"] == "delivery_refused"]
        assert {a["sender"] for a in refused} == {"local-province"}
        assert len(refused) == 2  # the demo's own refused report, and this one
        health = client.get("/health").json()
        assert health["exchange"]["platform"]["dead_letters"] == {"local-trace": 2}
        assert set(health["exchange"]) == {"trace", "platform", "immunization", "supervision"}
        assert health["exchange"]["immunization"]["dead_letters"] == {}
