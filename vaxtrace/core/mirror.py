"""Whether a table mirrors its journal: the rows a role's history table holds against the rows
its journal entries say it holds (no I/O).

A role that keeps a journal writes each decision twice in one transaction: as a row of its
table and as an entry its log commits to. An operator with file access can change the table
without the entry (the entry is under the log's tree, the row is not). So the two are compared
row for row, by key: a row with no entry was inserted outside the log, an entry with no row
lost its row, a compared field that differs was altered.

Both sides are first made :func:`plain` (what the journal's JSON keeps: dates and decimals as
text) and their moments :func:`moment` (one instant, however the backend hands it back: naive
on SQLite, aware on PostgreSQL, ``str(datetime)`` or ISO 8601 with ``Z`` in an entry). Then
:func:`first_difference` walks both in key order. Equal keys pair one to one, so a table
without a key of its own (every scan kept, none numbered in its entry) is compared as a
multiset of its rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

Record = Mapping[str, Any]
T = TypeVar("T")

Found = Literal["inserted", "deleted", "altered"]
"""A row with no entry; an entry with no row; a row that says otherwise than its entry."""

SHOWN = 200
"""How much of a differing value a message shows."""


@dataclass(frozen=True, slots=True)
class Kept:
    """A row as a journal entry says the table holds it."""

    entry_id: int
    row: Record


@dataclass(frozen=True, slots=True)
class Difference:
    """The first place a table and its journal part."""

    found: Found
    key: tuple[tuple[str, Any], ...]
    """The row's key, (column, value) for each key column."""
    entry_id: int | None = None
    field: str | None = None
    in_table: Any = None
    in_log: Any = None

    def describe(self) -> str:
        row = f"row ({', '.join(f'{c}={v}' for c, v in self.key)})"
        if self.found == "inserted":
            return f"{row} has no journal entry: inserted outside the log"
        if self.found == "deleted":
            return f"entry {self.entry_id} keeps {row}, which the table no longer holds: deleted"
        return (
            f"{row} differs from entry {self.entry_id} in {self.field}: the table says "
            f"{_shown(self.in_table)}, the log {_shown(self.in_log)}: altered"
        )


_SCALARS = (str, int, float, bool, type(None))


def plain(value: Any) -> Any:
    """A value as the journal keeps it: JSON, with what JSON has no type for as text."""
    if type(value) in _SCALARS:  # as JSON gives them back
        return value
    return json.loads(json.dumps(value, default=str))


def moment(value: Any) -> Any:
    """One instant as UTC ISO 8601, from a datetime (naive: UTC, as SQLite hands back what was
    written in UTC) or from the text a journal keeps of one; anything else as it is."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return value
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def normalised(record: Record, times: Collection[str] = ()) -> dict[str, Any]:
    """A row or a kept row made comparable: plain values, moments in UTC."""
    return {
        name: moment(value) if name in times else plain(value) for name, value in record.items()
    }


def _sortable(value: Any) -> tuple[int, Any]:
    """A key part any two of which compare: None first, then numbers, text, the rest as JSON."""
    kind = type(value)
    if kind is str:
        return (2, value)
    if value is None:
        return (0, 0)
    if kind is int or kind is float:
        return (1, value)
    return (3, json.dumps(value, sort_keys=True, separators=(",", ":")))


def key_of(key: Sequence[str]) -> Callable[[Record], tuple[tuple[int, Any], ...]]:
    """The order both sides are walked in: by the key columns' values."""

    def ordered(record: Record) -> tuple[tuple[int, Any], ...]:
        return tuple(_sortable(record.get(column)) for column in key)

    return ordered


def in_key_order(rows: Iterable[Record], key: Sequence[str]) -> list[Record]:
    return sorted(rows, key=key_of(key))


def kept_in_key_order(kept: Iterable[Kept], key: Sequence[str]) -> list[Kept]:
    ordered = key_of(key)
    return sorted(kept, key=lambda k: ordered(k.row))


def first_difference(
    rows: Iterable[Record], kept: Iterable[Kept], key: Sequence[str], fields: Sequence[str]
) -> Difference | None:
    """The first difference between a table's ``rows`` and the rows its journal ``kept``, both
    normalised and in key order (:func:`in_key_order`, :func:`kept_in_key_order`); compares
    ``fields`` of rows with equal keys. None when they agree."""
    ordered = key_of(key)
    table, log = _in_order(rows, ordered), _in_order(kept, lambda k: ordered(k.row))
    at_row, at_entry = next(table, None), next(log, None)
    while at_row is not None or at_entry is not None:
        if at_entry is None or (at_row is not None and at_row[0] < at_entry[0]):
            assert at_row is not None
            return Difference("inserted", _key(at_row[1], key))
        entry = at_entry[1]
        if at_row is None or at_entry[0] < at_row[0]:
            return Difference("deleted", _key(entry.row, key), entry.entry_id)
        altered = _altered(at_row[1], entry, key, fields)
        if altered is not None:
            return altered
        at_row, at_entry = next(table, None), next(log, None)
    return None


def _altered(
    row: Record, entry: Kept, key: Sequence[str], fields: Sequence[str]
) -> Difference | None:
    for field in fields:
        in_table, in_log = row.get(field), entry.row.get(field)
        if in_table != in_log:
            where, in_table, in_log = _where_they_part(field, in_table, in_log)
            return Difference("altered", _key(row, key), entry.entry_id, where, in_table, in_log)
    return None


def _where_they_part(path: str, in_table: Any, in_log: Any) -> tuple[str, Any, Any]:
    """The innermost part of two unequal JSON values that differs (``response.in_stock``,
    ``codes[2]``), and its two values."""
    if isinstance(in_table, dict) and isinstance(in_log, dict):
        for name in sorted(in_table.keys() | in_log.keys()):
            if in_table.get(name) != in_log.get(name) or (name in in_table) != (name in in_log):
                return _where_they_part(f"{path}.{name}", in_table.get(name), in_log.get(name))
    if isinstance(in_table, list) and isinstance(in_log, list) and len(in_table) == len(in_log):
        for index, (a, b) in enumerate(zip(in_table, in_log, strict=True)):
            if a != b:
                return _where_they_part(f"{path}[{index}]", a, b)
    return path, in_table, in_log


def _in_order(items: Iterable[T], ordered: Callable[[T], Any]) -> Iterator[tuple[Any, T]]:
    """Each of ``items`` with its position in key order, refusing one out of order when it is
    reached (a walk out of order would name rows falsely)."""
    last: Any = None
    for item in items:
        position = ordered(item)
        if last is not None and position < last:
            raise ValueError("rows to compare must come in key order")
        last = position
        yield position, item


def _key(record: Record, key: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    return tuple((column, record.get(column)) for column in key)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}…"
