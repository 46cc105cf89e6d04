"""findings: what the chain got wrong in a regulator's area (reports refused downstream)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finding",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("org_uscc", sa.String(length=18), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("bill_type", sa.String(length=3), nullable=True),
        sa.Column("document_no", sa.String(length=60), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_finding_division", "finding", ["division_code", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_finding_division", table_name="finding")
    op.drop_table("finding")
