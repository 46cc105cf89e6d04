"""The supervision node's HTTP API: regulators' staff see their division's steps with a bearer
token; the exchange route wants the platform's client certificate."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from vaxtrace.app import build_app
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc

CITY = make_uscc("11320100MB0X00002")
PROBLEM = "application/problem+json"


def test_staff_see_their_division_and_nothing_without_a_token(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path), roles=("supervision",))
    watch = app.state.supervision
    watch.register_organisation(
        Organisation(
            uscc=CITY, name="示例市市场监督管理局", kind=OrgKind.REGULATOR, division_code="320100"
        )
    )
    token = watch.issue_token(CITY)
    with TestClient(app) as client:
        seen = client.get("/supervision/v1/steps", headers={"Authorization": f"Bearer {token}"})
        assert seen.status_code == 200
        assert seen.json() == {"division_code": "320100", "steps": []}
        anonymous = client.get("/supervision/v1/steps")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith(PROBLEM)
        wrong = client.get("/supervision/v1/steps", headers={"Authorization": "Bearer vt_nope"})
        assert wrong.status_code == 401
        too_many = client.get(
            "/supervision/v1/steps",
            params={"limit": 5000},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert too_many.status_code == 422 and too_many.json()["field"] == "limit"
        found = client.get("/supervision/v1/findings", headers={"Authorization": f"Bearer {token}"})
        assert found.json() == {"division_code": "320100", "findings": []}
        assert client.get("/supervision/v1/findings").status_code == 401
        batch = client.post("/supervision/v1/exchange/batches", json={"envelopes": []})
        assert batch.status_code == 401  # no client certificate, no exchange


def test_a_cursor_no_database_can_hold_is_refused(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path), roles=("supervision",))
    watch = app.state.supervision
    watch.register_organisation(
        Organisation(
            uscc=CITY, name="示例市市场监督管理局", kind=OrgKind.REGULATOR, division_code="320100"
        )
    )
    headers = {"Authorization": f"Bearer {watch.issue_token(CITY)}"}
    with TestClient(app) as client:
        for before in (2**63, -(2**63) - 1):
            response = client.get(
                "/supervision/v1/steps", params={"before": before}, headers=headers
            )
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["field"] == "before"
        last = client.get("/supervision/v1/steps", params={"before": 2**63 - 1}, headers=headers)
        assert last.status_code == 200 and last.json()["steps"] == []
