"""recipients: children (受种者), their guardians' phones, moves (append-only) and merges
(append-only); vaccination records found by their vaccinee reference

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only

HISTORY = ("child_move", "child_merge")

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ChildId = sa.String(length=19)
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "child",
        sa.Column("id", ChildId, nullable=False),
        sa.Column("site_uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_division", sa.String(length=6), nullable=False),
        sa.Column("card_no", sa.String(length=30), nullable=False),
        sa.Column("resident_id", sa.String(length=18), nullable=True),
        sa.Column("guardians", sa.JSON(), nullable=False),
        sa.Column("personal_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("merged_into", ChildId, nullable=True),
        sa.Column("duplicates_acknowledged", sa.JSON(), nullable=True),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("card_no"),
    )
    op.create_index("ix_child_site", "child", ["site_uscc", "state"])
    op.create_index("ix_child_name_key", "child", ["name_key"])
    op.create_index("ix_child_birth_date", "child", ["birth_date"])
    op.create_index("ix_child_resident_id", "child", ["resident_id"])
    op.create_table(
        "child_phone",
        sa.Column("child_id", ChildId, nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"]),
        sa.PrimaryKeyConstraint("child_id", "phone"),
    )
    op.create_index("ix_child_phone_phone", "child_phone", ["phone"])
    op.create_table(
        "child_move",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("child_id", ChildId, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_site_uscc", sa.String(length=18), nullable=False),
        sa.Column("to_site_uscc", sa.String(length=18), nullable=True),
        sa.Column("to_province", sa.String(length=6), nullable=True),
        sa.Column("consent", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("export_sha256", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_child_move_child", "child_move", ["child_id"])
    op.create_table(
        "child_merge",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kept_id", ChildId, nullable=False),
        sa.Column("merged_id", ChildId, nullable=False),
        sa.Column("site_uscc", sa.String(length=18), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(["kept_id"], ["child.id"]),
        sa.ForeignKeyConstraint(["merged_id"], ["child.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("merged_id"),
    )
    op.create_index("ix_child_merge_kept", "child_merge", ["kept_id"])
    op.create_index("ix_vaccination_record_ref", "vaccination_record", ["vaccinee_ref"])
    install_append_only(op.get_bind(), HISTORY)


def downgrade() -> None:
    drop_append_only(op.get_bind(), HISTORY)
    op.drop_index("ix_vaccination_record_ref", table_name="vaccination_record")
    op.drop_index("ix_child_merge_kept", table_name="child_merge")
    op.drop_table("child_merge")
    op.drop_index("ix_child_move_child", table_name="child_move")
    op.drop_table("child_move")
    op.drop_index("ix_child_phone_phone", table_name="child_phone")
    op.drop_table("child_phone")
    op.drop_index("ix_child_resident_id", table_name="child")
    op.drop_index("ix_child_birth_date", table_name="child")
    op.drop_index("ix_child_name_key", table_name="child")
    op.drop_index("ix_child_site", table_name="child")
    op.drop_table("child")
