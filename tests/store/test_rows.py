"""A register's row is inserted once, updated where it differs, and not written unchanged."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table, create_engine, event, select

from vaxtrace.store.rows import put_row

metadata = MetaData()
place = Table(
    "place",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("name", String(100), nullable=False),
)


def test_a_row_is_inserted_updated_and_left_alone_when_unchanged() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    writes: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: writes.append(statement.split()[0]),
    )
    with engine.begin() as conn:
        put_row(conn, place, {"uscc": "A", "name": "甲"})
        put_row(conn, place, {"uscc": "A", "name": "甲"})
        put_row(conn, place, {"uscc": "A", "name": "乙"})
        assert conn.execute(select(place.c.name)).scalars().all() == ["乙"]
    assert [w for w in writes if w != "SELECT"] == ["INSERT", "UPDATE"]
