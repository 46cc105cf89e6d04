"""exchange alerts: data taken but not routable

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:20:00
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
        "exchange_alert",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("sender", sa.String(length=60), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exchange_alert", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_alert_raised", ["raised_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_alert_raised")
    op.drop_table("exchange_alert")
