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
    CheckConstraint,
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
    text,
)

from vaxtrace.store import columns as col
from vaxtrace.store.basic_data import organisations_table, registry_copy_tables
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.journal import Journal, journal_table
from vaxtrace.store.ledger import ledger_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()

expected_receipt = Table(
    "expected_receipt",
    metadata,
    col.event_key(),
    col.uscc("shipper_uscc"),
    col.document_no("note_no"),
    col.uscc("consignee_uscc"),
    col.required("doses", Integer),
    col.required("note", JSON),
    col.moment("announced_at"),
    col.required("sequence", BigInteger),
    Column("kind", String(20), nullable=False, server_default="shipping_note"),
    Column("state", String(10), nullable=False, server_default="open"),
    Index("ix_expected_receipt_consignee", "consignee_uscc", "announced_at"),
)
"""What a CDC or a site is to receive: a MAH's shipping note (发货单, ``kind`` shipping_note,
announced by the platform; ``shipper_uscc`` the MAH, ``sequence`` the platform's) or a CDC's
distribution to it (供应出库 209, ``kind`` distribution; ``shipper_uscc`` the CDC, sequence 0).
``state`` is where its receipt stands (vaxtrace.core.receipt.ReceiptState)."""

organisation = organisations_table(metadata, "organisation")
"""The CDCs and vaccination sites (POVs) of the province."""

api_token = api_token_table(metadata, "organisation.uscc")
"""Bearer tokens of the province's staff: only the SHA-256 (see vaxtrace.store.tokens)."""

receipt_scan = Table(
    "receipt_scan",
    metadata,
    col.surrogate_key(),
    Column("note_event_id", String(36), ForeignKey("expected_receipt.event_id")),
    col.document_no("note_no"),
    col.required("code", String(300)),
    col.required("result", String(10)),
    col.required("reason", String(40)),
    col.uscc("operator_uscc"),
    col.moment("scanned_at"),
    Index("ix_receipt_scan_note", "note_event_id", "result", "code"),
)
"""Every scan at receipt, whatever was decided (append-only); ``code`` is canonical when it
could be read, else as scanned. ``note_event_id`` is empty when no such note was announced."""

receiving_note = Table(
    "receiving_note",
    metadata,
    col.surrogate_key(),
    col.event_uuid("note_event_id", ForeignKey("expected_receipt.event_id")),
    col.document_no("note_no"),
    col.uscc("shipper_uscc"),
    col.uscc("consignee_uscc"),
    col.document_no(),
    col.client_document_id(),
    col.required("verification", String(10)),
    Column("reason", String(500)),
    col.required("expected_quantity", Integer),
    col.required("actual_quantity", Integer),
    col.moment("business_time"),
    col.moment("recorded_at"),
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
    Column("code", col.CodeText, primary_key=True),
    Column("parent_code", col.CodeText),
    col.uscc("holder_uscc"),
    col.required("state", String(10)),
    col.uscc("mah_uscc"),
    col.refers_to("receipt_id", "receiving_note.id"),
    col.moment("updated_at"),
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
    *col.batch_identity(),
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
    col.moment("updated_at"),
    PrimaryKeyConstraint("mah_uscc", "batch_no"),
)
"""批次: what the province knows of each batch it holds or expects, from the MAH's shipping
notes and safety signals: master data, lot release, a whole-batch lock, a recall in
progress. A row may exist before any code of it arrives (a lock sent ahead)."""

safety_signal = Table(
    "safety_signal",
    metadata,
    col.event_key(),
    col.uscc("mah_uscc"),
    col.required("kind", String(20)),
    col.document_no(),
    col.moment("business_time"),
    col.required("signal", JSON),
    col.required("codes_affected", Integer),
    col.moment("received_at"),
)
"""Every safety signal the platform forwarded, as received, with how many codes of the
province's stock it touched (append-only)."""

dose_check = Table(
    "dose_check",
    metadata,
    col.surrogate_key(),
    col.uscc("org_uscc"),
    col.required("code", String(300)),
    col.required("purpose", String(20)),
    col.required("allowed", Boolean),
    col.required("reasons", JSON),
    col.moment("checked_at"),
    Index("ix_dose_check_org", "org_uscc", "checked_at"),
)
"""Every decision of the dose gate: who, where, when, which code, what it answered
(append-only)."""

province_write = Table(
    "province_write",
    metadata,
    col.uscc("org_uscc"),
    col.client_document_id(),
    col.required("operation", String(40)),
    col.required("bill_type", String(3)),
    col.document_no(),
    col.sha256("request_sha256"),
    col.required("request", JSON),
    col.required("response", JSON),
    col.moment("recorded_at"),
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
    "child_move",
    "child_merge",
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
    col.surrogate_key(),
    col.uscc("unit_uscc"),
    col.client_document_id(),
    col.sha256("request_sha256"),
    Column("document_no", String(60)),
    col.required("equipment_id", String(200)),
    col.required("kind", String(10)),
    col.required("rule_set", String(80)),
    Column("related_document_no", String(60)),
    col.required("source", String(10)),
    col.moment("first_time"),
    col.moment("last_time"),
    col.required("readings", Integer),
    col.required("min_celsius", Float),
    col.required("max_celsius", Float),
    Column("tier", String(10)),
    col.required("response", JSON),
    col.moment("recorded_at"),
    UniqueConstraint("unit_uscc", "client_document_id"),
    Index("ix_temperature_record_equipment", "unit_uscc", "equipment_id", "first_time"),
)
"""温度记录: one upload of a fridge's, cold room's or vehicle's readings by a CDC or site, once
per client document id (append-only); ``rule_set`` names the rules it was judged by
(``class@version``), ``response`` the answer a retry gets again."""

temperature_reading = Table(
    "temperature_reading",
    metadata,
    col.uscc("unit_uscc"),
    col.required("equipment_id", String(200)),
    col.moment("time"),
    col.required("celsius", Float),
    col.refers_to("record_id", "temperature_record.id"),
    PrimaryKeyConstraint("unit_uscc", "equipment_id", "time"),
)
"""Every reading of a unit's equipment, once per time (UTC), from the record that first
brought it (append-only)."""

excursion = Table(
    "excursion",
    metadata,
    col.surrogate_key(),
    col.uscc("unit_uscc"),
    col.required("equipment_id", String(200)),
    col.refers_to("record_id", "temperature_record.id"),
    col.required("rule_set", String(80)),
    col.required("rule_id", String(60)),
    col.required("rule_kind", String(12)),
    col.required("tier", String(10)),
    col.moment("start_time"),
    col.moment("end_time"),
    col.required("minutes", Float),
    col.required("min_celsius", Float),
    col.required("max_celsius", Float),
    col.required("codes", Integer),
    col.required("state", String(10)),
    Column("decided_by", String(100)),
    Column("decision_reason", String(200)),
    Column("decided_at", DateTime(timezone=True)),
    col.moment("recorded_at"),
    Index("ix_excursion_unit", "unit_uscc", "state"),
    Index("ix_excursion_rule", "unit_uscc", "equipment_id", "rule_id", "start_time"),
)
"""温度超标: a rule breached on a unit's equipment; open (待定) it holds every code the unit had
in stock, until a named person decides usable (released) or abnormal (kept out for good)."""

excursion_code = Table(
    "excursion_code",
    metadata,
    col.refers_to("excursion_id", "excursion.id"),
    col.required("code", col.CodeText),
    PrimaryKeyConstraint("excursion_id", "code"),
    Index("ix_excursion_code_code", "code"),
)
"""The codes an excursion holds (append-only): every level, containers and what is in them."""

COLD_CHAIN_HISTORY = ("temperature_record", "temperature_reading", "excursion_code")
"""Cold-chain tables whose rows are history (append-only triggers, migration 0007)."""
refusal_alert = Table(
    "refusal_alert",
    metadata,
    col.surrogate_key(),
    col.uscc("org_uscc"),
    col.event_uuid("refused_event_id"),
    col.event_uuid("origin_event_id"),
    col.required("receiver", String(60)),
    col.required("reason", String(60)),
    Column("bill_type", String(3)),
    Column("document_no", String(60)),
    col.required("notice", JSON),
    col.moment("raised_at"),
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
    col.surrogate_key(),
    col.uscc("site_uscc"),
    col.document_no(),
    col.required("code", col.CodeText),
    Column("product_code", String(40)),
    col.uscc("mah_uscc"),
    Column("batch_no", String(20)),
    Column("expiry_date", Date),
    col.moment("vaccinated_at"),
    col.required("vaccinator", String(100)),
    Column("dose_number", Integer),
    Column("vaccinee_ref", String(64)),
    col.required("recorded_by", String(64)),
    col.moment("recorded_at"),
    UniqueConstraint("site_uscc", "document_no"),
    Index("ix_vaccination_record_vaccinee", "site_uscc", "vaccinee_ref"),
)
"""接种记录 (疫苗管理法 Art. 46): vaccine, MAH, dose code, batch, expiry, time, site,
vaccinator, dose number and the recipient's reference, as the site recorded it; ``recorded_by``
the SHA-256 of the staff token that recorded it (who may undo it). Append-only."""

vaccination_undo = Table(
    "vaccination_undo",
    metadata,
    col.surrogate_key(),
    col.refers_to("record_id", "vaccination_record.id", unique=True),
    col.document_no(),
    col.required("reason", String(500)),
    col.required("recorded_by", String(64)),
    col.moment("recorded_at"),
)
"""接种冲销: a vaccination record taken back by whoever recorded it, inside the undo window
(append-only)."""

expected_code = Table(
    "expected_code",
    metadata,
    col.event_uuid("note_event_id", ForeignKey("expected_receipt.event_id")),
    col.required("code", String(300)),
    Column("parent_code", String(300)),
    col.required("doses", Integer),
    col.required("position", Integer),
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
    col.surrogate_key(),
    col.required("run_on", Date),
    col.required("source", String(20)),
    col.required("batches", Integer),
    col.required("doses", Integer),
    col.moment("recorded_at"),
)
"""One run of the expiry job (过期处理): the China date it judged expiry on, whether the nightly
loop or a person ran it, and how many batches and held doses it found newly expired
(append-only)."""

expired_batch = Table(
    "expired_batch",
    metadata,
    *col.batch_identity(),
    Column("product_code", String(40)),
    col.required("expiry_date", Date),
    col.refers_to("run_id", "expiry_run.id"),
    col.required("doses", Integer),
    col.required("units", Integer),
    PrimaryKeyConstraint("mah_uscc", "batch_no"),
    Index("ix_expired_batch_run", "run_id"),
)
"""A batch the province held doses of when it expired, once, with the run that noticed it
and the doses and units holding them then (append-only). Stock views judge expiry by date
from ``batch.expiry_date`` (the dose gate's rule); this is the report of when it happened."""

EXPIRY_HISTORY = ("expiry_run", "expired_batch")
"""Expiry tables whose rows are history (append-only triggers, migration 0011)."""

# --- recipients (受种者): children, their guardians' phones, moves and merges ----------------

child = Table(
    "child",
    metadata,
    Column("id", String(19), primary_key=True),
    col.uscc("site_uscc"),
    col.required("name", String(50)),
    col.required("name_key", String(100)),
    col.required("sex", String(1)),
    col.required("birth_date", Date),
    col.required("birth_division", String(6)),
    col.required("card_no", String(30), unique=True),
    Column("resident_id", String(18)),
    col.required("guardians", JSON),
    col.sha256("personal_sha256"),
    col.required("state", String(10)),
    Column("merged_into", String(19)),
    Column("duplicates_acknowledged", JSON),
    col.required("registered_by", String(64)),
    col.moment("registered_at"),
    col.moment("updated_at"),
    Index("ix_child_site", "site_uscc", "state"),
    Index("ix_child_name_key", "name_key"),
    Index("ix_child_birth_date", "birth_date"),
    Index("ix_child_resident_id", "resident_id"),
)
"""受种者: a child the province's vaccination sites manage, by its pseudonymous id (``ch-``
and 16 hex digits, the ``vaccinee_ref`` of its vaccination records). Personal data stays in
this table: ``name_key`` is the name's fuzzy pinyin (duplicate detection), ``personal_sha256``
the digest the journal keeps instead of the data. ``state``: active, merged (into
``merged_into``) or moved_out (to another province); ``site_uscc`` the site managing it;
``duplicates_acknowledged`` the candidates the registering staff confirmed were others."""

child_phone = Table(
    "child_phone",
    metadata,
    Column("child_id", String(19), ForeignKey("child.id"), nullable=False),
    col.required("phone", String(20)),
    PrimaryKeyConstraint("child_id", "phone"),
    Index("ix_child_phone_phone", "phone"),
)
"""Each guardian phone of a child, found by phone (duplicate detection, reminders)."""

child_move = Table(
    "child_move",
    metadata,
    col.surrogate_key(),
    Column("child_id", String(19), ForeignKey("child.id"), nullable=False),
    col.required("kind", String(20)),
    col.uscc("from_site_uscc"),
    Column("to_site_uscc", String(18)),
    Column("to_province", String(6)),
    col.required("consent", JSON),
    Column("reason", String(200)),
    Column("export_sha256", String(64)),
    col.required("recorded_by", String(64)),
    col.moment("recorded_at"),
    Index("ix_child_move_child", "child_id"),
)
"""迁移: a child's record handed to another site of the province (``kind`` site) or exported
to another province (``kind`` province, with the exported document's SHA-256), with the
guardian's consent, who recorded it and when (append-only)."""

child_merge = Table(
    "child_merge",
    metadata,
    col.surrogate_key(),
    Column("kept_id", String(19), ForeignKey("child.id"), nullable=False),
    Column("merged_id", String(19), ForeignKey("child.id"), nullable=False, unique=True),
    col.uscc("site_uscc"),
    col.required("reason", String(200)),
    col.required("moved", JSON),
    col.required("recorded_by", String(64)),
    col.moment("recorded_at"),
    Index("ix_child_merge_kept", "kept_id"),
)
"""合并: a duplicate record merged into the one kept, explicitly, by the managing site's
staff: who (``recorded_by``, the staff token's SHA-256), when, which into which and what moved
(``moved``: vaccination records, guardian phones, the resident id). Append-only; a merged
child's record stays, pointing at the kept one."""

Index("ix_vaccination_record_ref", vaccination_record.c.vaccinee_ref)
"""A child's doses at every site, found by its id (the records' ``vaccinee_ref``)."""

# --- public services (issue 13 item 7): sites' hours, appointments, guardians' accounts ----------

site_hours = Table(
    "site_hours",
    metadata,
    Column("site_uscc", String(18), ForeignKey("organisation.uscc"), primary_key=True),
    col.required("address", String(300)),
    Column("phone", String(20)),
    col.required("week", JSON),
    col.required("closed", JSON),
    col.required("updated_by", String(64)),
    col.moment("updated_at"),
)
"""开放时间: what a vaccination site publishes (address, phone, weekly windows, closed days),
as its staff last set it."""

appointment_slot = Table(
    "appointment_slot",
    metadata,
    col.surrogate_key(),
    col.uscc("site_uscc", ForeignKey("organisation.uscc")),
    col.required("vaccine", String(20)),
    col.required("day", Date),
    col.moment("starts_at"),
    col.moment("ends_at"),
    col.required("capacity", Integer),
    col.required("booked", Integer),
    col.required("opened_by", String(64)),
    col.moment("opened_at"),
    UniqueConstraint("site_uscc", "vaccine", "starts_at", name="uq_appointment_slot_start"),
    CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_appointment_slot_places"),
    Index("ix_appointment_slot_day", "site_uscc", "day"),
)
"""号源: places a site offers for one vaccine in one time window. ``booked`` counts the live
appointments in it, changed only by a conditional update (``booked < capacity``) in the
transaction that writes the appointment; the check constraint holds it to its capacity."""

appointment = Table(
    "appointment",
    metadata,
    col.surrogate_key(),
    col.refers_to("slot_id", "appointment_slot.id"),
    Column("child_id", String(19), ForeignKey("child.id"), nullable=False),
    col.required("vaccine", String(20)),
    col.required("state", String(10)),
    Column("guardian_id", col.Id, ForeignKey("guardian_account.id")),
    col.moment("booked_at"),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("replaced_by", col.Id),
    Column("checked_in_at", DateTime(timezone=True)),
    Column("checked_in_by", String(64)),
    Index("ix_appointment_slot", "slot_id"),
    Index("ix_appointment_child", "child_id"),
    Index(
        "uq_appointment_live",
        "child_id",
        "vaccine",
        unique=True,
        sqlite_where=text("state <> 'cancelled'"),
        postgresql_where=text("state <> 'cancelled'"),
    ),
)
"""预约: a child's place in a slot, booked by a guardian (``guardian_id``); ``state`` booked,
attended (checked in) or cancelled (``replaced_by`` the booking it was moved to). At most one
live booking per child and vaccine (a partial unique index)."""

guardian_account = Table(
    "guardian_account",
    metadata,
    col.surrogate_key(),
    col.required("phone", String(20), unique=True),
    col.required("password_hash", String(200)),
    col.required("must_change", Boolean),
    Column("initial_expires_at", DateTime(timezone=True)),
    col.required("failures", Integer),
    Column("locked_until", DateTime(timezone=True)),
    col.uscc("opened_by_site"),
    col.required("opened_by", String(64)),
    col.moment("opened_at"),
    Column("password_changed_at", DateTime(timezone=True)),
)
"""监护人账号: a guardian's login (phone, argon2id hash). ``must_change`` while the password
is the initial one a site printed (valid until ``initial_expires_at``); ``failures`` in a row
and ``locked_until`` for the lockout."""

guardian_session = Table(
    "guardian_session",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    col.refers_to("account_id", "guardian_account.id"),
    col.moment("created_at"),
    col.moment("expires_at"),
    Index("ix_guardian_session_account", "account_id"),
)
"""A guardian's bearer token (``vg_``), kept only as its SHA-256, until ``expires_at``."""

ledger = ledger_tables(metadata)
journal = Journal(journal_table(metadata), ledger)
"""The role's journal and the tamper-evident log over it (see vaxtrace.store.journal)."""

# --- school-entry checks (入学入托查验): a roster's rows matched and judged ----------------

school_entry_check = Table(
    "school_entry_check",
    metadata,
    Column("id", String(20), primary_key=True),
    col.uscc("org_uscc"),
    col.required("school_name", String(100)),
    col.required("school_division", String(6)),
    col.required("level", String(12)),
    Column("file_name", String(200)),
    col.sha256("file_sha256"),
    col.required("rows", Integer),
    col.required("counts", JSON),
    col.required("round", Integer),
    col.sha256("results_sha256"),
    col.required("checked_by", String(64)),
    col.moment("checked_at"),
    col.moment("assessed_at"),
    UniqueConstraint("org_uscc", "school_division", "school_name", "file_sha256"),
    Index("ix_school_entry_check_division", "school_division"),
)
"""入学入托查验: a kindergarten's or school's roster checked by a CDC or vaccination site
(``org_uscc``): the school, the file's SHA-256 (the same file again answers this check),
the counts per status, how many times it was assessed (``round``: 1, then each re-check) and
the SHA-256 of its latest results (journaled, with no personal data)."""

school_entry_row = Table(
    "school_entry_row",
    metadata,
    Column("check_id", String(20), ForeignKey("school_entry_check.id"), nullable=False),
    col.required("row_no", Integer),
    col.required("roster", JSON),
    col.required("status", String(16)),
    Column("child_id", String(19)),
    col.required("result", JSON),
    PrimaryKeyConstraint("check_id", "row_no"),
)
"""A roster row as read (``roster``: name, sex, birth date, phones, card, resident id, its
problems) and its latest result: status, the child matched, the missing doses or the masked
candidates (``result``). Personal data: it stays here, never in the journal."""

# --- due lists and reminders: each child's next doses, the reminders sent, the opt-outs -----

child_forecast = Table(
    "child_forecast",
    metadata,
    Column("child_id", String(19), ForeignKey("child.id"), nullable=False),
    col.required("vaccine", String(20)),
    col.required("dose", Integer),
    col.uscc("site_uscc"),
    col.required("earliest", Date),
    col.required("recommended", Date),
    Column("overdue", Date),
    Column("latest", Date),
    col.required("edition", String(40)),
    col.required("computed_on", Date),
    PrimaryKeyConstraint("child_id", "vaccine"),
    Index("ix_child_forecast_site", "site_uscc", "recommended", "child_id", "vaccine"),
)
"""预约接种: the next dose of each series of each active child as the schedule forecasts it
(earliest, recommended, overdue, latest day), by the site managing the child: a projection of
``child`` and its vaccination records, refreshed in the transaction of every write that changes
them (registration, vaccination, its undo, a move, a merge) and rebuilt whole after a change of
the schedule. A series complete or aged out has no row."""

reminder = Table(
    "reminder",
    metadata,
    col.surrogate_key(),
    Column("child_id", String(19), ForeignKey("child.id"), nullable=False),
    col.required("vaccine", String(20)),
    col.required("dose", Integer),
    col.required("channel", String(20)),
    col.sha256("contact_sha256"),
    col.uscc("site_uscc"),
    col.required("state", String(10)),
    col.required("attempts", Integer),
    col.required("run_id", String(32)),
    col.moment("claimed_at"),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", String(500)),
    Column("token_sha256", String(64)),
    UniqueConstraint("child_id", "vaccine", "dose", "channel", "contact_sha256"),
    Index("ix_reminder_token", "token_sha256"),
    Index("ix_reminder_state", "state"),
)
"""接种提醒: one reminder of one dose of a child, to one guardian (``contact_sha256``, a digest
of the phone) on one channel. Claimed (``claimed``, by ``run_id``) before it is sent, then
``sent`` or ``failed`` (retried by the next run): a rerun or a concurrent run sends nothing
twice. ``token_sha256`` the digest of the opt-out token the message carried."""

reminder_opt_out = Table(
    "reminder_opt_out",
    metadata,
    Column("contact_sha256", String(64), primary_key=True),
    col.required("source", String(10)),
    col.required("recorded_by", String(64)),
    col.moment("recorded_at"),
)
"""退订: a guardian (by the digest of the phone) who gets no more reminders, by the link in a
reminder (``source`` guardian) or as recorded by a site's staff (``source`` staff)."""
