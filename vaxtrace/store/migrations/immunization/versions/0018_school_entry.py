"""school entry: a roster's checks (入学入托查验) and their rows

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CheckId = sa.String(length=20)
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "school_entry_check",
        sa.Column("id", CheckId, nullable=False),
        sa.Column("org_uscc", sa.String(length=18), nullable=False),
        sa.Column("school_name", sa.String(length=100), nullable=False),
        sa.Column("school_division", sa.String(length=6), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("results_sha256", sa.String(length=64), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=False),
        sa.Column("checked_at", Moment, nullable=False),
        sa.Column("assessed_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_uscc", "school_division", "school_name", "file_sha256"),
    )
    op.create_index("ix_school_entry_check_division", "school_entry_check", ["school_division"])
    op.create_table(
        "school_entry_row",
        sa.Column("check_id", CheckId, nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("roster", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("child_id", sa.String(length=19), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["check_id"], ["school_entry_check.id"]),
        sa.PrimaryKeyConstraint("check_id", "row_no"),
    )


def downgrade() -> None:
    op.drop_table("school_entry_row")
    op.drop_index("ix_school_entry_check_division", table_name="school_entry_check")
    op.drop_table("school_entry_check")
