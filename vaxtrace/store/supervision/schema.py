"""Tables of the supervision system (监管系统): the regulators whose staff use it, their tokens,
and the trace data the platform copies to it, one row per reported step, kept where it happened
(the division code its jurisdiction is judged by)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
)

from vaxtrace.store.basic_data import registry_copy_tables
from vaxtrace.store.columns import Id
from vaxtrace.store.exchange import exchange_tables
from vaxtrace.store.tokens import api_token_table

metadata = MetaData()

regulator = Table(
    "regulator",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("division_code", String(6), nullable=False),
)
"""Drug regulators (药品监督管理部门) at province, city or county level: each sees the steps
done inside its division."""

api_token = api_token_table(metadata, "regulator.uscc")
"""Bearer tokens of the regulators' staff: only the SHA-256 (see vaxtrace.store.tokens)."""

supervised_step = Table(
    "supervised_step",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("reported_by", String(60), nullable=False),
    Column("data_owner", String(18), nullable=False),
    Column("bill_type", String(3), nullable=False),
    Column("org_uscc", String(18), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("document_no", String(60), nullable=False),
    Column("business_time", DateTime(timezone=True), nullable=False),
    Column("codes", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_supervised_step_division", "division_code", "id"),
)
"""A step of the chain as the platform copied it: a MAH's shipping note (201, where its
consignee CDC is) or a province's report (107 receipt, 209 supply, 322 vaccination, 202
return, 215 damage; where the CDC or site that did it is). ``event_id`` is the envelope the
original travelled in; ``reported_by`` the system that sent it to the platform."""

finding = Table(
    "finding",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(30), nullable=False),
    Column("org_uscc", String(18), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("reason", String(60), nullable=False),
    Column("bill_type", String(3)),
    Column("document_no", String(60)),
    Column("detail", JSON, nullable=False),
    Column("found_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_finding_division", "division_code", "id"),
)
"""发现的问题: what the chain got wrong in a regulator's area, kept where the unit at fault
is. So far one ``kind``, ``exchange_refusal``: a report refused by its receiver (the whole
:class:`vaxtrace.core.refusal.RefusalFinding` in ``detail``). ``event_id`` is the envelope
the platform copied it in."""

exchange = exchange_tables(metadata)

basic_data = registry_copy_tables(metadata)
"""Basic data copied from the platform's registry, and how far its feed is applied."""
