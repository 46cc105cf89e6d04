"""A change registered at the platform reaches every trace node through the change feed,
pulled with each node's own certificate (here over an in-process mutual-TLS transport)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from vaxtrace.app import build_app
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.exchange.registry_client import changes_fetcher
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import make_engine
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.trace.schema import organisation
from vaxtrace.web.tls import with_tls

MAH = make_uscc("91320100MA1X00001")
CDC = make_uscc("12320000MB0000001")


def _client_for(app: object, ca: CertificateAuthority, system_id: str, out: Path) -> TestClient:
    """Requests that arrive as if over mutual TLS with this system's certificate."""
    ca.issue_system(system_id, MAH, out)
    pem = (out / f"{system_id}.pem").read_text()
    tls = {"client_cert_chain": [pem], "client_cert_name": f"CN={system_id}"}
    return TestClient(with_tls(app, tls))


def _division(engine: Engine, uscc: str) -> str | None:
    with engine.connect() as conn:
        query = select(organisation.c.division_code).where(organisation.c.uscc == uscc)
        found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


def test_a_change_reaches_every_node(tmp_path: Path, trace_engine: Engine) -> None:
    settings = Settings(data_dir=tmp_path / "platform")
    ca = CertificateAuthority(settings.pki_dir)
    ca.create()
    platform_app = build_app(settings, roles=("platform",))
    hub = platform_app.state.platform
    hub.register_organisation(
        RegisteredOrganisation(
            uscc=MAH, name="华东示例生物制品股份有限公司", kind="mah", division_code="320100"
        )
    )
    hub.register_organisation(
        RegisteredOrganisation(
            uscc=CDC, name="示例省疾病预防控制中心", kind="cdc", division_code="320000"
        )
    )
    second = make_engine(f"sqlite:///{tmp_path / 'second.sqlite'}")
    upgrade(second, "trace")
    nodes = {"trace-a": TraceService(trace_engine), "trace-b": TraceService(second)}
    for system_id in nodes:
        hub.register_system(
            ConnectedSystem(
                system_id=system_id,
                name=system_id,
                role="trace",
                operator_uscc=MAH,
                endpoint=f"https://{system_id}.example",
                represents=(MAH,),
            )
        )
    clients = {s: _client_for(platform_app, ca, s, tmp_path / "certs") for s in nodes}
    for system_id, node in nodes.items():
        result = node.sync_registry("platform", changes_fetcher(clients[system_id]))
        assert result["applied"] == 4  # two organisations, two systems
        assert _division(node.engine, CDC) == "320000"
    hub.register_organisation(
        RegisteredOrganisation(
            uscc=CDC, name="示例省疾病预防控制中心", kind="cdc", division_code="320100"
        )
    )
    for system_id, node in nodes.items():
        again = node.sync_registry("platform", changes_fetcher(clients[system_id]))
        assert again["applied"] == 1
        assert _division(node.engine, CDC) == "320100"
        assert node.sync_registry("platform", changes_fetcher(clients[system_id]))["applied"] == 0
    second.dispose()


def test_the_feed_needs_a_certificate(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(build_app(settings, roles=("platform",))) as anonymous:
        refused = anonymous.get("/platform/v1/registry/changes")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    with pytest.raises(httpx.HTTPStatusError):
        changes_fetcher(TestClient(build_app(settings, roles=("platform",))))(0)
