"""cold chain: temperature records and readings, excursions and the codes they hold; records,
readings and held codes are append-only

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only

HISTORY = ("temperature_record", "temperature_reading", "excursion_code")

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CODE = sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "temperature_record",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("unit_uscc", sa.String(length=18), nullable=False),
        sa.Column("client_document_id", sa.String(length=64), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("document_no", sa.String(length=60), nullable=True),
        sa.Column("equipment_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("rule_set", sa.String(length=80), nullable=False),
        sa.Column("related_document_no", sa.String(length=60), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("first_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("min_celsius", sa.Float(), nullable=False),
        sa.Column("max_celsius", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_uscc", "client_document_id"),
    )
    with op.batch_alter_table("temperature_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_temperature_record_equipment",
            ["unit_uscc", "equipment_id", "first_time"],
            unique=False,
        )
    op.create_table(
        "temperature_reading",
        sa.Column("unit_uscc", sa.String(length=18), nullable=False),
        sa.Column("equipment_id", sa.String(length=200), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("celsius", sa.Float(), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["temperature_record.id"]),
        sa.PrimaryKeyConstraint("unit_uscc", "equipment_id", "time"),
    )
    op.create_table(
        "excursion",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("unit_uscc", sa.String(length=18), nullable=False),
        sa.Column("equipment_id", sa.String(length=200), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("rule_set", sa.String(length=80), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("rule_kind", sa.String(length=12), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("min_celsius", sa.Float(), nullable=False),
        sa.Column("max_celsius", sa.Float(), nullable=False),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_reason", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["temperature_record.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("excursion", schema=None) as batch_op:
        batch_op.create_index(
            "ix_excursion_rule",
            ["unit_uscc", "equipment_id", "rule_id", "start_time"],
            unique=False,
        )
        batch_op.create_index("ix_excursion_unit", ["unit_uscc", "state"], unique=False)
    op.create_table(
        "excursion_code",
        sa.Column("excursion_id", ID, nullable=False),
        sa.Column("code", CODE, nullable=False),
        sa.ForeignKeyConstraint(["excursion_id"], ["excursion.id"]),
        sa.PrimaryKeyConstraint("excursion_id", "code"),
    )
    with op.batch_alter_table("excursion_code", schema=None) as batch_op:
        batch_op.create_index("ix_excursion_code_code", ["code"], unique=False)
    install_append_only(op.get_bind(), HISTORY)


def downgrade() -> None:
    drop_append_only(op.get_bind(), HISTORY)
    with op.batch_alter_table("excursion_code", schema=None) as batch_op:
        batch_op.drop_index("ix_excursion_code_code")
    op.drop_table("excursion_code")
    with op.batch_alter_table("excursion", schema=None) as batch_op:
        batch_op.drop_index("ix_excursion_unit")
        batch_op.drop_index("ix_excursion_rule")
    op.drop_table("excursion")
    op.drop_table("temperature_reading")
    with op.batch_alter_table("temperature_record", schema=None) as batch_op:
        batch_op.drop_index("ix_temperature_record_equipment")
    op.drop_table("temperature_record")
