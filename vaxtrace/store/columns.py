"""Column types and column shapes every role's tables share, defined once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.types import TypeEngine

Id = BigInteger().with_variant(Integer, "sqlite")
"""A surrogate key: BIGINT, but INTEGER on SQLite, which only auto-increments INTEGER keys."""


def byte_wise(length: int) -> TypeEngine[str]:
    """Text compared byte by byte on both backends (PostgreSQL's "C" collation), so that a
    unique index stays fast and prefix range scans mean the same as on SQLite."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


CodeText = byte_wise(120)
"""A canonical trace code."""


def required(name: str, type_: Any, *args: Any, **kw: Any) -> Column[Any]:
    """A NOT NULL column."""
    return Column(name, type_, *args, nullable=False, **kw)


def surrogate_key(name: str = "id") -> Column[Any]:
    """A table's own auto-incremented key."""
    return Column(name, Id, primary_key=True, autoincrement=True)


def uscc_key(name: str = "uscc") -> Column[Any]:
    """An organisation's unified social credit code as its table's key."""
    return Column(name, String(18), primary_key=True)


def event_key() -> Column[Any]:
    """An exchanged message's UUID (its envelope's ``event_id``) as its table's key."""
    return Column("event_id", String(36), primary_key=True)


def uscc(name: str, *args: Any, **kw: Any) -> Column[Any]:
    """An organisation's unified social credit code (统一社会信用代码), NOT NULL."""
    return required(name, String(18), *args, **kw)


def moment(name: str) -> Column[Any]:
    """A point in time, kept with its time zone, NOT NULL."""
    return required(name, DateTime(timezone=True))


def event_uuid(name: str, *args: Any, **kw: Any) -> Column[Any]:
    """The UUID of an exchanged message (its envelope's ``event_id``), NOT NULL."""
    return required(name, String(36), *args, **kw)


def document_no(name: str = "document_no") -> Column[Any]:
    """A business document's number (单据号) as its writer gave it, NOT NULL."""
    return required(name, String(60))


def sha256(name: str) -> Column[Any]:
    """A SHA-256 in hex, NOT NULL."""
    return required(name, String(64))


def client_document_id() -> Column[Any]:
    """The id a client gives a write, so that a retry is answered and not done again."""
    return required("client_document_id", String(64))


def refers_to(name: str, target: str, **kw: Any) -> Column[Any]:
    """A NOT NULL reference to another table's surrogate key (``target``: "table.id")."""
    return required(name, Id, ForeignKey(target), **kw)


def division_code() -> Column[Any]:
    """The administrative division (行政区划代码, six digits) a thing is judged by, NOT NULL."""
    return required("division_code", String(6))


def batch_identity() -> list[Column[Any]]:
    """What names a batch: its MAH's USCC and the number (批号) the MAH gave it, NOT NULL."""
    return [uscc("mah_uscc"), required("batch_no", String(20))]
