"""Tables of the platform role (协同服务平台): registry, connected systems, coding rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)

from vaxtrace.store import columns as col
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.journal import Journal, journal_table
from vaxtrace.store.ledger import ledger_tables

metadata = MetaData()
EntryText = col.byte_wise(14)
"""A coding rule's entry (its identification code prefix), compared byte-wise."""


def _registered(name: str, *columns: Column[Any]) -> Table:
    """A register of the registry: each thing as last registered, with the version of the
    change feed that last changed it."""
    return Table(
        name, metadata, *columns, col.required("data", JSON), col.required("version", BigInteger)
    )


organisation = _registered("organisation", col.uscc_key())
system = _registered(
    "system",
    Column("system_id", String(60), primary_key=True),
    col.required("role", String(20)),
    col.uscc("operator_uscc"),
)
product = _registered(
    "product", col.uscc_key("mah_uscc"), Column("product_code", String(40), primary_key=True)
)
"""疫苗产品: the products MAHs' trace systems register, as each one last did."""

coding_rule = Table(
    "coding_rule",
    metadata,
    col.surrogate_key(),
    col.required("system_id", String(60), ForeignKey("system.system_id")),
    col.uscc("mah_uscc"),
    col.required("data", JSON),
    col.moment("registered_at"),
)

rule_entry = Table(
    "rule_entry",
    metadata,
    Column("entry", EntryText, primary_key=True),
    col.required("kind", String(30)),
    col.refers_to("rule_id", "coding_rule.id"),
    col.uscc("mah_uscc"),
    col.required("system_id", String(60)),
    Index("ix_rule_entry_kind", "kind", "entry"),
)

registry_change = Table(
    "registry_change",
    metadata,
    col.surrogate_key("version"),
    col.required("kind", String(30)),
    col.required("key", String(60)),
    col.required("data", JSON),
    col.moment("changed_at"),
)


exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""

exchange_alert = Table(
    "exchange_alert",
    metadata,
    col.surrogate_key(),
    col.required("reason", String(40)),
    col.event_uuid("event_id"),
    col.required("sender", String(60)),
    col.required("detail", JSON),
    col.moment("raised_at"),
    Index("ix_exchange_alert_raised", "raised_at"),
)
"""Data the platform took but could not route (no system serves the consignee, no rule covers
a code): the fact is kept, and the operator is told."""

batch_route = Table(
    "batch_route",
    metadata,
    *col.batch_identity(),
    col.required("system_id", String(60)),
    col.uscc("consignee_uscc"),
    PrimaryKeyConstraint("mah_uscc", "batch_no", "system_id", "consignee_uscc"),
)
"""Where the platform sent goods of each batch: the immunization system it forwarded a note
of the batch to, for which consignee. A MAH's safety signal about a batch goes to each."""

# --- public recall notices (召回公告) -------------------------------------------------------

recall_notice = Table(
    "recall_notice",
    metadata,
    col.uscc("mah_uscc"),
    col.required("recall_no", String(200)),
    col.required("level", SmallInteger),
    col.required("batch_nos", JSON),
    Column("reason", String(2000)),
    col.required("ordered", Boolean),
    col.moment("started_at"),
    col.required("state", String(10)),
    Column("closed_at", DateTime(timezone=True)),
    col.uscc("published_by"),
    col.event_uuid("event_id"),
    col.moment("updated_at"),
    PrimaryKeyConstraint("mah_uscc", "recall_no"),
    Index("ix_recall_notice_started", "started_at"),
)
"""召回公告: the public notice of a real recall, as the regulator overseeing the MAH
announced it through its supervision system (``published_by``; ``event_id`` the envelope of
the latest word); served by the public entry. Closed once, it stays closed."""

recall_notice_batch = Table(
    "recall_notice_batch",
    metadata,
    *col.batch_identity(),
    col.required("recall_no", String(200)),
    PrimaryKeyConstraint("mah_uscc", "batch_no", "recall_no"),
)
"""The batches each notice names: a code's public view mentions the recalls of its batch."""

ledger = ledger_tables(metadata)
journal = Journal(journal_table(metadata), ledger)
"""The role's journal and the tamper-evident log over it (see vaxtrace.store.journal)."""
