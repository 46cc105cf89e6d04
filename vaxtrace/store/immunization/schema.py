"""Tables of the provincial immunization system (省级免疫规划信息系统): the shipping notes
announced to its CDCs, the scans and receiving notes that answer them, the province's stock by
code, its organisations and their staff's tokens, and the log of every write.

``receipt_scan``, ``receiving_note`` and ``province_write`` are history: database triggers
refuse UPDATE and DELETE on them (see migration 0003). ``stock`` is the current projection
of each code the province received.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

from vaxtrace.store.basic_data import registry_copy_tables
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()
Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite only auto-increments INTEGER keys
CodeText = String(120).with_variant(String(120, collation="C"), "postgresql")
"""A canonical trace code; compared byte-wise on PostgreSQL, as in the trace role."""

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

organisation = Table(
    "organisation",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("division_code", String(6), nullable=False),
)
"""The CDCs and vaccination sites (POVs) of the province."""

api_token = api_token_table(metadata, "organisation.uscc")
"""Bearer tokens of the province's staff: only the SHA-256 (see vaxtrace.store.tokens)."""

receipt_scan = Table(
    "receipt_scan",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("note_event_id", String(36), ForeignKey("expected_receipt.event_id")),
    Column("note_no", String(60), nullable=False),
    Column("code", String(300), nullable=False),
    Column("result", String(10), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("operator_uscc", String(18), nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
    Index("ix_receipt_scan_note", "note_event_id", "result", "code"),
)
"""Every scan at receipt, whatever was decided (append-only); ``code`` is canonical when it
could be read, else as scanned. ``note_event_id`` is empty when no such note was announced."""

receiving_note = Table(
    "receiving_note",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "note_event_id",
        String(36),
        ForeignKey("expected_receipt.event_id"),
        nullable=False,
        unique=True,
    ),
    Column("note_no", String(60), nullable=False),
    Column("mah_uscc", String(18), nullable=False),
    Column("consignee_uscc", String(18), nullable=False),
    Column("document_no", String(60), nullable=False),
    Column("client_document_id", String(64), nullable=False),
    Column("verification", String(10), nullable=False),
    Column("reason", String(500)),
    Column("expected_quantity", Integer, nullable=False),
    Column("actual_quantity", Integer, nullable=False),
    Column("business_time", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
"""收货单: one per shipping note, closing it (append-only)."""

stock = Table(
    "stock",
    metadata,
    Column("code", CodeText, primary_key=True),
    Column("parent_code", CodeText),
    Column("holder_uscc", String(18), nullable=False),
    Column("state", String(10), nullable=False),
    Column("mah_uscc", String(18), nullable=False),
    Column("receipt_id", Id, ForeignKey("receiving_note.id"), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_stock_parent", "parent_code"),
    Index("ix_stock_holder", "holder_uscc", "state"),
)
"""The province's inventory by code: who holds each code it received, and whether it is
in stock, used, damaged or returned; ``parent_code`` while it is inside a container there;
``mah_uscc`` the MAH that supplied it, ``receipt_id`` the receiving note it came with."""

province_write = Table(
    "province_write",
    metadata,
    Column("org_uscc", String(18), nullable=False),
    Column("client_document_id", String(64), nullable=False),
    Column("operation", String(40), nullable=False),
    Column("bill_type", String(3), nullable=False),
    Column("document_no", String(60), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("request", JSON, nullable=False),
    Column("response", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("org_uscc", "client_document_id"),
)
"""Every write of the province, once per (organisation, client document id): a retry answers
the stored response (append-only). The request stays here, with anything the province keeps
to itself (a vaccinee reference)."""

APPEND_ONLY = ("receipt_scan", "receiving_note", "province_write")
"""Tables whose rows are history: the migration installs triggers refusing UPDATE and DELETE."""

exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""

basic_data = registry_copy_tables(metadata)
"""Basic data copied from the platform's registry, and how far its feed is applied."""

expected_code = Table(
    "expected_code",
    metadata,
    Column("note_event_id", String(36), ForeignKey("expected_receipt.event_id"), nullable=False),
    Column("code", String(300), nullable=False),
    Column("parent_code", String(300)),
    Column("doses", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("note_event_id", "code"),
)
"""Every code an announced note says was sent, read into canonical form once, when the note
is taken (see vaxtrace.core.receipt.Consignment.expected_codes): ``parent_code`` is the
container the note puts it in (empty for a listed code), ``doses`` what it holds, ``position``
its order on the note (listed codes first, containers before what they hold). A scan looks up
its code and the containers around it here instead of reading the whole note again. Codes are
compared as equal only, in the collation of ``receipt_scan.code``, which they are matched with.

``receipt_scan`` rows are numbered in the order they are written, not scanned: a repeat or a
rejected scan is written in a batch shortly after it is answered (see
vaxtrace.store.batched); ``scanned_at`` is the order of the scans."""

Index("ix_expected_receipt_note_no", expected_receipt.c.note_no)
"""Scans and confirmations find a note by its number."""
