"""regulator locks: a regulator's lock orders on batches or codes, with reason, evidence and
how each was resolved

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "regulator_lock",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("document_no", sa.String(length=60), nullable=False),
        sa.Column("regulator_uscc", sa.String(length=18), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_nos", sa.JSON(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=True),
        sa.Column("lock_kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("signal", sa.JSON(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.Column("refusal", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_no"),
    )
    op.create_index(
        "ix_regulator_lock_division", "regulator_lock", ["division_code", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_regulator_lock_division", table_name="regulator_lock")
    op.drop_table("regulator_lock")
