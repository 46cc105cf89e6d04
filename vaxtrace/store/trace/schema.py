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
from vaxtrace.store.columns import (
    CodeText,
    Id,
    client_document_id,
    document_no,
    event_uuid,
    moment,
    required,
    sha256,
    surrogate_key,
    uscc,
)
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.ledger import ledger_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()

organisation = Table(
    "organisation",
    metadata,
    Column("uscc", String(18), primary_key=True),
    required("name", String(200)),
    required("kind", String(20)),
    required("division_code", String(6)),
    Column("address", String(300), nullable=False, default=""),
    required("licences", JSON),
)

api_token = api_token_table(metadata, "organisation.uscc")

product = Table(
    "product",
    metadata,
    surrogate_key(),
    uscc("mah_uscc", ForeignKey("organisation.uscc")),
    required("product_code", String(40)),
    required("family", String(10)),
    required("imported", Boolean),
    required("data", JSON),
    UniqueConstraint("mah_uscc", "product_code"),
)

identification_code = Table(
    "identification_code",
    metadata,
    Column("code", String(14), primary_key=True),
    required("product_id", Id, ForeignKey("product.id")),
    required("level", SmallInteger),
    required("children", Integer),
)

coding_rule = Table(
    "coding_rule",
    metadata,
    surrogate_key(),
    uscc("mah_uscc", ForeignKey("organisation.uscc")),
    required("family", String(10)),
    required("identification_codes", JSON),
    required("serial_format", String(60)),
    required("check_algorithm", String(40)),
    moment("registered_at"),
)

batch = Table(
    "batch",
    metadata,
    surrogate_key(),
    required("product_id", Id, ForeignKey("product.id")),
    uscc("mah_uscc"),
    required("batch_no", String(20)),
    required("production_date", Date),
    required("expiry_date", Date),
    required("quantity", Integer),
    Column("customs_clearance_no", String(60)),
    Column("next_serial", BigInteger, nullable=False, default=0),
    UniqueConstraint("mah_uscc", "batch_no"),
)

trace_event = Table(
    "trace_event",
    metadata,
    surrogate_key(),
    event_uuid("event_uuid", unique=True),
    required("bill_type", String(20)),
    uscc("org_uscc"),
    moment("business_time"),
    moment("recorded_time"),
    document_no(),
    client_document_id(),
    Column("source_document", String(120)),
    Column("corrects_event_id", Id, ForeignKey("trace_event.id")),
    required("payload", JSON),
    UniqueConstraint("org_uscc", "client_document_id"),
)

write_request = Table(
    "write_request",
    metadata,
    Column("org_uscc", String(18), primary_key=True),
    Column("client_document_id", String(64), primary_key=True),
    required("operation", String(40)),
    sha256("request_sha256"),
    Column("event_id", Id, ForeignKey("trace_event.id")),
    required("response", JSON),
)

trace_code = Table(
    "trace_code",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    required("code", CodeText, unique=True),
    required("level", SmallInteger),
    # No foreign keys here on purpose: a per-row FK check triples the time of bulk commissioning
    # on PostgreSQL; the service resolves product and batch before it writes any code.
    required("product_id", Id),
    required("batch_id", Id),
    Column("parent_id", Id),
    Column("parent_since", Id),
    required("status", String(20)),
    uscc("holder_uscc"),
    required("commission_event_id", Id),
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
    required("until_event", Id),
    required("parent_id", Id),
)

self_inspection = Table(
    "self_inspection",
    metadata,
    surrogate_key(),
    required("batch_id", Id, ForeignKey("batch.id")),
    required("event_id", Id, ForeignKey("trace_event.id")),
    required("report_no", String(200)),
    required("conclusion", String(10)),
)

lot_release = Table(
    "lot_release",
    metadata,
    surrogate_key(),
    required("batch_id", Id, ForeignKey("batch.id"), unique=True),
    required("event_id", Id, ForeignKey("trace_event.id")),
    required("certificate_no", String(200)),
    required("release_date", Date),
    required("conclusion", String(10)),
    required("authority", String(200)),
    required("quantity", Integer),
    sha256("certificate_sha256"),
    required("certificate_media_type", String(100)),
    required("certificate_file", LargeBinary),
)

shipping_note = Table(
    "shipping_note",
    metadata,
    surrogate_key(),
    required("event_id", Id, ForeignKey("trace_event.id")),
    uscc("mah_uscc"),
    document_no("note_no"),
    uscc("consignee_uscc"),
    required("quantity", Integer),
    UniqueConstraint("mah_uscc", "note_no"),
)

recall = Table(
    "recall",
    metadata,
    surrogate_key(),
    uscc("mah_uscc"),
    required("recall_no", String(200)),
    required("event_id", Id, ForeignKey("trace_event.id")),
    required("state", String(20)),
    required("data", JSON),
    UniqueConstraint("mah_uscc", "recall_no"),
)

temperature_record = Table(
    "temperature_record",
    metadata,
    surrogate_key(),
    required("event_id", Id, ForeignKey("trace_event.id")),
    required("kind", String(10)),
    required("equipment_id", String(200)),
    Column("related_document_no", String(60)),
    moment("start_time"),
    moment("end_time"),
    required("min_celsius", Float),
    required("max_celsius", Float),
    required("readings", JSON),
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
