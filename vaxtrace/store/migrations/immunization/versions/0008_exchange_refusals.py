"""exchange refusals: reports refused downstream, kept as alerts for the unit that did them

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refusal_alert",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_uscc", sa.String(length=18), nullable=False),
        sa.Column("refused_event_id", sa.String(length=36), nullable=False),
        sa.Column("origin_event_id", sa.String(length=36), nullable=False),
        sa.Column("receiver", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("bill_type", sa.String(length=3), nullable=True),
        sa.Column("document_no", sa.String(length=60), nullable=True),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledgement", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_refusal_alert_org", "refusal_alert", ["org_uscc", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_refusal_alert_org", table_name="refusal_alert")
    op.drop_table("refusal_alert")
