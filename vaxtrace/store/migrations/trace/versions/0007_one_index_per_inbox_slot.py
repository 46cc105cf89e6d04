"""one index per inbox slot: ix_exchange_inbox_sender repeated ux_exchange_inbox_slot's columns

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:46:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_inbox_sender")


def downgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_inbox_sender", ["sender", "sequence"], unique=False)
