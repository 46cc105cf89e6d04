"""History tables are append-only: the database itself refuses UPDATE and DELETE on them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from vaxtrace.store.append_only import APPEND_ONLY_MESSAGE
from vaxtrace.store.trace import events
from vaxtrace.store.trace.schema import APPEND_ONLY

# one row per history table, and a statement that would rewrite it
ROWS: dict[str, tuple[str, str, str]] = {
    "trace_event": (
        "",  # inserted through events.append_event
        "UPDATE trace_event SET payload = '{}', document_no = 'FORGED' WHERE id = 1",
        "SELECT document_no, bill_type FROM trace_event ORDER BY id",
    ),
    "event_code": (
        "INSERT INTO event_code (code_id, event_id) VALUES (7, 1)",
        "UPDATE event_code SET event_id = 2 WHERE code_id = 7",
        "SELECT code_id, event_id FROM event_code",
    ),
    "batch_event": (
        "INSERT INTO batch_event (batch_id, event_id) VALUES (3, 1)",
        "UPDATE batch_event SET batch_id = 4",
        "SELECT batch_id, event_id FROM batch_event",
    ),
    "containment_history": (
        "INSERT INTO containment_history (child_id, since_event, until_event, parent_id) "
        "VALUES (7, 1, 2, 9)",
        "UPDATE containment_history SET until_event = 99, parent_id = 10",
        "SELECT child_id, since_event, until_event, parent_id FROM containment_history",
    ),
}


def test_every_history_table_is_covered() -> None:
    assert set(ROWS) == set(APPEND_ONLY)


def _history_row(engine: Engine, table: str) -> list[Any]:
    insert_sql, _update, select_sql = ROWS[table]
    with engine.begin() as conn:
        header = events.EventHeader(
            bill_type="201",
            org_uscc="91320100MA1X000009",
            business_time=datetime(2024, 4, 1, 1, 0, tzinfo=UTC),
            document_no="SN000001",
            client_document_id="sn-1",
        )
        assert events.append_event(conn, header, {"codes": 1}) == 1
        if insert_sql:
            conn.execute(text(insert_sql))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(select_sql))]
    assert len(rows) == 1  # appending is allowed
    return rows


def _refused(engine: Engine, sql: str) -> None:
    with pytest.raises(DBAPIError) as info, engine.begin() as conn:
        conn.execute(text(sql))
    assert APPEND_ONLY_MESSAGE in str(info.value)


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_update_is_refused(trace_engine: Engine, table: str) -> None:
    before = _history_row(trace_engine, table)
    _refused(trace_engine, ROWS[table][1])
    with trace_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(ROWS[table][2]))] == before


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_delete_is_refused(trace_engine: Engine, table: str) -> None:
    before = _history_row(trace_engine, table)
    _refused(trace_engine, f"DELETE FROM {table}")
    with trace_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(ROWS[table][2]))] == before


def test_truncate_is_refused_on_postgresql(trace_engine: Engine) -> None:
    if trace_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE triggers already refuse emptying a table")
    before = _history_row(trace_engine, "batch_event")
    with pytest.raises(DBAPIError), trace_engine.begin() as conn:
        conn.execute(text("TRUNCATE batch_event"))
    with trace_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(ROWS["batch_event"][2]))] == before
