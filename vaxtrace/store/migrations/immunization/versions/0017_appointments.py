"""public services: sites' opening hours, appointment slots and appointments (never over
capacity: a check constraint; one live booking per child and vaccine: a partial unique
index), guardians' accounts and sessions

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)
LIVE = sa.text("state <> 'cancelled'")


def upgrade() -> None:
    op.create_table(
        "site_hours",
        sa.Column("site_uscc", sa.String(length=18), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("week", sa.JSON(), nullable=False),
        sa.Column("closed", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(["site_uscc"], ["organisation.uscc"]),
        sa.PrimaryKeyConstraint("site_uscc"),
    )
    op.create_table(
        "appointment_slot",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("site_uscc", sa.String(length=18), nullable=False),
        sa.Column("vaccine", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", Moment, nullable=False),
        sa.Column("ends_at", Moment, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(["site_uscc"], ["organisation.uscc"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_uscc", "vaccine", "starts_at", name="uq_appointment_slot_start"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_appointment_slot_places"),
    )
    op.create_index("ix_appointment_slot_day", "appointment_slot", ["site_uscc", "day"])
    op.create_table(
        "guardian_account",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.Column("initial_expires_at", Moment, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", Moment, nullable=True),
        sa.Column("opened_by_site", sa.String(length=18), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", Moment, nullable=False),
        sa.Column("password_changed_at", Moment, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone"),
    )
    op.create_table(
        "guardian_session",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["guardian_account.id"]),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index("ix_guardian_session_account", "guardian_session", ["account_id"])
    op.create_table(
        "appointment",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("slot_id", Id, nullable=False),
        sa.Column("child_id", sa.String(length=19), nullable=False),
        sa.Column("vaccine", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("guardian_id", Id, nullable=True),
        sa.Column("booked_at", Moment, nullable=False),
        sa.Column("cancelled_at", Moment, nullable=True),
        sa.Column("replaced_by", Id, nullable=True),
        sa.Column("checked_in_at", Moment, nullable=True),
        sa.Column("checked_in_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["slot_id"], ["appointment_slot.id"]),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"]),
        sa.ForeignKeyConstraint(["guardian_id"], ["guardian_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appointment_slot", "appointment", ["slot_id"])
    op.create_index("ix_appointment_child", "appointment", ["child_id"])
    op.create_index(
        "uq_appointment_live",
        "appointment",
        ["child_id", "vaccine"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_appointment_live", table_name="appointment")
    op.drop_index("ix_appointment_child", table_name="appointment")
    op.drop_index("ix_appointment_slot", table_name="appointment")
    op.drop_table("appointment")
    op.drop_index("ix_guardian_session_account", table_name="guardian_session")
    op.drop_table("guardian_session")
    op.drop_table("guardian_account")
    op.drop_index("ix_appointment_slot_day", table_name="appointment_slot")
    op.drop_table("appointment_slot")
    op.drop_table("site_hours")
