"""vaccination records (Art. 46 of the Vaccine Administration Law) and their undo, both
append-only

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only

HISTORY = ("vaccination_record", "vaccination_undo")

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Code = sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "vaccination_record",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("site_uscc", sa.String(length=18), nullable=False),
        sa.Column("document_no", sa.String(length=60), nullable=False),
        sa.Column("code", Code, nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=True),
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=True),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("vaccinated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vaccinator", sa.String(length=100), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=True),
        sa.Column("vaccinee_ref", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_uscc", "document_no"),
    )
    op.create_index(
        "ix_vaccination_record_vaccinee", "vaccination_record", ["site_uscc", "vaccinee_ref"]
    )
    op.create_table(
        "vaccination_undo",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("record_id", Id, nullable=False),
        sa.Column("document_no", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["vaccination_record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id"),
    )
    install_append_only(op.get_bind(), HISTORY)


def downgrade() -> None:
    drop_append_only(op.get_bind(), HISTORY)
    op.drop_table("vaccination_undo")
    op.drop_index("ix_vaccination_record_vaccinee", table_name="vaccination_record")
    op.drop_table("vaccination_record")
