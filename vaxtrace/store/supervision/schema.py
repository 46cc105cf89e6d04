"""Tables of the supervision system (监管系统): the regulators whose staff use it, their tokens,
and the trace data the platform copies to it, one row per reported step, kept where it happened
(the division code its jurisdiction is judged by)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
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
)
"""A step of the chain as the platform copied it: a MAH's shipping note (201, where its
consignee CDC is) or a province's report (107 receipt, 209 supply, 322 vaccination, 202
return, 215 damage; where the CDC or site that did it is). ``event_id`` is the envelope the
original travelled in; ``reported_by`` the system that sent it to the platform."""

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
