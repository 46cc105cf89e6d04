"""The immunization role's migrations yield exactly the schema its code declares, with its
history tables append-only, and go down and up again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Engine, column, select, table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import TableClause

from tests.store.test_migrations import schema_of
from vaxtrace.store.append_only import APPEND_ONLY_MESSAGE
from vaxtrace.store.immunization.schema import APPEND_ONLY, EXPIRY_HISTORY, metadata
from vaxtrace.store.migrate import alembic_config, upgrade
from vaxtrace.store.migrations.log_tables import LOG_HISTORY

ROLE = "immunization"


def test_head_matches_the_metadata_with_history_append_only(immunization_engine: Engine) -> None:
    head = ScriptDirectory.from_config(alembic_config(ROLE, immunization_engine)).get_current_head()
    schema = schema_of(immunization_engine)
    assert schema["versions"] == [head] == ["0019"]
    assert set(schema["tables"]) == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    history = APPEND_ONLY + EXPIRY_HISTORY + LOG_HISTORY
    assert all(any(n.startswith(t + "_") for n in schema["triggers"]) for t in history)
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


def test_expected_codes_are_read_for_notes_announced_before(immunization_engine: Engine) -> None:
    """0006 reads the notes a province already has as announce now reads a new one."""
    from vaxtrace.core.codes import issue_nmpa20
    from vaxtrace.core.receipt import consignment
    from vaxtrace.store.immunization.schema import expected_code

    expected_receipt = table_at_0005()

    config = alembic_config(ROLE, immunization_engine)
    with immunization_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    case, boxes = issue_nmpa20("8000003", 1), [issue_nmpa20("8000002", n) for n in (1, 2)]
    doses = {
        b: [issue_nmpa20("8000001", 10 * n + d) for d in range(3)] for n, b in enumerate(boxes)
    }
    notes = {
        "e-1": {"codes": [case, "(01)06901234567892(21)SER001"], "contents": {case: boxes} | doses},
        "e-2": {"codes": [issue_nmpa20("8000001", 99)]},
        "e-3": {"codes": []},
    }
    with immunization_engine.begin() as conn:
        for n, (event_id, note) in enumerate(notes.items()):
            conn.execute(
                expected_receipt.insert().values(
                    event_id=event_id,
                    mah_uscc="m",
                    note_no=f"FH{n}",
                    consignee_uscc="c",
                    doses=1,
                    note=note,
                    announced_at=datetime(2026, 1, 1, tzinfo=UTC),
                    sequence=n,
                )
            )
    upgrade(immunization_engine, ROLE)
    with immunization_engine.connect() as conn:
        rows = conn.execute(
            select(
                expected_code.c.note_event_id,
                expected_code.c.code,
                expected_code.c.parent_code,
                expected_code.c.doses,
                expected_code.c.position,
            ).order_by(expected_code.c.note_event_id, expected_code.c.position)
        ).all()
    wanted = [
        (event_id, c.code, c.parent_code, c.doses, c.position)
        for event_id, note in notes.items()
        for c in consignment(note["codes"], note.get("contents")).expected_codes()
    ]
    assert [tuple(r) for r in rows] == wanted
    assert len(wanted) == 2 + 2 + 6 + 1
    assert ("e-1", "0106901234567892" + "21SER001", None, 1, 1) in wanted


def table_at_0005() -> TableClause:
    """``expected_receipt`` as revision 0005 left it (the MAH as ``mah_uscc``)."""
    return table(
        "expected_receipt",
        *(column(name) for name in ("event_id", "mah_uscc", "note_no", "consignee_uscc")),
        *(column(name) for name in ("doses", "announced_at", "sequence")),
        column("note", JSON),
    )
