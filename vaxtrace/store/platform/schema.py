"""Tables of the platform role (协同服务平台): registry, connected systems, coding rules."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

from vaxtrace.store.columns import Id, byte_wise, event_uuid, moment, required, surrogate_key, uscc
from vaxtrace.store.exchange import exchange_tables

metadata = MetaData()
EntryText = byte_wise(14)
"""A coding rule's entry (its identification code prefix), compared byte-wise."""

organisation = Table(
    "organisation",
    metadata,
    Column("uscc", String(18), primary_key=True),
    required("data", JSON),
    required("version", BigInteger),
)

system = Table(
    "system",
    metadata,
    Column("system_id", String(60), primary_key=True),
    required("role", String(20)),
    uscc("operator_uscc"),
    required("data", JSON),
    required("version", BigInteger),
)

product = Table(
    "product",
    metadata,
    Column("mah_uscc", String(18), primary_key=True),
    Column("product_code", String(40), primary_key=True),
    required("data", JSON),
    required("version", BigInteger),
)
"""疫苗产品: the products MAHs' trace systems register, as each one last did."""

coding_rule = Table(
    "coding_rule",
    metadata,
    surrogate_key(),
    required("system_id", String(60), ForeignKey("system.system_id")),
    uscc("mah_uscc"),
    required("data", JSON),
    moment("registered_at"),
)

rule_entry = Table(
    "rule_entry",
    metadata,
    Column("entry", EntryText, primary_key=True),
    required("kind", String(30)),
    required("rule_id", Id, ForeignKey("coding_rule.id")),
    uscc("mah_uscc"),
    required("system_id", String(60)),
    Index("ix_rule_entry_kind", "kind", "entry"),
)

registry_change = Table(
    "registry_change",
    metadata,
    surrogate_key("version"),
    required("kind", String(30)),
    required("key", String(60)),
    required("data", JSON),
    moment("changed_at"),
)


exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""

exchange_alert = Table(
    "exchange_alert",
    metadata,
    surrogate_key(),
    required("reason", String(40)),
    event_uuid("event_id"),
    required("sender", String(60)),
    required("detail", JSON),
    moment("raised_at"),
    Index("ix_exchange_alert_raised", "raised_at"),
)
"""Data the platform took but could not route (no system serves the consignee, no rule covers
a code): the fact is kept, and the operator is told."""

batch_route = Table(
    "batch_route",
    metadata,
    uscc("mah_uscc"),
    required("batch_no", String(20)),
    required("system_id", String(60)),
    uscc("consignee_uscc"),
    PrimaryKeyConstraint("mah_uscc", "batch_no", "system_id", "consignee_uscc"),
)
"""Where the platform sent goods of each batch: the immunization system it forwarded a note
of the batch to, for which consignee. A MAH's safety signal about a batch goes to each."""
