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

from vaxtrace.store import columns as col
from vaxtrace.store.basic_data import organisations_table, registry_copy_tables
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.ledger import ledger_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()

organisation = organisations_table(
    metadata,
    "organisation",
    Column("address", String(300), nullable=False, default=""),
    col.required("licences", JSON),
)

api_token = api_token_table(metadata, "organisation.uscc")

product = Table(
    "product",
    metadata,
    col.surrogate_key(),
    col.uscc("mah_uscc", ForeignKey("organisation.uscc")),
    col.required("product_code", String(40)),
    col.required("family", String(10)),
    col.required("imported", Boolean),
    col.required("data", JSON),
    UniqueConstraint("mah_uscc", "product_code"),
)

identification_code = Table(
    "identification_code",
    metadata,
    Column("code", String(14), primary_key=True),
    col.refers_to("product_id", "product.id"),
    col.required("level", SmallInteger),
    col.required("children", Integer),
)

coding_rule = Table(
    "coding_rule",
    metadata,
    col.surrogate_key(),
    col.uscc("mah_uscc", ForeignKey("organisation.uscc")),
    col.required("family", String(10)),
    col.required("identification_codes", JSON),
    col.required("serial_format", String(60)),
    col.required("check_algorithm", String(40)),
    col.moment("registered_at"),
)

batch = Table(
    "batch",
    metadata,
    col.surrogate_key(),
    col.refers_to("product_id", "product.id"),
    *col.batch_identity(),
    col.required("production_date", Date),
    col.required("expiry_date", Date),
    col.required("quantity", Integer),
    Column("customs_clearance_no", String(60)),
    Column("next_serial", BigInteger, nullable=False, default=0),
    UniqueConstraint("mah_uscc", "batch_no"),
)

trace_event = Table(
    "trace_event",
    metadata,
    col.surrogate_key(),
    col.event_uuid("event_uuid", unique=True),
    col.required("bill_type", String(20)),
    col.uscc("org_uscc"),
    col.moment("business_time"),
    col.moment("recorded_time"),
    col.document_no(),
    col.client_document_id(),
    Column("source_document", String(120)),
    Column("corrects_event_id", col.Id, ForeignKey("trace_event.id")),
    col.required("payload", JSON),
    UniqueConstraint("org_uscc", "client_document_id"),
)

write_request = Table(
    "write_request",
    metadata,
    Column("org_uscc", String(18), primary_key=True),
    Column("client_document_id", String(64), primary_key=True),
    col.required("operation", String(40)),
    col.sha256("request_sha256"),
    Column("event_id", col.Id, ForeignKey("trace_event.id")),
    col.required("response", JSON),
)

trace_code = Table(
    "trace_code",
    metadata,
    Column("id", col.Id, primary_key=True, autoincrement=False),
    col.required("code", col.CodeText, unique=True),
    col.required("level", SmallInteger),
    # No foreign keys here on purpose: a per-row FK check triples the time of bulk commissioning
    # on PostgreSQL; the service resolves product and batch before it writes any code.
    col.required("product_id", col.Id),
    col.required("batch_id", col.Id),
    Column("parent_id", col.Id),
    Column("parent_since", col.Id),
    col.required("status", String(20)),
    col.uscc("holder_uscc"),
    col.required("commission_event_id", col.Id),
    Column("replaced_by_id", col.Id),
    Index("ix_trace_code_parent", "parent_id"),
    Index("ix_trace_code_batch_level", "batch_id", "level"),
)


commissioned_code = Table(
    "commissioned_code",
    metadata,
    Column("event_id", col.Id, primary_key=True),
    Column("code_id", col.Id, primary_key=True),
    col.required("code", col.CodeText),
    col.required("level", SmallInteger),
    Column("parent_id", col.Id),
)
"""Each code as its commission issued it (history: its packaging then), by commission event."""

commission_digest = Table(
    "commission_digest",
    metadata,
    Column("event_id", col.Id, primary_key=True, autoincrement=False),
    col.required("codes", BigInteger),
    col.required("root", LargeBinary(32)),
)
"""What a commission event's leaf carries of its codes: their count and Merkle root (see
vaxtrace.core.replay)."""


def _events_of(name: str, key: str) -> Table:
    """Which events concern each ``key`` (a code, a batch): history, keyed by both."""
    return Table(
        name,
        metadata,
        Column(key, col.Id, primary_key=True),
        Column("event_id", col.Id, primary_key=True),
        # the log reads an event's codes (batches) by event: without this, every write would
        # scan the table
        Index(f"ix_{name}_event", "event_id", key),
    )


event_code = _events_of("event_code", "code_id")
batch_event = _events_of("batch_event", "batch_id")

containment_history = Table(
    "containment_history",
    metadata,
    Column("child_id", col.Id, primary_key=True),
    Column("since_event", col.Id, primary_key=True),
    col.required("until_event", col.Id),
    col.required("parent_id", col.Id),
)

self_inspection = Table(
    "self_inspection",
    metadata,
    col.surrogate_key(),
    col.refers_to("batch_id", "batch.id"),
    col.refers_to("event_id", "trace_event.id"),
    col.required("report_no", String(200)),
    col.required("conclusion", String(10)),
)

lot_release = Table(
    "lot_release",
    metadata,
    col.surrogate_key(),
    col.refers_to("batch_id", "batch.id", unique=True),
    col.refers_to("event_id", "trace_event.id"),
    col.required("certificate_no", String(200)),
    col.required("release_date", Date),
    col.required("conclusion", String(10)),
    col.required("authority", String(200)),
    col.required("quantity", Integer),
    col.sha256("certificate_sha256"),
    col.required("certificate_media_type", String(100)),
    col.required("certificate_file", LargeBinary),
)

shipping_note = Table(
    "shipping_note",
    metadata,
    col.surrogate_key(),
    col.refers_to("event_id", "trace_event.id"),
    col.uscc("mah_uscc"),
    col.document_no("note_no"),
    col.uscc("consignee_uscc"),
    col.required("quantity", Integer),
    UniqueConstraint("mah_uscc", "note_no"),
)

recall = Table(
    "recall",
    metadata,
    col.surrogate_key(),
    col.uscc("mah_uscc"),
    col.required("recall_no", String(200)),
    col.refers_to("event_id", "trace_event.id"),
    col.required("state", String(20)),
    col.required("data", JSON),
    UniqueConstraint("mah_uscc", "recall_no"),
)

temperature_record = Table(
    "temperature_record",
    metadata,
    col.surrogate_key(),
    col.refers_to("event_id", "trace_event.id"),
    col.required("kind", String(10)),
    col.required("equipment_id", String(200)),
    Column("related_document_no", String(60)),
    col.moment("start_time"),
    col.moment("end_time"),
    col.required("min_celsius", Float),
    col.required("max_celsius", Float),
    col.required("readings", JSON),
    Index("ix_temperature_equipment", "equipment_id", "start_time"),
)

ledger = ledger_tables(metadata)
exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""
"""The role's tamper-evident log (see vaxtrace.store.ledger)."""

basic_data = registry_copy_tables(metadata)
"""Basic data copied from the platform's registry, and how far its feed is applied."""

APPEND_ONLY = ("trace_event", "event_code", "batch_event", "containment_history")
COMMISSIONED = ("commissioned_code", "commission_digest")
"""History of what each commission issued (migration 0009 makes it append-only too)."""
"""Tables whose rows are history: the migration installs triggers refusing UPDATE and DELETE."""
