"""Tables of the platform role (协同服务平台): registry, connected systems, coding rules."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

from vaxtrace.store.columns import Id, byte_wise
from vaxtrace.store.exchange import exchange_tables

metadata = MetaData()
EntryText = byte_wise(14)
"""A coding rule's entry (its identification code prefix), compared byte-wise."""

organisation = Table(
    "organisation",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("version", BigInteger, nullable=False),
)

system = Table(
    "system",
    metadata,
    Column("system_id", String(60), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("operator_uscc", String(18), nullable=False),
    Column("data", JSON, nullable=False),
    Column("version", BigInteger, nullable=False),
)

product = Table(
    "product",
    metadata,
    Column("mah_uscc", String(18), primary_key=True),
    Column("product_code", String(40), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("version", BigInteger, nullable=False),
)
"""疫苗产品: the products MAHs' trace systems register, as each one last did."""

coding_rule = Table(
    "coding_rule",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("system_id", String(60), ForeignKey("system.system_id"), nullable=False),
    Column("mah_uscc", String(18), nullable=False),
    Column("data", JSON, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

rule_entry = Table(
    "rule_entry",
    metadata,
    Column("entry", EntryText, primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("rule_id", Id, ForeignKey("coding_rule.id"), nullable=False),
    Column("mah_uscc", String(18), nullable=False),
    Column("system_id", String(60), nullable=False),
    Index("ix_rule_entry_kind", "kind", "entry"),
)

registry_change = Table(
    "registry_change",
    metadata,
    Column("version", Id, primary_key=True, autoincrement=True),
    Column("kind", String(30), nullable=False),
    Column("key", String(60), nullable=False),
    Column("data", JSON, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)


exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""

exchange_alert = Table(
    "exchange_alert",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reason", String(40), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("sender", String(60), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Index("ix_exchange_alert_raised", "raised_at"),
)
"""Data the platform took but could not route (no system serves the consignee, no rule covers
a code): the fact is kept, and the operator is told."""

batch_route = Table(
    "batch_route",
    metadata,
    Column("mah_uscc", String(18), nullable=False),
    Column("batch_no", String(20), nullable=False),
    Column("system_id", String(60), nullable=False),
    Column("consignee_uscc", String(18), nullable=False),
    PrimaryKeyConstraint("mah_uscc", "batch_no", "system_id", "consignee_uscc"),
)
"""Where the platform sent goods of each batch: the immunization system it forwarded a note
of the batch to, for which consignee. A MAH's safety signal about a batch goes to each."""
