"""Answers as documented (web.documented): every operation lists the statuses it can answer,
each problem as problem+json with the problem schema; /docs and /redoc load local assets only,
served from the npm packages scripts/setup.sh installs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from vaxtrace.app import build_app
from vaxtrace.settings import Settings
from vaxtrace.web.problems import MEDIA_TYPE, PROBLEM_SCHEMA


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = build_app(Settings(data_dir=tmp_path_factory.mktemp("all")))
    yield TestClient(app)
    app.state.immunization.close()


@pytest.fixture(scope="module")
def paths(client: TestClient) -> dict[str, Any]:
    found: dict[str, Any] = client.get("/openapi.json").json()["paths"]
    return found


SAMPLE = {
    ("/trace/v1/commissions", "post"): {"200", "201", "400", "401", "404", "409", "413", "422"},
    ("/trace/v1/batches/{batch_no}", "get"): {"200", "401", "404", "422"},
    ("/trace/v1/public/codes", "get"): {"200", "404", "422"},
    ("/trace/v1/ledger/checkpoint", "get"): {"200", "404"},  # an empty log: no_checkpoint
    ("/platform/v1/exchange/envelopes", "post"): {
        "200", "201", "400", "401", "403", "404", "409", "413", "422",
    },
    ("/platform/v1/public/codes", "get"): {"200", "404", "422", "503"},
    ("/platform/v1/registry/changes", "get"): {"200", "401", "403", "422"},
    ("/immunization/v1/dose-checks", "post"): {"200", "400", "401", "404", "409", "413", "422"},
    ("/immunization/v1/stock/summary", "get"): {"200", "401", "422"},
    ("/supervision/v1/findings", "get"): {"200", "401", "422"},
    ("/health", "get"): {"200"},
}  # fmt: skip


@pytest.mark.parametrize(("path", "method"), list(SAMPLE))
def test_an_operation_lists_what_it_answers(paths: dict[str, Any], path: str, method: str) -> None:
    assert set(paths[path][method]["responses"]) == SAMPLE[path, method]


def test_every_problem_is_documented_as_problem_json(paths: dict[str, Any]) -> None:
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"] == {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}, (
                        method,
                        path,
                        status,
                    )
                    assert answer["description"], (method, path, status)


def test_a_route_with_a_body_documents_the_refused_body(paths: dict[str, Any]) -> None:
    for operations in paths.values():
        for operation in operations.values():
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(operation["responses"])


def test_a_write_documents_its_replay(paths: dict[str, Any]) -> None:
    replay = paths["/immunization/v1/scraps"]["post"]["responses"]["200"]
    assert "replayed" in replay["description"]
    assert replay["content"] == paths["/immunization/v1/scraps"]["post"]["responses"]["201"].get(
        "content"
    )


def test_fastapis_validation_error_is_gone(client: TestClient) -> None:
    document = client.get("/openapi.json").text
    assert "HTTPValidationError" not in document


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_local_assets_only(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert "http://" not in html.text and "https://" not in html.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert assets
    for asset in assets:
        assert asset.startswith("/docs/assets/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 100


def test_an_asset_that_is_not_one_is_refused(client: TestClient) -> None:
    for asset in ("/docs/assets/../../pyproject.toml", "/docs/assets/swagger-ui/package.json"):
        answer = client.get(asset)
        assert answer.status_code == 404


def test_docs_assets_can_live_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "redoc" / "bundles").mkdir(parents=True)
    (tmp_path / "redoc" / "bundles" / "redoc.standalone.js").write_text("/* redoc */")
    settings = Settings(data_dir=tmp_path / "data", docs_assets_dir=tmp_path)
    client = TestClient(build_app(settings, roles=("supervision",)))
    assert client.get("/docs/assets/redoc/bundles/redoc.standalone.js").text == "/* redoc */"
    assert client.get("/docs/assets/swagger-ui/swagger-ui.css").status_code == 404
