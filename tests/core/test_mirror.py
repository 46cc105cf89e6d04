"""A table against the rows its journal keeps: the first row inserted, deleted or altered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from vaxtrace.core.mirror import (
    Kept,
    Record,
    first_difference,
    in_key_order,
    kept_in_key_order,
    moment,
    normalised,
    plain,
)

KEY = ("id",)
FIELDS = ("state", "data")


def _rows(*rows: dict[str, Any]) -> list[Record]:
    return in_key_order([normalised(r) for r in rows], KEY)


def _kept(*rows: dict[str, Any]) -> list[Kept]:
    return kept_in_key_order([Kept(100 + int(r["id"]), normalised(r)) for r in rows], KEY)


ONE = {"id": 1, "state": "open", "data": {"codes": ["A", "B"], "n": 2}}
TWO = {"id": 2, "state": "open", "data": {}}
THREE = {"id": 3, "state": "closed", "data": None}


def test_a_table_that_mirrors_its_journal_has_no_difference() -> None:
    assert first_difference(_rows(THREE, ONE, TWO), _kept(ONE, TWO, THREE), KEY, FIELDS) is None
    assert first_difference([], [], KEY, FIELDS) is None


def test_a_row_with_no_entry_was_inserted() -> None:
    found = first_difference(_rows(ONE, TWO, THREE), _kept(ONE, THREE), KEY, FIELDS)
    assert found is not None and found.found == "inserted"
    assert found.key == (("id", 2),) and found.entry_id is None
    assert found.describe() == "row (id=2) has no journal entry: inserted outside the log"


def test_a_row_past_the_last_entry_was_inserted() -> None:
    found = first_difference(_rows(ONE, TWO), _kept(ONE), KEY, FIELDS)
    assert found is not None and (found.found, found.key) == ("inserted", (("id", 2),))


def test_an_entry_with_no_row_names_its_deleted_row() -> None:
    found = first_difference(_rows(ONE, THREE), _kept(ONE, TWO, THREE), KEY, FIELDS)
    assert found is not None and (found.found, found.entry_id) == ("deleted", 102)
    assert "entry 102 keeps row (id=2)" in found.describe()
    last = first_difference(_rows(ONE), _kept(ONE, TWO), KEY, FIELDS)
    assert last is not None and (last.found, last.key) == ("deleted", (("id", 2),))


def test_an_altered_field_is_named_down_to_the_value_that_differs() -> None:
    altered = {**ONE, "data": {"codes": ["A", "X"], "n": 2}}
    found = first_difference(_rows(altered, TWO), _kept(ONE, TWO), KEY, FIELDS)
    assert found is not None and found.found == "altered"
    assert (found.field, found.in_table, found.in_log, found.entry_id) == (
        "data.codes[1]",
        "X",
        "B",
        101,
    )
    assert 'differs from entry 101 in data.codes[1]: the table says "X", the log "B"' in (
        found.describe()
    )


def test_a_field_not_compared_may_differ() -> None:
    moved = {**ONE, "received_at": "whenever"}
    assert first_difference(_rows(moved), _kept(ONE), KEY, FIELDS) is None


def test_a_multiset_pairs_equal_rows_one_to_one() -> None:
    key = ("code", "result")
    scan = {"code": "A", "result": "accepted"}
    rows = in_key_order([scan, scan, {"code": "B", "result": "rejected"}], key)
    kept = kept_in_key_order(
        [Kept(7, scan), Kept(8, {"code": "B", "result": "rejected"}), Kept(7, scan)], key
    )
    assert first_difference(rows, kept, key, ()) is None
    found = first_difference(rows[1:], kept, key, ())
    assert found is not None and (found.found, found.entry_id) == ("deleted", 7)
    found = first_difference([scan, *rows], kept, key, ())
    assert found is not None and found.found == "inserted"


def test_keys_of_mixed_types_and_none_are_ordered() -> None:
    key = ("note", "n")
    rows: list[Record] = [{"note": None, "n": 1}, {"note": "x", "n": 10}, {"note": "x", "n": 9}]
    kept = [Kept(1, r) for r in reversed(rows)]
    assert first_difference(in_key_order(rows, key), kept_in_key_order(kept, key), key, ()) is None


def test_rows_out_of_key_order_are_refused() -> None:
    with pytest.raises(ValueError, match="key order"):
        first_difference([ONE, TWO, ONE], _kept(ONE, TWO, THREE), KEY, FIELDS)
    with pytest.raises(ValueError, match="key order"):
        first_difference(_rows(ONE, TWO, THREE), [*_kept(ONE, TWO), *_kept(ONE)], KEY, ())


def test_values_are_compared_as_the_journal_keeps_them() -> None:
    assert plain({"on": datetime(2026, 1, 2).date(), "n": Decimal("1.5")}) == {
        "on": "2026-01-02",
        "n": "1.5",
    }
    stored = {"id": 1, "state": "open", "data": {"celsius": 6.0}}
    kept = {"id": 1, "state": "open", "data": {"celsius": 6}}
    assert first_difference(_rows(stored), _kept(kept), KEY, FIELDS) is None


def test_moments_compare_as_one_instant_whatever_the_backend_hands_back() -> None:
    aware = datetime(2026, 11, 29, 17, 7, 43, 623528, tzinfo=UTC)
    naive = aware.replace(tzinfo=None)  # SQLite
    shanghai = aware.astimezone(timezone(timedelta(hours=8)))  # PostgreSQL in a session zone
    kept = {str(aware), aware.isoformat(), "2026-11-29T17:07:43.623528Z", str(shanghai)}
    seen = {moment(v) for v in (aware, naive, shanghai, *kept)}
    assert seen == {"2026-11-29T17:07:43.623528+00:00"}
    assert moment("not a time") == "not a time" and moment(None) is None
    row = normalised({"at": naive}, times=("at",))
    assert row == normalised({"at": str(aware)}, times=("at",))
    later = normalised({"at": str(aware + timedelta(microseconds=1))}, times=("at",))
    assert row != later
