"""exchange slots: one message per (receiver, sequence) and per (sender, sequence)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 02:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.create_index("ux_exchange_outbox_slot", ["receiver", "sequence"], unique=True)
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.create_index("ux_exchange_inbox_slot", ["sender", "sequence"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.drop_index("ux_exchange_inbox_slot")
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.drop_index("ux_exchange_outbox_slot")
