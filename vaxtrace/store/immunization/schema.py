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
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from vaxtrace.store.basic_data import registry_copy_tables
from vaxtrace.store.columns import CodeText, Id
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()

expected_receipt = Table(
    "expected_receipt",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("shipper_uscc", String(18), nullable=False),
    Column("note_no", String(60), nullable=False),
    Column("consignee_uscc", String(18), nullable=False),
    Column("doses", Integer, nullable=False),
    Column("note", JSON, nullable=False),
    Column("announced_at", DateTime(timezone=True), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False, server_default="shipping_note"),
    Column("state", String(10), nullable=False, server_default="open"),
    Index("ix_expected_receipt_consignee", "consignee_uscc", "announced_at"),
)
"""What a CDC or a site is to receive: a MAH's shipping note (发货单, ``kind`` shipping_note,
announced by the platform; ``shipper_uscc`` the MAH, ``sequence`` the platform's) or a CDC's
distribution to it (供应出库 209, ``kind`` distribution; ``shipper_uscc`` the CDC, sequence 0).
``state`` is where its receipt stands (vaxtrace.core.receipt.ReceiptState)."""

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
    Column("note_event_id", String(36), ForeignKey("expected_receipt.event_id"), nullable=False),
    Column("note_no", String(60), nullable=False),
    Column("shipper_uscc", String(18), nullable=False),
    Column("consignee_uscc", String(18), nullable=False),
    Column("document_no", String(60), nullable=False),
    Column("client_document_id", String(64), nullable=False),
    Column("verification", String(10), nullable=False),
    Column("reason", String(500)),
    Column("expected_quantity", Integer, nullable=False),
    Column("actual_quantity", Integer, nullable=False),
    Column("business_time", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("received", JSON),
)
Index("ix_receiving_note_note", receiving_note.c.note_event_id)
"""收货单: a confirmation of what was received of a note (append-only); a partial receipt is
completed by later ones, each adding what came late. ``received`` lists every code this one
received (containers and contents), so a later one knows what came before however the goods
moved on since (empty before revision 0014, when notes were received at once)."""

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
    Column("batch_no", String(20)),
    Column("mah_status", String(20)),
    Column("stepped_at", DateTime(timezone=True)),
    Index("ix_stock_parent", "parent_code"),
    Index("ix_stock_holder", "holder_uscc", "state"),
    Index("ix_stock_batch", "mah_uscc", "batch_no"),
)
"""The province's inventory by code: who holds each code it received, and whether it is
in stock, used, damaged or returned; ``parent_code`` while it is inside a container there;
``mah_uscc`` the MAH that supplied it, ``receipt_id`` the receiving note it came with,
``batch_no`` its batch; ``mah_status`` a status the MAH set on the code itself (a code lock,
damaged, destroyed, suspended), from its safety signals; ``stepped_at`` the business time (in
UTC) of the last step the province recorded on it, which no later step may precede (empty for
codes received before it was kept)."""

batch = Table(
    "batch",
    metadata,
    Column("mah_uscc", String(18), nullable=False),
    Column("batch_no", String(20), nullable=False),
    Column("product_code", String(40)),
    Column("production_date", Date),
    Column("expiry_date", Date),
    Column("lot_release_no", String(200)),
    Column("lot_release_authority", String(200)),
    Column("lot_release_date", Date),
    Column("lot_release_sha256", String(64)),
    Column("lock_kind", String(20)),
    Column("lock_reason", String(2000)),
    Column("recall_no", String(200)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("mah_uscc", "batch_no"),
)
"""批次: what the province knows of each batch it holds or expects, from the MAH's shipping
notes and safety signals: master data, lot release, a whole-batch lock, a recall in
progress. A row may exist before any code of it arrives (a lock sent ahead)."""

safety_signal = Table(
    "safety_signal",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("mah_uscc", String(18), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("document_no", String(60), nullable=False),
    Column("business_time", DateTime(timezone=True), nullable=False),
    Column("signal", JSON, nullable=False),
    Column("codes_affected", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
"""Every safety signal the platform forwarded, as received, with how many codes of the
province's stock it touched (append-only)."""

dose_check = Table(
    "dose_check",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("org_uscc", String(18), nullable=False),
    Column("code", String(300), nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Index("ix_dose_check_org", "org_uscc", "checked_at"),
)
"""Every decision of the dose gate: who, where, when, which code, what it answered
(append-only)."""

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

APPEND_ONLY = (
    "receipt_scan",
    "receiving_note",
    "province_write",
    "safety_signal",
    "dose_check",
    "vaccination_record",
    "vaccination_undo",
)
"""Tables whose rows are history: the migration installs triggers refusing UPDATE and DELETE."""

exchange = exchange_tables(metadata)
"""The role's outbox and inbox (see vaxtrace.store.exchange)."""

basic_data = registry_copy_tables(metadata)
"""Basic data copied from the platform's registry, and how far its feed is applied."""

# --- cold chain (冷链): temperature records, excursions and the codes they hold ------------------

temperature_record = Table(
    "temperature_record",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("unit_uscc", String(18), nullable=False),
    Column("client_document_id", String(64), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("document_no", String(60)),
    Column("equipment_id", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("rule_set", String(80), nullable=False),
    Column("related_document_no", String(60)),
    Column("source", String(10), nullable=False),
    Column("first_time", DateTime(timezone=True), nullable=False),
    Column("last_time", DateTime(timezone=True), nullable=False),
    Column("readings", Integer, nullable=False),
    Column("min_celsius", Float, nullable=False),
    Column("max_celsius", Float, nullable=False),
    Column("tier", String(10)),
    Column("response", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("unit_uscc", "client_document_id"),
    Index("ix_temperature_record_equipment", "unit_uscc", "equipment_id", "first_time"),
)
"""温度记录: one upload of a fridge's, cold room's or vehicle's readings by a CDC or site, once
per client document id (append-only); ``rule_set`` names the rules it was judged by
(``class@version``), ``response`` the answer a retry gets again."""

temperature_reading = Table(
    "temperature_reading",
    metadata,
    Column("unit_uscc", String(18), nullable=False),
    Column("equipment_id", String(200), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("celsius", Float, nullable=False),
    Column("record_id", Id, ForeignKey("temperature_record.id"), nullable=False),
    PrimaryKeyConstraint("unit_uscc", "equipment_id", "time"),
)
"""Every reading of a unit's equipment, once per time (UTC), from the record that first
brought it (append-only)."""

excursion = Table(
    "excursion",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("unit_uscc", String(18), nullable=False),
    Column("equipment_id", String(200), nullable=False),
    Column("record_id", Id, ForeignKey("temperature_record.id"), nullable=False),
    Column("rule_set", String(80), nullable=False),
    Column("rule_id", String(60), nullable=False),
    Column("rule_kind", String(12), nullable=False),
    Column("tier", String(10), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("minutes", Float, nullable=False),
    Column("min_celsius", Float, nullable=False),
    Column("max_celsius", Float, nullable=False),
    Column("codes", Integer, nullable=False),
    Column("state", String(10), nullable=False),
    Column("decided_by", String(100)),
    Column("decision_reason", String(200)),
    Column("decided_at", DateTime(timezone=True)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_excursion_unit", "unit_uscc", "state"),
    Index("ix_excursion_rule", "unit_uscc", "equipment_id", "rule_id", "start_time"),
)
"""温度超标: a rule breached on a unit's equipment; open (待定) it holds every code the unit had
in stock, until a named person decides usable (released) or abnormal (kept out for good)."""

excursion_code = Table(
    "excursion_code",
    metadata,
    Column("excursion_id", Id, ForeignKey("excursion.id"), nullable=False),
    Column("code", CodeText, nullable=False),
    PrimaryKeyConstraint("excursion_id", "code"),
    Index("ix_excursion_code_code", "code"),
)
"""The codes an excursion holds (append-only): every level, containers and what is in them."""

COLD_CHAIN_HISTORY = ("temperature_record", "temperature_reading", "excursion_code")
"""Cold-chain tables whose rows are history (append-only triggers, migration 0007)."""
refusal_alert = Table(
    "refusal_alert",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("org_uscc", String(18), nullable=False),
    Column("refused_event_id", String(36), nullable=False),
    Column("origin_event_id", String(36), nullable=False),
    Column("receiver", String(60), nullable=False),
    Column("reason", String(60), nullable=False),
    Column("bill_type", String(3)),
    Column("document_no", String(60)),
    Column("notice", JSON, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledgement", String(500)),
    Index("ix_refusal_alert_org", "org_uscc", "id"),
)
"""A report of this province that its receiver refused (拒收告警), kept as an alert for the
CDC or site that did the step (``org_uscc``) until its staff acknowledge it: the refusal the
platform sent back, or the platform's own refusal of what this node sent it. ``notice`` is the
whole :class:`vaxtrace.core.refusal.RefusalNotice`; ``origin_event_id`` the envelope the
report left in."""

vaccination_record = Table(
    "vaccination_record",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_uscc", String(18), nullable=False),
    Column("document_no", String(60), nullable=False),
    Column("code", CodeText, nullable=False),
    Column("product_code", String(40)),
    Column("mah_uscc", String(18), nullable=False),
    Column("batch_no", String(20)),
    Column("expiry_date", Date),
    Column("vaccinated_at", DateTime(timezone=True), nullable=False),
    Column("vaccinator", String(100), nullable=False),
    Column("dose_number", Integer),
    Column("vaccinee_ref", String(64)),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("site_uscc", "document_no"),
    Index("ix_vaccination_record_vaccinee", "site_uscc", "vaccinee_ref"),
)
"""接种记录 (疫苗管理法 Art. 46): vaccine, MAH, dose code, batch, expiry, time, site,
vaccinator, dose number and the recipient's reference, as the site recorded it; ``recorded_by``
the SHA-256 of the staff token that recorded it (who may undo it). Append-only."""

vaccination_undo = Table(
    "vaccination_undo",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_id", Id, ForeignKey("vaccination_record.id"), nullable=False, unique=True),
    Column("document_no", String(60), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
"""接种冲销: a vaccination record taken back by whoever recorded it, inside the undo window
(append-only)."""

expected_code = Table(
    "expected_code",
    metadata,
    Column("note_event_id", String(36), ForeignKey("expected_receipt.event_id"), nullable=False),
    Column("code", String(300), nullable=False),
    Column("parent_code", String(300)),
    Column("doses", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("batch_no", String(20)),
    Column("mah_uscc", String(18)),
    PrimaryKeyConstraint("note_event_id", "code"),
)
"""Every code an announced note says was sent, read into canonical form once, when the note
is taken (see vaxtrace.core.receipt.Consignment.expected_codes): ``parent_code`` is the
container the note puts it in (empty for a listed code), ``doses`` what it holds, ``position``
its order on the note (listed codes first, containers before what they hold), ``batch_no`` and
``mah_uscc`` the batch it is of (a distribution may carry several MAHs' goods). A scan looks up
its code and the containers around it here instead of reading the whole note again. Codes are
compared as equal only, in the collation of ``receipt_scan.code``, which they are matched with.

``receipt_scan`` rows are numbered in the order they are written, not scanned: a repeat or a
rejected scan is written in a batch shortly after it is answered (see
vaxtrace.store.batched); ``scanned_at`` is the order of the scans."""

Index("ix_expected_receipt_note_no", expected_receipt.c.note_no)
"""Scans and confirmations find a note by its number."""

# --- expiry (过期): what the nightly expiry run noticed ------------------------------------------

expiry_run = Table(
    "expiry_run",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_on", Date, nullable=False),
    Column("source", String(20), nullable=False),
    Column("batches", Integer, nullable=False),
    Column("doses", Integer, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
"""One run of the expiry job (过期处理): the China date it judged expiry on, whether the nightly
loop or a person ran it, and how many batches and held doses it found newly expired
(append-only)."""

expired_batch = Table(
    "expired_batch",
    metadata,
    Column("mah_uscc", String(18), nullable=False),
    Column("batch_no", String(20), nullable=False),
    Column("product_code", String(40)),
    Column("expiry_date", Date, nullable=False),
    Column("run_id", Id, ForeignKey("expiry_run.id"), nullable=False),
    Column("doses", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    PrimaryKeyConstraint("mah_uscc", "batch_no"),
    Index("ix_expired_batch_run", "run_id"),
)
"""A batch the province held doses of when it expired, once, with the run that noticed it
and the doses and units holding them then (append-only). Stock views judge expiry by date
from ``batch.expiry_date`` (the dose gate's rule); this is the report of when it happened."""

EXPIRY_HISTORY = ("expiry_run", "expired_batch")
"""Expiry tables whose rows are history (append-only triggers, migration 0011)."""
