"""stock views: the expiry job's runs and the batches each found newly expired (append-only)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only

HISTORY = ("expiry_run", "expired_batch")

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "expiry_run",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "expired_batch",
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["expiry_run.id"]),
        sa.PrimaryKeyConstraint("mah_uscc", "batch_no"),
    )
    op.create_index("ix_expired_batch_run", "expired_batch", ["run_id"], unique=False)
    install_append_only(op.get_bind(), HISTORY)


def downgrade() -> None:
    drop_append_only(op.get_bind(), HISTORY)
    op.drop_index("ix_expired_batch_run", table_name="expired_batch")
    op.drop_table("expired_batch")
    op.drop_table("expiry_run")
