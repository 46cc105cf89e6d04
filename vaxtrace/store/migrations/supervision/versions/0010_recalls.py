"""recalls: a recall of a MAH's batches, its batches and its progress over time

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recall",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("recall_no", sa.String(length=200), nullable=False),
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("mock", sa.Boolean(), nullable=False),
        sa.Column("initiator", sa.String(length=10), nullable=False),
        sa.Column("initiated_by", sa.String(length=18), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.Column("divisions", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=18), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("mah_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_state", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mah_uscc", "recall_no", name="uq_recall_mah_no"),
    )
    op.create_index("ix_recall_division", "recall", ["division_code", "id"])
    op.create_table(
        "recall_batch",
        sa.Column("recall_id", _ID, nullable=False),
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["recall_id"], ["recall.id"]),
        sa.PrimaryKeyConstraint("recall_id", "batch_no"),
    )
    op.create_table(
        "recall_progress",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("recall_id", _ID, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("accounted_for", sa.Integer(), nullable=False),
        sa.Column("by_state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["recall_id"], ["recall.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recall_progress", "recall_progress", ["recall_id", "taken_at"])


def downgrade() -> None:
    op.drop_index("ix_recall_progress", table_name="recall_progress")
    op.drop_table("recall_progress")
    op.drop_table("recall_batch")
    op.drop_index("ix_recall_division", table_name="recall")
    op.drop_table("recall")
