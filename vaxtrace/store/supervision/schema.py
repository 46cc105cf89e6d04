"""Tables of the supervision system (监管系统): the regulators whose staff use it, their tokens,
and the trace data the platform copies to it, one row per reported step, kept where it happened
(the division code its jurisdiction is judged by)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
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


def _copied(name: str, *columns: Column[Any]) -> Table:
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
)
"""A step of the chain as the platform copied it (bill types: vaxtrace.core.supervision): a
MAH's production (101), batch facts (901 self-inspection, 902 lot release) and control steps
(911–915), where the MAH is; its shipping note (201, where its consignee CDC is); a province's
report (107 receipt, 209 supply, 322 vaccination, 202 return, 215 damage, 205 destruction,
931 cold-chain excursion …; where the CDC or site that did it is). ``event_id`` is the
envelope the original travelled in; ``reported_by`` the system that sent it to the platform.
Steps on whole batches name them (``mah_uscc``, ``batch_nos``; also one row each in
``supervised_step_batch``)."""

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
    Index("ix_supervised_code_step_code", "code", "business_time", "id"),
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
