"""A register's row is inserted once, updated where it differs, and not written unchanged;
which keys a register holds is asked in batches."""

from __future__ import annotations

from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, event, select

from vaxtrace.core.datasets.basic_data import Licence
from vaxtrace.sim.catalogue import mahs
from vaxtrace.store.rows import held_keys, put_row, put_rows, update_or_insert
from vaxtrace.store.trace.schema import organisation

metadata = MetaData()
place = Table(
    "place",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("name", String(100), nullable=False),
)


def _statements_of(engine: Engine) -> list[str]:
    """The verb of each statement ``engine`` runs from now on (SELECT, INSERT, UPDATE …)."""
    verbs: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: verbs.append(statement.split()[0]),
    )
    return verbs


def test_a_row_is_inserted_updated_and_left_alone_when_unchanged() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    writes = _statements_of(engine)
    with engine.begin() as conn:
        put_row(conn, place, {"uscc": "A", "name": "甲"})
        put_row(conn, place, {"uscc": "A", "name": "甲"})
        put_row(conn, place, {"uscc": "A", "name": "乙"})
        assert conn.execute(select(place.c.name)).scalars().all() == ["乙"]
    assert [w for w in writes if w != "SELECT"] == ["INSERT", "UPDATE"]


def test_which_keys_have_a_row_in_batches() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        for n in range(0, 1200, 3):
            put_row(conn, place, {"uscc": f"U{n:04d}", "name": "甲"})
        asked = [f"U{n:04d}" for n in range(1200)]  # more than one batch of 500
        assert held_keys(conn, place, asked) == {f"U{n:04d}" for n in range(0, 1200, 3)}
        assert held_keys(conn, place, []) == set()


def test_many_rows_are_read_once_inserted_at_once_and_updated_where_they_differ() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        put_row(conn, place, {"uscc": "A", "name": "甲"})
        put_row(conn, place, {"uscc": "B", "name": "乙"})
    writes = _statements_of(engine)
    rows = [
        {"uscc": "A", "name": "甲"},  # unchanged
        {"uscc": "B", "name": "乙一"},
        {"uscc": "C", "name": "丙"},
        {"uscc": "D", "name": "丁"},
        {"uscc": "C", "name": "丙二"},  # the last of a key wins
    ]
    with engine.begin() as conn:
        put_rows(conn, place, rows)
    assert writes == ["SELECT", "INSERT", "UPDATE"]  # C and D at once; only B updated
    with engine.connect() as conn:
        names = dict(conn.execute(select(place.c.uscc, place.c.name)).all())
    assert names == {"A": "甲", "B": "乙一", "C": "丙二", "D": "丁"}


def test_rows_with_json_are_left_alone_when_unchanged_on_both_backends(
    trace_engine: Engine,
) -> None:
    licensed = mahs(1)[0].organisation.model_copy(
        update={
            "licences": (
                Licence(kind="药品生产许可证", number="苏20160001", valid_until="2030-12-31"),
            )
        }
    )
    row = licensed.model_dump(mode="json")
    with trace_engine.begin() as conn:
        put_rows(conn, organisation, [row])
    writes = _statements_of(trace_engine)
    with trace_engine.begin() as conn:
        put_rows(conn, organisation, [row])
        renewed = row | {"licences": [row["licences"][0] | {"valid_until": "2035-12-31"}]}
        put_rows(conn, organisation, [renewed])
        stored = conn.execute(select(organisation.c.licences)).scalar_one()
    assert [w for w in writes if w in ("INSERT", "UPDATE")] == ["UPDATE"]
    assert stored == renewed["licences"]


def test_update_or_insert_by_a_composite_key() -> None:
    engine = create_engine("sqlite://")
    pairs = Table(
        "pairs",
        MetaData(),
        Column("a", String(5), primary_key=True),
        Column("b", String(5), primary_key=True),
        Column("value", String(5), nullable=False),
    )
    pairs.metadata.create_all(engine)
    with engine.begin() as conn:
        update_or_insert(conn, pairs, {"a": "x", "b": "1"}, {"value": "甲"})
        update_or_insert(conn, pairs, {"a": "x", "b": "2"}, {"value": "乙"})
        update_or_insert(conn, pairs, {"a": "x", "b": "1"}, {"value": "丙"})
        rows = conn.execute(select(pairs).order_by(pairs.c.b)).all()
    assert [tuple(r) for r in rows] == [("x", "1", "丙"), ("x", "2", "乙")]
