"""The immunization role's migrations yield exactly the schema its code declares, with its
history tables append-only, and go down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.store.test_migrations import schema_of
from vaxtrace.store.append_only import APPEND_ONLY_MESSAGE
from vaxtrace.store.immunization.schema import APPEND_ONLY, metadata
from vaxtrace.store.migrate import alembic_config, upgrade

ROLE = "immunization"


def test_head_matches_the_metadata_with_history_append_only(immunization_engine: Engine) -> None:
    head = ScriptDirectory.from_config(alembic_config(ROLE, immunization_engine)).get_current_head()
    schema = schema_of(immunization_engine)
    assert schema["versions"] == [head] == ["0008"]
    assert set(schema["tables"]) == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    assert all(any(n.startswith(t + "_") for n in schema["triggers"]) for t in APPEND_ONLY)
    with immunization_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert list(compare_metadata(context, metadata)) == []


def test_history_refuses_rewrites(immunization_engine: Engine) -> None:
    with immunization_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO receipt_scan (note_no, code, result, reason, operator_uscc, "
                "scanned_at) VALUES ('FH1', 'x', 'rejected', 'unknown_note', 'u', :t)"
            ),
            {"t": "2026-01-01T00:00:00+00:00"},
        )
    for statement in ("UPDATE receipt_scan SET result = 'accepted'", "DELETE FROM receipt_scan"):
        with pytest.raises(DBAPIError) as caught, immunization_engine.begin() as conn:
            conn.execute(text(statement))
        assert APPEND_ONLY_MESSAGE in str(caught.value)


def test_down_to_base_and_up_again(immunization_engine: Engine) -> None:
    before = schema_of(immunization_engine)
    config = alembic_config(ROLE, immunization_engine)
    with immunization_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    emptied = schema_of(immunization_engine)
    assert set(emptied["tables"]) == {"alembic_version"}
    assert emptied["triggers"] == set()
    upgrade(immunization_engine, ROLE)
    upgrade(immunization_engine, ROLE)
    assert schema_of(immunization_engine) == before
