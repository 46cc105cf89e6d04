"""basic data: a copy of the platform's registry; the feed is pulled again from the start to fill it

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 07:50:00
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
        "basic_data",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    op.execute("DELETE FROM registry_sync")


def downgrade() -> None:
    op.drop_table("basic_data")
