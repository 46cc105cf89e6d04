"""Migrations: ``upgrade`` is idempotent and yields exactly the schema the code declares."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect, text

from vaxtrace.store.engine import make_engine
from vaxtrace.store.immunization.schema import metadata as immunization_metadata
from vaxtrace.store.migrate import alembic_config, upgrade
from vaxtrace.store.platform.schema import metadata as platform_metadata
from vaxtrace.store.supervision.schema import metadata as supervision_metadata
from vaxtrace.store.trace.schema import APPEND_ONLY, metadata


def triggers_of(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return {r[0] for r in conn.execute(text(query))}


def schema_of(engine: Engine) -> dict[str, Any]:
    found = inspect(engine)
    with engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return {
        "versions": versions,
        "tables": {
            t: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(t)],
                sorted(i["name"] or "" for i in found.get_indexes(t)),
                sorted(str(u["column_names"]) for u in found.get_unique_constraints(t)),
            )
            for t in sorted(found.get_table_names())
        },
        "triggers": triggers_of(engine),
    }


def _differences(engine: Engine, target: MetaData) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_upgrade_reaches_head_with_every_table_and_trigger(trace_engine: Engine) -> None:
    head = ScriptDirectory.from_config(alembic_config("trace", trace_engine)).get_current_head()
    schema = schema_of(trace_engine)
    assert schema["versions"] == [head]
    assert set(schema["tables"]) == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    names = schema["triggers"]
    assert all(any(n.startswith(t + "_") for n in names) for t in APPEND_ONLY), names


def test_upgrade_twice_is_idempotent(trace_engine: Engine) -> None:
    before = schema_of(trace_engine)
    upgrade(trace_engine, "trace")
    upgrade(trace_engine, "trace")
    assert schema_of(trace_engine) == before


def test_the_migrated_schema_matches_the_metadata(trace_engine: Engine) -> None:
    assert _differences(trace_engine, metadata) == []


def test_the_comparison_would_notice_a_difference(trace_engine: Engine) -> None:
    """The check above is not vacuous: a table the migrations lack is reported."""
    wider = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(wider)
    Table("not_migrated", wider, Column("id", Integer, primary_key=True))
    diffs = _differences(trace_engine, wider)
    assert [d[0] for d in diffs] == ["add_table"]
    assert diffs[0][1].name == "not_migrated"


def test_downgrade_to_base_and_upgrade_again(trace_engine: Engine) -> None:
    from alembic import command

    before = schema_of(trace_engine)
    config = alembic_config("trace", trace_engine)
    with trace_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    emptied = schema_of(trace_engine)
    assert set(emptied["tables"]) == {"alembic_version"}
    assert emptied["versions"] == [] and emptied["triggers"] == set()
    upgrade(trace_engine, "trace")
    assert schema_of(trace_engine) == before


def test_a_trace_node_pulls_the_registry_again_to_fill_its_copy(trace_engine: Engine) -> None:
    """Migration 0008 adds the copy of the platform's registry and forgets how far the feed
    was applied, so the next pull starts from the beginning and fills the copy."""
    from alembic import command

    config = alembic_config("trace", trace_engine)
    with trace_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
        conn.execute(text("INSERT INTO registry_sync (source, version) VALUES ('p', 42)"))
    upgrade(trace_engine, "trace")
    with trace_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM registry_sync")).scalar_one() == 0


ROLE_METADATA = {
    "trace": metadata,
    "platform": platform_metadata,
    "immunization": immunization_metadata,
    "supervision": supervision_metadata,
}


@pytest.mark.parametrize("role", sorted(ROLE_METADATA))
def test_every_role_migrates_to_exactly_the_schema_it_declares(
    role: str, database_url: str
) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, role)
        head = ScriptDirectory.from_config(alembic_config(role, engine)).get_current_head()
        schema = schema_of(engine)
        assert schema["versions"] == [head]
        declared = ROLE_METADATA[role]
        assert set(schema["tables"]) == {t.name for t in declared.sorted_tables} | {
            "alembic_version"
        }
        assert _differences(engine, declared) == []
        upgrade(engine, role)
        assert schema_of(engine) == schema
    finally:
        engine.dispose()
