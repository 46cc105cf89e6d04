"""safety signals and the dose gate: batches the province holds or expects (master data, lot
release, locks, recalls), each code's batch and the status its MAH set, the signals received
and every gate decision (both append-only)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only

HISTORY = ("safety_signal", "dose_check")

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch",
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=True),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("lot_release_no", sa.String(length=200), nullable=True),
        sa.Column("lot_release_authority", sa.String(length=200), nullable=True),
        sa.Column("lot_release_date", sa.Date(), nullable=True),
        sa.Column("lot_release_sha256", sa.String(length=64), nullable=True),
        sa.Column("lock_kind", sa.String(length=20), nullable=True),
        sa.Column("lock_reason", sa.String(length=2000), nullable=True),
        sa.Column("recall_no", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mah_uscc", "batch_no"),
    )
    op.create_table(
        "safety_signal",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("document_no", sa.String(length=60), nullable=False),
        sa.Column("business_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signal", sa.JSON(), nullable=False),
        sa.Column("codes_affected", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "dose_check",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_uscc", sa.String(length=18), nullable=False),
        sa.Column("code", sa.String(length=300), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dose_check_org", "dose_check", ["org_uscc", "checked_at"])
    with op.batch_alter_table("stock") as table:
        table.add_column(sa.Column("batch_no", sa.String(length=20), nullable=True))
        table.add_column(sa.Column("mah_status", sa.String(length=20), nullable=True))
        table.create_index("ix_stock_batch", ["mah_uscc", "batch_no"])
    install_append_only(op.get_bind(), HISTORY)


def downgrade() -> None:
    drop_append_only(op.get_bind(), HISTORY)
    with op.batch_alter_table("stock") as table:
        table.drop_index("ix_stock_batch")
        table.drop_column("mah_status")
        table.drop_column("batch_no")
    op.drop_index("ix_dose_check_org", table_name="dose_check")
    op.drop_table("dose_check")
    op.drop_table("safety_signal")
    op.drop_table("batch")
