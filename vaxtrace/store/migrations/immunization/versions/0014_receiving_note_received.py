"""receiving note received: the codes each confirmation received, so a later confirmation of
the same note knows what came before however the goods moved on since (and the stock is no
longer looked up by receiving note)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("receiving_note", sa.Column("received", sa.JSON(), nullable=True))
    op.drop_index("ix_stock_receipt", table_name="stock")  # nothing looks the stock up so now


def downgrade() -> None:
    op.create_index("ix_stock_receipt", "stock", ["receipt_id"])
    with op.batch_alter_table("receiving_note") as batch_op:
        batch_op.drop_column("received")
