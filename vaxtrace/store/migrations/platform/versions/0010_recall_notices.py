"""recall notices: the public notices of recalls, and the batches each names

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recall_notice",
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("recall_no", sa.String(length=200), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("batch_nos", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=18), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mah_uscc", "recall_no"),
    )
    op.create_index("ix_recall_notice_started", "recall_notice", ["started_at"])
    op.create_table(
        "recall_notice_batch",
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.Column("recall_no", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("mah_uscc", "batch_no", "recall_no"),
    )


def downgrade() -> None:
    op.drop_table("recall_notice_batch")
    op.drop_index("ix_recall_notice_started", table_name="recall_notice")
    op.drop_table("recall_notice")
