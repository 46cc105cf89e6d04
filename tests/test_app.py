"""The background work of a node's app: a trace node offers its coding rules and products to
the platform until the platform takes them, and a broken round does not stop the next."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from vaxtrace.app import _step_once, _TraceFollower, build_app
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import mahs, make_uscc, product_for
from vaxtrace.web.tls import with_tls

MAH = mahs(1)[0].organisation
OTHER = make_uscc("91320200MA1X00002")


def _trace_system(represents: str) -> ConnectedSystem:
    return ConnectedSystem(
        system_id="trace-a",
        name="trace-a",
        role="trace",
        operator_uscc=MAH.uscc,
        endpoint="https://trace-a.example",
        represents=(represents,),
    )


def test_what_the_platform_refused_is_offered_again(
    tmp_path: Path, trace_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path / "platform")
    ca = CertificateAuthority(settings.pki_dir)
    ca.create()
    platform_app = build_app(settings, roles=("platform",))
    hub = platform_app.state.platform
    for uscc, name in ((MAH.uscc, MAH.name), (OTHER, "江南示范疫苗有限公司")):
        hub.register_organisation(
            RegisteredOrganisation(uscc=uscc, name=name, kind="mah", division_code="320100")
        )
    hub.register_system(_trace_system(OTHER))  # by mistake: not the MAH it serves
    ca.issue_system("trace-a", MAH.uscc, tmp_path / "certs")
    pem = (tmp_path / "certs" / "trace-a.pem").read_text()
    tls = {"client_cert_chain": [pem], "client_cert_name": "CN=trace-a"}
    client = TestClient(with_tls(platform_app, tls))
    trace = TraceService(trace_engine)
    trace.register_organisation(MAH)
    trace.register_product(MAH.uscc, product_for(mahs(1)[0], 0, "HEPB"))
    follower = _TraceFollower(trace, "platform")

    def products_at_the_platform() -> list[str]:
        return [c["key"] for c in hub.changes(0)["changes"] if c["kind"] == "product"]

    with caplog.at_level(logging.WARNING, logger="vaxtrace"):
        follower(client)
    assert "not_represented" in caplog.text and products_at_the_platform() == []
    hub.register_system(_trace_system(MAH.uscc))  # the platform's operator mends it
    follower(client)
    assert products_at_the_platform() == [f"{MAH.uscc}/HEPB"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vaxtrace"):
        follower(client)  # unchanged since: nothing offered, nothing refused
    assert caplog.text == ""


def test_a_broken_round_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_client: httpx.Client) -> None:
        raise RuntimeError("database is locked")

    with caplog.at_level(logging.ERROR, logger="vaxtrace"):
        _step_once(broken, lambda base: httpx.Client(base_url=base), "https://platform.example")
    assert "database is locked" in caplog.text


def test_a_province_node_runs_the_expiry_before_serving_and_logs_a_failed_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import select

    from vaxtrace.app import _expire_once
    from vaxtrace.store.immunization.schema import expiry_run

    app = build_app(Settings(data_dir=tmp_path), roles=("immunization",))
    province = app.state.immunization
    with TestClient(app) as client:
        with province.engine.connect() as conn:
            runs = conn.execute(select(expiry_run.c.source, expiry_run.c.batches)).all()
        assert [tuple(r) for r in runs] == [("nightly", 0)]
        assert client.get("/health").status_code == 200
    province.engine.dispose()
    (tmp_path / "immunization.sqlite").unlink()
    (tmp_path / "immunization.sqlite").mkdir()  # the database cannot be opened: the run fails
    with caplog.at_level(logging.ERROR, logger="vaxtrace"):
        _expire_once(province)
    assert "the expiry run failed" in caplog.text
