"""Tables of the trace role (疫苗追溯系统), one database per node.

History is append-only: ``trace_event``, ``event_code`` and ``containment_history`` are never
updated or deleted (database triggers refuse it, see the migration). ``trace_code`` holds the
current projection of each code (status, holder, current container) that events maintain.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from vaxtrace.store.basic_data import registry_copy_tables
from vaxtrace.store.columns import CodeText, Id
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.ledger import ledger_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()

organisation = Table(
    "organisation",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("address", String(300), nullable=False, default=""),
    Column("licences", JSON, nullable=False),
)

api_token = api_token_table(metadata, "organisation.uscc")

product = Table(
    "product",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("mah_uscc", String(18), ForeignKey("organisation.uscc"), nullable=False),
    Column("product_code", String(40), nullable=False),
    Column("family", String(10), nullable=False),
    Column("imported", Boolean, nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("mah_uscc", "product_code"),
)

identification_code = Table(
    "identification_code",
    metadata,
    Column("code", String(14), primary_key=True),
    Column("product_id", Id, ForeignKey("product.id"), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("children", Integer, nullable=False),
)

coding_rule = Table(
    "coding_rule",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("mah_uscc", String(18), ForeignKey("organisation.uscc"), nullable=False),
    Column("family", String(10), nullable=False),
    Column("identification_codes", JSON, nullable=False),
    Column("serial_format", String(60), nullable=False),
    Column("check_algorithm", String(40), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

batch = Table(
    "batch",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("product_id", Id, ForeignKey("product.id"), nullable=False),
    Column("mah_uscc", String(18), nullable=False),
    Column("batch_no", String(20), nullable=False),
    Column("production_date", Date, nullable=False),
    Column("expiry_date", Date, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("customs_clearance_no", String(60)),
    Column("next_serial", BigInteger, nullable=False, default=0),
    UniqueConstraint("mah_uscc", "batch_no"),
)

trace_event = Table(
    "trace_event",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_uuid", String(36), nullable=False, unique=True),
    Column("bill_type", String(20), nullable=False),
    Column("org_uscc", String(18), nullable=False),
    Column("business_time", DateTime(timezone=True), nullable=False),
    Column("recorded_time", DateTime(timezone=True), nullable=False),
    Column("document_no", String(60), nullable=False),
    Column("client_document_id", String(64), nullable=False),
    Column("source_document", String(120)),
    Column("corrects_event_id", Id, ForeignKey("trace_event.id")),
    Column("payload", JSON, nullable=False),
    UniqueConstraint("org_uscc", "client_document_id"),
)

write_request = Table(
    "write_request",
    metadata,
    Column("org_uscc", String(18), primary_key=True),
    Column("client_document_id", String(64), primary_key=True),
    Column("operation", String(40), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("event_id", Id, ForeignKey("trace_event.id")),
    Column("response", JSON, nullable=False),
)

trace_code = Table(
    "trace_code",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("code", CodeText, nullable=False, unique=True),
    Column("level", SmallInteger, nullable=False),
    # No foreign keys here on purpose: a per-row FK check triples the time of bulk commissioning
    # on PostgreSQL; the service resolves product and batch before it writes any code.
    Column("product_id", Id, nullable=False),
    Column("batch_id", Id, nullable=False),
    Column("parent_id", Id),
    Column("parent_since", Id),
    Column("status", String(20), nullable=False),
    Column("holder_uscc", String(18), nullable=False),
    Column("commission_event_id", Id, nullable=False),
    Column("replaced_by_id", Id),
    Index("ix_trace_code_parent", "parent_id"),
    Index("ix_trace_code_batch_level", "batch_id", "level"),
)

event_code = Table(
    "event_code",
    metadata,
    Column("code_id", Id, primary_key=True),
    Column("event_id", Id, primary_key=True),
    # the log reads an event's codes by event: without this, every write would scan the table
    Index("ix_event_code_event", "event_id", "code_id"),
)

batch_event = Table(
    "batch_event",
    metadata,
    Column("batch_id", Id, primary_key=True),
    Column("event_id", Id, primary_key=True),
    Index("ix_batch_event_event", "event_id", "batch_id"),
)

containment_history = Table(
    "containment_history",
    metadata,
    Column("child_id", Id, primary_key=True),
    Column("since_event", Id, primary_key=True),
    Column("until_event", Id, nullable=False),
    Column("parent_id", Id, nullable=False),
)

self_inspection = Table(
    "self_inspection",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("batch_id", Id, ForeignKey("batch.id"), nullable=False),
    Column("event_id", Id, ForeignKey("trace_event.id"), nullable=False),
    Column("report_no", String(200), nullable=False),
    Column("conclusion", String(10), nullable=False),
)

lot_release = Table(
    "lot_release",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("batch_id", Id, ForeignKey("batch.id"), nullable=False, unique=True),
    Column("event_id", Id, ForeignKey("trace_event.id"), nullable=False),
    Column("certificate_no", String(200), nullable=False),
    Column("release_date", Date, nullable=False),
    Column("conclusion", String(10), nullable=False),
    Column("authority", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("certificate_sha256", String(64), nullable=False),
    Column("certificate_media_type", String(100), nullable=False),
    Column("certificate_file", LargeBinary, nullable=False),
)

shipping_note = Table(
    "shipping_note",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("trace_event.id"), nullable=False),
    Column("mah_uscc", String(18), nullable=False),
    Column("note_no", String(60), nullable=False),
    Column("consignee_uscc", String(18), nullable=False),
    Column("quantity", Integer, nullable=False),
    UniqueConstraint("mah_uscc", "note_no"),
)

recall = Table(
    "recall",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("mah_uscc", String(18), nullable=False),
    Column("recall_no", String(200), nullable=False),
    Column("event_id", Id, ForeignKey("trace_event.id"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("mah_uscc", "recall_no"),
)

temperature_record = Table(
    "temperature_record",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("trace_event.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("equipment_id", String(200), nullable=False),
    Column("related_document_no", String(60)),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("min_celsius", Float, nullable=False),
    Column("max_celsius", Float, nullable=False),
    Column("readings", JSON, nullable=False),
    Index("ix_temperature_equipment", "equipment_id", "start_time"),
)

ledger = ledger_tables(metadata)
exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""
"""The role's tamper-evident log (see vaxtrace.store.ledger)."""

basic_data = registry_copy_tables(metadata)
"""Basic data copied from the platform's registry, and how far its feed is applied."""

APPEND_ONLY = ("trace_event", "event_code", "batch_event", "containment_history")
"""Tables whose rows are history: the migration installs triggers refusing UPDATE and DELETE."""
