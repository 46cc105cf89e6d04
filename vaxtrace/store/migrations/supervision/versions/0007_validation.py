"""validation: steps keep their counterparty, cited source and reporting time; batches' master
data; the validation rules' findings and runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("supervised_step") as batch:
        batch.add_column(sa.Column("counterparty_uscc", sa.String(length=18), nullable=True))
        batch.add_column(sa.Column("source_document_no", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_supervised_step_source", "supervised_step", ["source_document_no"])
    op.create_index("ix_supervised_step_document", "supervised_step", ["document_no"])
    with op.batch_alter_table("supervised_code_step") as batch:
        batch.add_column(sa.Column("counterparty_uscc", sa.String(length=18), nullable=True))
        batch.add_column(sa.Column("source_document_no", sa.String(length=60), nullable=True))
    # the rules ask for a code's steps of one kind by one unit: answered from the index alone
    op.create_index(
        "ix_supervised_code_step_kind",
        "supervised_code_step",
        ["code", "bill_type", "org_uscc", "business_time"],
    )
    op.create_table(
        "supervised_batch",
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("certificate_no", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mah_uscc", "batch_no"),
    )
    op.create_table(
        "rule_finding",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("owing_uscc", sa.String(length=18), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "subject_kind", "subject", name="uq_rule_finding"),
    )
    op.create_index("ix_rule_finding_division", "rule_finding", ["division_code", "id"])
    op.create_table(
        "validation_run",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("after_step_id", _ID, nullable=False),
        sa.Column("through_step_id", _ID, nullable=False),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("validation_run")
    op.drop_index("ix_rule_finding_division", table_name="rule_finding")
    op.drop_table("rule_finding")
    op.drop_table("supervised_batch")
    op.drop_index("ix_supervised_code_step_kind", table_name="supervised_code_step")
    with op.batch_alter_table("supervised_code_step") as batch:
        batch.drop_column("source_document_no")
        batch.drop_column("counterparty_uscc")
    op.drop_index("ix_supervised_step_document", table_name="supervised_step")
    op.drop_index("ix_supervised_step_source", table_name="supervised_step")
    with op.batch_alter_table("supervised_step") as batch:
        batch.drop_column("reported_at")
        batch.drop_column("source_document_no")
        batch.drop_column("counterparty_uscc")
