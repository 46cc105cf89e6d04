"""Tables of the provincial immunization system (省级免疫规划信息系统), first part: the
shipping notes announced to its CDCs, awaiting receipt and scan verification."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table

from vaxtrace.store.exchange import exchange_tables

metadata = MetaData()

expected_receipt = Table(
    "expected_receipt",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("mah_uscc", String(18), nullable=False),
    Column("note_no", String(60), nullable=False),
    Column("consignee_uscc", String(18), nullable=False),
    Column("doses", Integer, nullable=False),
    Column("note", JSON, nullable=False),
    Column("announced_at", DateTime(timezone=True), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Index("ix_expected_receipt_consignee", "consignee_uscc", "announced_at"),
)

exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""
