"""A node's copy of the platform's basic data keeps the latest of each thing, and how far the
feed was applied, on both backends."""

from __future__ import annotations

from sqlalchemy import Engine, select

from vaxtrace.store.basic_data import (
    Change,
    applied_version,
    copied,
    copy_changes,
    save_version,
)
from vaxtrace.store.trace.schema import basic_data


def _change(version: int, kind: str, key: str, **data: object) -> Change:
    return Change(version, kind, key, data)


def test_the_copy_keeps_the_latest_of_each_thing(trace_engine: Engine) -> None:
    with trace_engine.begin() as conn:
        copy_changes(
            conn,
            basic_data,
            [
                _change(1, "organisation", "A", name="甲"),
                _change(2, "system", "A", role="trace"),  # same key, another kind
                _change(3, "organisation", "A", name="甲二"),
            ],
        )
        copy_changes(conn, basic_data, [_change(4, "organisation", "B", name="乙")])
        copy_changes(conn, basic_data, [])
        assert copied(conn, basic_data, "organisation", ["A", "B", "C"]) == {
            "A": {"name": "甲二"},
            "B": {"name": "乙"},
        }
        assert copied(conn, basic_data, "system", ["A"]) == {"A": {"role": "trace"}}
        rows = conn.execute(
            select(
                basic_data.data.c.kind, basic_data.data.c.key, basic_data.data.c.version
            ).order_by(basic_data.data.c.version)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("system", "A", 2),
        ("organisation", "A", 3),
        ("organisation", "B", 4),
    ]


def test_the_version_applied_is_kept_per_source(trace_engine: Engine) -> None:
    with trace_engine.begin() as conn:
        assert applied_version(conn, basic_data, "https://platform") == 0
        save_version(conn, basic_data, "https://platform", 7)
        save_version(conn, basic_data, "https://platform", 9)
        save_version(conn, basic_data, "https://other", 2)
        assert applied_version(conn, basic_data, "https://platform") == 9
        assert applied_version(conn, basic_data, "https://other") == 2
