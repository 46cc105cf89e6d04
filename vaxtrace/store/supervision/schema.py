"""Tables of the supervision system (监管系统): the regulators whose staff use it, their tokens,
and the trace data the platform copies to it, one row per reported step, kept where it happened
(the division code its jurisdiction is judged by)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
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
