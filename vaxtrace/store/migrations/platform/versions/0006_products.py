"""products: what MAHs' trace systems register at the platform

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 07:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("mah_uscc", "product_code"),
    )


def downgrade() -> None:
    op.drop_table("product")
