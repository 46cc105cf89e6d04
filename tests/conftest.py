"""Shared fixtures: every store-touching test runs on SQLite and on PostgreSQL.

PostgreSQL tests create and drop their own uniquely named database. They need
``VAXTRACE_TEST_PG_URL`` (scripts/test.sh sets it); under ``CI=true`` a missing or unreachable
server fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine.url import make_url

from vaxtrace.store.engine import make_engine
from vaxtrace.store.migrate import upgrade

PG_URL = os.environ.get("VAXTRACE_TEST_PG_URL")


def _pg_database() -> Iterator[str]:
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the PostgreSQL tests: set VAXTRACE_TEST_PG_URL")
        pytest.skip("VAXTRACE_TEST_PG_URL not set")
    admin_url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"vt_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'trace.sqlite'}"
    else:
        yield from _pg_database()


@contextlib.contextmanager
def _migrated(url: str, role: str) -> Iterator[Engine]:
    """A role's database at ``url``, migrated; disposed afterwards."""
    engine = make_engine(url)
    try:
        upgrade(engine, role)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def trace_engine(database_url: str) -> Iterator[Engine]:
    """A migrated trace-role database."""
    with _migrated(database_url, "trace") as engine:
        yield engine


@pytest.fixture
def platform_engine(database_url: str) -> Iterator[Engine]:
    """A migrated platform-role database."""
    with _migrated(database_url, "platform") as engine:
        yield engine


@pytest.fixture
def immunization_engine(database_url: str) -> Iterator[Engine]:
    """A migrated immunization-role database."""
    with _migrated(database_url, "immunization") as engine:
        yield engine


@pytest.fixture
def supervision_engine(database_url: str) -> Iterator[Engine]:
    """A migrated supervision-role database."""
    with _migrated(database_url, "supervision") as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgresql"])
def role_engines(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Engine]]:
    """Makes a migrated database of a role, a new one each call (separate nodes), all on one
    backend; each is disposed and dropped afterwards."""
    with contextlib.ExitStack() as stack:
        made = iter(range(1_000))

        def engine_of(role: str) -> Engine:
            if request.param == "sqlite":
                url = f"sqlite:///{tmp_path / f'{role}-{next(made)}.sqlite'}"
            else:
                url = stack.enter_context(contextlib.contextmanager(_pg_database)())
            return stack.enter_context(_migrated(url, role))

        yield engine_of
