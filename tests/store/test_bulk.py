"""Bulk inserts: driver speed, but errors and transactions behave like any other write."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from sqlalchemy import Engine, exc

from vaxtrace.store.bulk import bulk_insert, scratch_table
from vaxtrace.store.engine import write_tx


@pytest.mark.parametrize("given", [list, iter], ids=["a few rows", "a stream"])
def test_violation_is_sqlalchemy_integrity_error_and_rolls_back(
    trace_engine: Engine, given: Callable[[list[tuple[int, int]]], Iterable[tuple[int, int]]]
) -> None:
    """Either way of inserting (PostgreSQL: INSERT for a list of a few rows, else COPY)."""
    with pytest.raises(exc.IntegrityError), write_tx(trace_engine) as conn:
        bulk_insert(conn, "batch_event", ("batch_id", "event_id"), given([(1, 1), (1, 2)]))
        assert conn.exec_driver_sql("SELECT count(*) FROM batch_event").scalar_one() == 2
        bulk_insert(conn, "batch_event", ("batch_id", "event_id"), given([(1, 3), (1, 3)]))
    with trace_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM batch_event").scalar_one() == 0


def test_scratch_table_starts_empty_in_each_transaction(trace_engine: Engine) -> None:
    for _ in range(2):
        with write_tx(trace_engine) as conn:
            scratch_table(conn, "scratch_probe", "value VARCHAR(20)")
            assert conn.exec_driver_sql("SELECT count(*) FROM scratch_probe").scalar_one() == 0
            bulk_insert(conn, "scratch_probe", ("value",), (("a",), ("b",)))
            assert conn.exec_driver_sql("SELECT count(*) FROM scratch_probe").scalar_one() == 2
