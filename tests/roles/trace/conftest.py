"""Fixtures of the trace-role tests: a world built through the real HTTP API (see trace_world).

The world is built once per backend (SQLite, PostgreSQL) through the API; every test then gets
its own copy of that database (SQLite backup API / PostgreSQL ``CREATE DATABASE … TEMPLATE``),
so tests stay independent without paying for the build each time.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine.url import make_url

# The tests import their helpers (trace_world.py, next to this file) under any --import-mode.
sys.path.insert(0, str(Path(__file__).parent))

from trace_world import OtherMah, World, bearer, clock_at, populate, pov_organisation

from vaxtrace.app import build_app
from vaxtrace.core.datasets.basic_data import CodeFamilyName, Organisation, VaccineProduct
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import mahs, product_for, provincial_cdc
from vaxtrace.store.engine import make_engine
from vaxtrace.store.migrate import upgrade

PG_URL = os.environ.get("VAXTRACE_TEST_PG_URL")


@dataclass(frozen=True)
class Template:
    """A database holding the built world, and what a test needs to know about it."""

    backend: str
    location: str  # SQLite file path, or PostgreSQL database name
    mah: Organisation
    token: str
    cdc_token: str
    nmpa: VaccineProduct
    gs1: VaccineProduct
    nmpa_cases: list[str]
    gs1_cases: list[str]


def _pg_admin() -> Engine:
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the PostgreSQL tests: set VAXTRACE_TEST_PG_URL")
        pytest.skip("VAXTRACE_TEST_PG_URL not set")
    admin = create_engine(
        make_url(PG_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return admin


def _pg_url(admin: Engine, database: str) -> str:
    return admin.url.set(database=database).render_as_string(hide_password=False)


def _build(url: str, backend: str, location: str, tmp: Path) -> Template:
    engine = make_engine(url)
    upgrade(engine, "trace")
    service = TraceService(engine, clock=clock_at())
    mah = mahs(2)[0]
    assert mah.family is CodeFamilyName.NMPA20
    cdc = provincial_cdc()
    for org in (mah.organisation, cdc, pov_organisation()):
        service.register_organisation(org)
    token = service.issue_token(mah.organisation.uscc)
    cdc_token = service.issue_token(cdc.uscc)
    nmpa = product_for(mah, 0, "HEPB")  # 10 doses a box, 50 boxes a case
    gs1 = product_for(dataclasses.replace(mah, family=CodeFamilyName.GS1), 0, "IPV")  # 5 × 80
    with TestClient(build_app(Settings(data_dir=tmp), trace=service)) as client:
        world = World(
            client=client,
            engine=engine,
            service=service,
            mah=mah.organisation,
            cdc=cdc,
            pov=pov_organisation(),
            headers=bearer(token),
            cdc_headers=bearer(cdc_token),
            nmpa=nmpa,
            gs1=gs1,
        )
        populate(world)
    engine.dispose()
    return Template(
        backend, location, mah.organisation, token, cdc_token, nmpa, gs1,
        world.nmpa_cases, world.gs1_cases,
    )  # fmt: skip


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def world_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    """The world, built once per backend."""
    tmp = tmp_path_factory.mktemp("world")
    if request.param == "sqlite":
        path = tmp / "world.sqlite"
        yield _build(f"sqlite:///{path}", "sqlite", str(path), tmp)
        return
    admin = _pg_admin()
    name = f"vt_world_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _build(_pg_url(admin, name), "postgresql", name, tmp)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def world_engine(world_template: Template, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the world's database."""
    if world_template.backend == "sqlite":
        path = tmp_path / "trace.sqlite"
        with sqlite3.connect(world_template.location) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    admin = _pg_admin()
    name = f"vt_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{world_template.location}"'))
    engine = make_engine(_pg_url(admin, name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def world(world_template: Template, world_engine: Engine, tmp_path: Path) -> Iterator[World]:
    """A MAH with a token, the provincial CDC, a POV, a product of each code family, and per
    product a batch commissioned (generated cases), self-inspected, lot-released, warehoused;
    its clock reads ``trace_world.NOW`` (mid-2024)."""
    t = world_template
    service = TraceService(world_engine, clock=clock_at())
    with TestClient(build_app(Settings(data_dir=tmp_path), trace=service)) as client:
        yield World(
            client=client,
            engine=world_engine,
            service=service,
            mah=t.mah,
            cdc=provincial_cdc(),
            pov=pov_organisation(),
            headers=bearer(t.token),
            cdc_headers=bearer(t.cdc_token),
            nmpa=t.nmpa,
            gs1=t.gs1,
            nmpa_cases=list(t.nmpa_cases),
            gs1_cases=list(t.gs1_cases),
        )


@pytest.fixture
def other_mah(world: World) -> OtherMah:
    """A second MAH (GS1 family) with its own released, warehoused batch."""
    other = mahs(2)[1]
    world.service.register_organisation(other.organisation)
    headers = bearer(world.service.issue_token(other.organisation.uscc))
    item = product_for(other, 1, "RABV")
    world.ok("/products", item.model_dump(mode="json"), headers)
    cases = world.make_batch(item, "RB240110", cases=1, headers=headers)
    return OtherMah(other.organisation, headers, item, "RB240110", cases)
