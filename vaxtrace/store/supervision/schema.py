"""Tables of the supervision system (监管系统): the regulators whose staff use it, their tokens,
and the trace data the platform copies to it, one row per reported step, kept where it happened
(the division code its jurisdiction is judged by)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from vaxtrace.store import columns as col
from vaxtrace.store.basic_data import organisations_table, registry_copy_tables
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.journal import Journal, journal_table
from vaxtrace.store.ledger import ledger_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()

regulator = organisations_table(metadata, "regulator", kinds=False)
"""Drug regulators (药品监督管理部门) at province, city or county level: each sees the steps
done inside its division."""

api_token = api_token_table(metadata, "regulator.uscc")
"""Bearer tokens of the regulators' staff: only the SHA-256 (see vaxtrace.store.tokens)."""


def _copied(name: str, *columns: Column[Any] | Index) -> Table:
    """What the platform copied here, once per envelope (``event_id``), read by division
    (``columns`` include its ``division_code``)."""
    return Table(
        name,
        metadata,
        col.surrogate_key(),
        col.event_uuid("event_id", unique=True),
        *columns,
        col.moment("received_at"),
        Index(f"ix_{name}_division", "division_code", "id"),
    )


supervised_step = _copied(
    "supervised_step",
    col.required("reported_by", String(60)),
    col.uscc("data_owner"),
    col.required("bill_type", String(3)),
    col.uscc("org_uscc"),
    col.division_code(),
    col.document_no(),
    col.moment("business_time"),
    col.required("codes", JSON),
    Column("mah_uscc", String(18)),
    Column("batch_nos", JSON),
    Column("detail", JSON),
    Column("counterparty_uscc", String(18)),
    Column("source_document_no", String(60)),
    Column("reported_at", DateTime(timezone=True)),
    Index("ix_supervised_step_source", "source_document_no"),
    Index("ix_supervised_step_document", "document_no"),
)
"""A step of the chain as the platform copied it (bill types: vaxtrace.core.supervision): a
MAH's production (101), batch facts (901 self-inspection, 902 lot release) and control steps
(911–915), where the MAH is; its shipping note (201, where its consignee CDC is); a province's
report (107 receipt, 209 supply, 322 vaccination, 202 return, 215 damage, 205 destruction,
931 cold-chain excursion …; where the CDC or site that did it is). ``event_id`` is the
envelope the original travelled in; ``reported_by`` the system that sent it to the platform.
Steps on whole batches name them (``mah_uscc``, ``batch_nos``; also one row each in
``supervised_step_batch``). ``counterparty_uscc``: the consignee of a note, the receiver of
a distribution or return, the shipper a receipt names; ``source_document_no``: the note a
receipt answers (发货单号); ``reported_at``: when the system that did the step sent it (the
original envelope's time), for the timeliness of reporting."""

supervised_code_step = Table(
    "supervised_code_step",
    metadata,
    col.surrogate_key(),
    Column("step_id", col.Id, ForeignKey("supervised_step.id"), nullable=False),
    col.required("code", String(100)),
    col.required("bill_type", String(3)),
    col.uscc("org_uscc"),
    col.division_code(),
    col.document_no(),
    col.moment("business_time"),
    Column("counterparty_uscc", String(18)),
    Column("source_document_no", String(60)),
    Index("ix_supervised_code_step_code", "code", "business_time", "id"),
    Index("ix_supervised_code_step_kind", "code", "bill_type", "org_uscc", "business_time"),
    Index("ix_supervised_code_step_division", "division_code", "business_time"),
    Index("ix_supervised_code_step_step", "step_id"),
)
"""One row per code of a step (filled set-based with the step): a code's chain is one
indexed query on ``code``; an area's steps over time one on (``division_code``,
``business_time``). The validation engine's main table."""

supervised_code_parent = Table(
    "supervised_code_parent",
    metadata,
    col.required("parent", String(100), primary_key=True),
    col.required("code", String(100), primary_key=True),
)
"""Which container held which code, as notes and productions said (their ``contents``): a
step on a container is kept on every code inside it too."""

supervised_step_batch = Table(
    "supervised_step_batch",
    metadata,
    col.surrogate_key(),
    Column("step_id", col.Id, ForeignKey("supervised_step.id"), nullable=False),
    col.uscc("mah_uscc"),
    col.required("batch_no", String(20)),
    Index("ix_supervised_step_batch", "mah_uscc", "batch_no", "step_id"),
)
"""One row per whole batch a step concerns (self-inspection, lot release, a lock or recall
of whole batches): a code reaches them through its production (101) step's batch."""

supervised_code_batch = Table(
    "supervised_code_batch",
    metadata,
    col.required("code", String(100), primary_key=True),
    col.uscc("mah_uscc"),
    col.required("batch_no", String(20)),
    Index("ix_supervised_code_batch_batch", "mah_uscc", "batch_no"),
)
"""The batch of each code, as a MAH's production (101) or shipping note (201) says it."""

supervised_batch = Table(
    "supervised_batch",
    metadata,
    col.uscc("mah_uscc", primary_key=True),
    col.required("batch_no", String(20), primary_key=True),
    col.required("product_code", String(40)),
    col.required("expiry_date", Date),
    Column("production_date", Date),
    Column("certificate_no", String(100)),
    col.moment("received_at"),
)
"""批次: each batch's master data as the first shipping note of it said (product, expiry,
lot release), for the rules that judge a use by its batch."""

rule_finding = Table(
    "rule_finding",
    metadata,
    col.surrogate_key(),
    col.required("rule", String(40)),
    col.required("severity", String(10)),
    col.required("subject_kind", String(10)),
    col.required("subject", String(200)),
    col.uscc("owing_uscc"),
    col.division_code(),
    col.moment("occurred_at"),
    col.required("detail", JSON),
    col.moment("found_at"),
    col.required("run_id", col.Id),
    UniqueConstraint("rule", "subject_kind", "subject", name="uq_rule_finding"),
    Index("ix_rule_finding_division", "division_code", "id"),
)
"""What the validation rules found (校验发现), once per rule and subject (see
vaxtrace.core.validation): the unit that owes the fix, where, and the facts."""

validation_run = Table(
    "validation_run",
    metadata,
    col.surrogate_key(),
    col.required("kind", String(12)),
    col.required("after_step_id", col.Id),
    col.required("through_step_id", col.Id),
    col.required("codes", Integer),
    col.required("found", Integer),
    col.moment("started_at"),
    col.moment("finished_at"),
)
"""校验批次: each run of the rules, in full or on the steps received since the last
(``after_step_id`` < step id ≤ ``through_step_id``), how many codes it judged and how many
new findings it kept."""

finding = _copied(
    "finding",
    col.required("kind", String(30)),
    col.uscc("org_uscc"),
    col.division_code(),
    col.required("reason", String(60)),
    Column("bill_type", String(3)),
    Column("document_no", String(60)),
    col.required("detail", JSON),
    col.moment("found_at"),
)
"""发现的问题: what the chain got wrong in a regulator's area, kept where the unit at fault
is. So far one ``kind``, ``exchange_refusal``: a report refused by its receiver (the whole
:class:`vaxtrace.core.refusal.RefusalFinding` in ``detail``). ``event_id`` is the envelope
the platform copied it in."""

alert = Table(
    "alert",
    metadata,
    col.surrogate_key(),
    col.required("rule", String(60)),
    col.required("severity", String(10)),
    col.required("subject_kind", String(10)),
    col.required("subject", String(300)),
    col.uscc("owing_uscc"),
    col.division_code(),
    col.required("tier_division", String(6)),
    col.required("state", String(12)),
    col.moment("opened_at"),
    col.moment("occurred_at"),
    col.required("detail", JSON),
    Column("acknowledged_by", String(18)),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledgement", String(500)),
    Column("resolved_by", String(18)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_reason", String(500)),
    Column("escalated_at", DateTime(timezone=True)),
    UniqueConstraint("rule", "subject_kind", "subject", name="uq_alert_finding"),
    Index("ix_alert_division", "division_code", "id"),
    Index("ix_alert_tier", "tier_division", "id"),
    Index("ix_alert_state", "state", "severity"),
)
"""告警: one per finding (``rule``, ``subject_kind``, ``subject``: a repeat finding is no new
alert), open → acknowledged → resolved (who: the regulator's USCC, when, why). It happened in
``division_code`` (who sees it); ``tier_division`` must handle it now: its own division at
first, a tier up each time it waits unhandled too long (``escalated_at``: when it last
climbed). ``detail``: the finding's facts, never personal data."""

alert_event = Table(
    "alert_event",
    metadata,
    col.surrogate_key(),
    col.refers_to("alert_id", "alert.id"),
    col.required("kind", String(20)),
    col.required("actor", String(60)),
    col.moment("at"),
    col.required("tier_division", String(6)),
    Column("why", String(500)),
    Index("ix_alert_event_alert", "alert_id", "id"),
)
"""An alert's history: opened, acknowledged, resolved, escalated; by whom (a regulator's USCC,
or ``system``), when, at which tier, why."""

alert_contact = Table(
    "alert_contact",
    metadata,
    col.surrogate_key(),
    col.division_code(),
    col.required("name", String(100)),
    col.required("address", String(200)),
    col.required("channel", String(10)),
    col.moment("added_at"),
    UniqueConstraint("division_code", "channel", "address", name="uq_alert_contact"),
)
"""告警联系人: the named people of a division (its regulator's) whom alerts at that tier are
sent to, each on one channel (``smtp``: a mail address or a phone at the SMS gateway;
``webhook``); drug GSP asks for at least 3."""

alert_notice = Table(
    "alert_notice",
    metadata,
    col.surrogate_key(),
    col.refers_to("alert_id", "alert.id"),
    col.required("tier_division", String(6)),
    col.required("channel", String(10)),
    col.required("address", String(200)),
    col.required("state", String(10)),
    col.required("attempts", Integer),
    Column("last_error", String(500)),
    col.moment("queued_at"),
    Column("claimed_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("alert_id", "tier_division", "channel", "address", name="uq_alert_notice"),
    Index("ix_alert_notice_state", "state", "id"),
)
"""Who is told of an alert at which tier, queued when the alert opens or climbs to it, sent
once (pending → sending → sent; a failure is kept and retried)."""


# --- recalls (召回管理) -------------------------------------------------------------------

recall = Table(
    "recall",
    metadata,
    col.surrogate_key(),
    col.required("recall_no", String(200)),
    col.uscc("mah_uscc"),
    col.division_code(),
    col.required("level", SmallInteger),
    col.required("mock", Boolean),
    col.required("initiator", String(10)),
    col.uscc("initiated_by"),
    Column("reason", String(2000)),
    Column("divisions", JSON),
    col.moment("started_at"),
    col.required("state", String(10)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", String(18)),
    Column("summary", JSON),
    Column("mah_closed_at", DateTime(timezone=True)),
    Column("notice_state", String(10)),
    UniqueConstraint("mah_uscc", "recall_no", name="uq_recall_mah_no"),
    Index("ix_recall_division", "division_code", "id"),
)
"""A recall (召回) of a MAH's batches, started by the MAH (``initiator`` "mah", its 913 step)
or ordered by a regulator ("regulator", 责令召回), of level 1–3, real or ``mock`` (模拟), over
its batches (``recall_batch``), limited to some areas when ``divisions`` (division codes) are
given. Kept where the MAH is (``division_code``): that area's regulator oversees it. ``state``
open or closed; a closed one keeps its closing ``summary`` (the closer's words and
justification, and the units' states then); ``mah_closed_at``: when the MAH said it closed
(914) without closing it here (units still out and no justification); ``notice_state``: the
state last announced to the platform's public entry (None: not yet; a mock one never is)."""

recall_batch = Table(
    "recall_batch",
    metadata,
    Column("recall_id", col.Id, ForeignKey("recall.id"), primary_key=True),
    col.uscc("mah_uscc"),
    col.required("batch_no", String(20), primary_key=True),
)
"""The batches a recall covers: every dose-level code of them is a unit of the recall."""

recall_progress = Table(
    "recall_progress",
    metadata,
    col.surrogate_key(),
    Column("recall_id", col.Id, ForeignKey("recall.id"), nullable=False),
    col.moment("taken_at"),
    col.required("units", Integer),
    col.required("accounted_for", Integer),
    col.required("by_state", JSON),
    Index("ix_recall_progress", "recall_id", "taken_at"),
)
"""How far a recall was at a time (its completion over time): how many units, how many
accounted for, and how many in each state."""

exchange = exchange_tables(metadata)

basic_data = registry_copy_tables(metadata)
"""Basic data copied from the platform's registry, and how far its feed is applied."""

ledger = ledger_tables(metadata)
journal = Journal(journal_table(metadata), ledger)
"""The role's journal and the tamper-evident log over it (see vaxtrace.store.journal)."""

# --- regulators' locks (监管锁定) ------------------------------------------------------------

regulator_lock = Table(
    "regulator_lock",
    metadata,
    col.surrogate_key(),
    Column("document_no", String(60), nullable=False, unique=True),
    col.uscc("regulator_uscc"),
    col.division_code(),
    col.uscc("mah_uscc"),
    col.required("batch_nos", JSON),
    Column("codes", JSON),
    col.required("lock_kind", String(20)),
    col.required("state", String(20)),
    col.required("reason", String(200)),
    col.required("evidence", JSON),
    col.required("signal", JSON),
    col.moment("locked_at"),
    Column("resolution", JSON),
    Column("refusal", JSON),
    Index("ix_regulator_lock_division", "division_code", "id"),
)
"""A regulator's lock order (see vaxtrace.core.regulator_locks), kept where the regulator is
(``division_code``; 000000 national): the batches (all the order concerns, for routing) or the
codes it named, its kind, reason and evidence, the safety signal it sent, and where it stands
(``state``: its lock kind while locked, ``resolved`` once normal again, ``refused`` when the
platform refused it; ``resolution`` and ``refusal`` say who, when and why)."""
