"""The engine factory: what every connection of a role's engine is set up with."""

from __future__ import annotations

import pytest
from sqlalchemy.engine.url import make_url

from vaxtrace.store.engine import make_engine


def test_postgresql_connections_do_not_jit_and_keep_the_urls_options(database_url: str) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL setting")
    engine = make_engine(f"{database_url}?options=-c%20search_path%3Dpublic")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
            assert conn.exec_driver_sql("SHOW search_path").scalar_one() == "public"
    finally:
        engine.dispose()
