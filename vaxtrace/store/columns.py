"""Column types every role's tables share, defined once."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.types import TypeEngine

Id = BigInteger().with_variant(Integer, "sqlite")
"""A surrogate key: BIGINT, but INTEGER on SQLite, which only auto-increments INTEGER keys."""


def byte_wise(length: int) -> TypeEngine[str]:
    """Text compared byte by byte on both backends (PostgreSQL's "C" collation), so that a
    unique index stays fast and prefix range scans mean the same as on SQLite."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


CodeText = byte_wise(120)
"""A canonical trace code."""
