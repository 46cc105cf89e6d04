"""batch routes: which immunization systems the platform sent goods of each batch to

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_route",
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.Column("system_id", sa.String(length=60), nullable=False),
        sa.Column("consignee_uscc", sa.String(length=18), nullable=False),
        sa.PrimaryKeyConstraint("mah_uscc", "batch_no", "system_id", "consignee_uscc"),
    )


def downgrade() -> None:
    op.drop_table("batch_route")
