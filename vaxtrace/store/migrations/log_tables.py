"""The tables of a node's journal and log, as one migration of each role without trace events
creates them (immunization 0015, platform 0008, supervision 0005): frozen here, the shape of
``store.ledger.ledger_tables`` and ``store.journal.journal_table`` at that revision."""

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only

LOG_HISTORY = ("ledger_node", "ledger_leaf", "ledger_checkpoint", "log_entry")
"""Append-only: the tree, the leaves, the signed checkpoints and the entries."""

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _position(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), autoincrement=False, nullable=False)


def _tree_head(taken: str) -> list[sa.Column[object]]:
    return [
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(taken, sa.DateTime(timezone=True), nullable=False),
    ]


def create_log_tables() -> None:
    op.create_table(
        "ledger_node",
        _position("node_key"),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("node_key"),
    )
    op.create_table(
        "ledger_leaf",
        _position("leaf_index"),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_table(
        "ledger_checkpoint",
        _position("tree_size"),
        *_tree_head("signed_at"),
        sa.PrimaryKeyConstraint("tree_size"),
    )
    op.create_table(
        "ledger_cosignature",
        _position("tree_size"),
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", "witness"),
    )
    op.create_table(
        "ledger_witnessed",
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        *_tree_head("checked_at"),
        sa.PrimaryKeyConstraint("origin"),
    )
    op.create_table(
        "ledger_alert",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ledger_alert_origin", "ledger_alert", ["origin", "raised_at"])
    op.create_table(
        "log_entry",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_log_entry_kind", "log_entry", ["kind", "id"])
    install_append_only(op.get_bind(), LOG_HISTORY)


def drop_log_tables() -> None:
    drop_append_only(op.get_bind(), LOG_HISTORY)
    op.drop_index("ix_log_entry_kind", table_name="log_entry")
    op.drop_index("ix_ledger_alert_origin", table_name="ledger_alert")
    for table in (
        "log_entry",
        "ledger_alert",
        "ledger_witnessed",
        "ledger_cosignature",
        "ledger_checkpoint",
        "ledger_leaf",
        "ledger_node",
    ):
        op.drop_table(table)
