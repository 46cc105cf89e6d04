"""code steps: one row per code of each step, the batches of whole-batch steps, the batch of
each code; steps name their batches and the rest of their document

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("supervised_step") as batch:
        batch.add_column(sa.Column("mah_uscc", sa.String(length=18), nullable=True))
        batch.add_column(sa.Column("batch_nos", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
    op.create_table(
        "supervised_code_step",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("step_id", _ID, nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("bill_type", sa.String(length=3), nullable=False),
        sa.Column("org_uscc", sa.String(length=18), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("document_no", sa.String(length=60), nullable=False),
        sa.Column("business_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["step_id"], ["supervised_step.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_supervised_code_step_code", "supervised_code_step", ["code", "business_time", "id"]
    )
    op.create_index(
        "ix_supervised_code_step_division",
        "supervised_code_step",
        ["division_code", "business_time"],
    )
    op.create_index("ix_supervised_code_step_step", "supervised_code_step", ["step_id"])
    op.create_table(
        "supervised_code_parent",
        sa.Column("parent", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("parent", "code"),
    )
    op.create_table(
        "supervised_step_batch",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("step_id", _ID, nullable=False),
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["step_id"], ["supervised_step.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_supervised_step_batch", "supervised_step_batch", ["mah_uscc", "batch_no", "step_id"]
    )
    op.create_table(
        "supervised_code_batch",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("mah_uscc", sa.String(length=18), nullable=False),
        sa.Column("batch_no", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(
        "ix_supervised_code_batch_batch", "supervised_code_batch", ["mah_uscc", "batch_no"]
    )
    # the steps kept before: every code its row, in one statement
    elements = {
        "sqlite": "json_each(s.codes) j",
        "postgresql": "json_array_elements_text(s.codes) AS j(value)",
    }[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO supervised_code_step "
        "(step_id, code, bill_type, org_uscc, division_code, document_no, business_time) "
        "SELECT s.id, j.value, s.bill_type, s.org_uscc, s.division_code, s.document_no, "
        f"s.business_time FROM supervised_step s, {elements}"
    )


def downgrade() -> None:
    op.drop_index("ix_supervised_code_batch_batch", table_name="supervised_code_batch")
    op.drop_table("supervised_code_batch")
    op.drop_table("supervised_code_parent")
    op.drop_index("ix_supervised_step_batch", table_name="supervised_step_batch")
    op.drop_table("supervised_step_batch")
    op.drop_index("ix_supervised_code_step_step", table_name="supervised_code_step")
    op.drop_index("ix_supervised_code_step_division", table_name="supervised_code_step")
    op.drop_index("ix_supervised_code_step_code", table_name="supervised_code_step")
    op.drop_table("supervised_code_step")
    with op.batch_alter_table("supervised_step") as batch:
        batch.drop_column("detail")
        batch.drop_column("batch_nos")
        batch.drop_column("mah_uscc")
