"""The column helpers give the columns the roles' tables were written with by hand."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, Table, create_engine
from sqlalchemy.schema import CreateTable

from vaxtrace.store import columns as col
from vaxtrace.store.basic_data import organisations_table


def _ddl(*columns: Column[object]) -> dict[str, str]:
    table = Table("t", MetaData(), *columns)
    dialects = [create_engine(url).dialect for url in ("sqlite://", "postgresql+psycopg://")]
    return {d.name: str(CreateTable(table).compile(dialect=d)) for d in dialects}


def test_helpers_are_not_null_columns_of_their_type() -> None:
    ddl = _ddl(
        col.surrogate_key(),
        col.uscc("org_uscc"),
        col.moment("recorded_at"),
        col.event_uuid("note_event_id"),
        col.document_no(),
        col.sha256("request_sha256"),
        col.client_document_id(),
        col.division_code(),
        *col.batch_identity(),
    )
    assert "org_uscc VARCHAR(18) NOT NULL" in ddl["sqlite"]
    assert "recorded_at TIMESTAMP WITH TIME ZONE NOT NULL" in ddl["postgresql"]
    assert "note_event_id VARCHAR(36) NOT NULL" in ddl["sqlite"]
    assert "document_no VARCHAR(60) NOT NULL" in ddl["sqlite"]
    assert "request_sha256 VARCHAR(64) NOT NULL" in ddl["sqlite"]
    assert "client_document_id VARCHAR(64) NOT NULL" in ddl["sqlite"]
    assert "division_code VARCHAR(6) NOT NULL" in ddl["sqlite"]
    assert "mah_uscc VARCHAR(18) NOT NULL" in ddl["sqlite"]
    assert "batch_no VARCHAR(20) NOT NULL" in ddl["sqlite"]
    assert "id INTEGER NOT NULL" in ddl["sqlite"]
    assert "id BIGSERIAL NOT NULL" in ddl["postgresql"]


def test_a_register_of_one_kind_has_no_kind_column() -> None:
    regulators = organisations_table(MetaData(), "regulator", kinds=False)
    units = organisations_table(MetaData(), "organisation")
    assert list(regulators.c.keys()) == ["uscc", "name", "division_code"]
    assert list(units.c.keys()) == ["uscc", "name", "kind", "division_code"]
    assert [c.name for c in units.primary_key] == ["uscc"]
