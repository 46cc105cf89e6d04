"""due lists and reminders: each child's forecast next doses (child_forecast), the reminders
claimed and sent (reminder) and the guardians who opted out (reminder_opt_out)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ChildId = sa.String(length=19)
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "child_forecast",
        sa.Column("child_id", ChildId, nullable=False),
        sa.Column("vaccine", sa.String(length=20), nullable=False),
        sa.Column("dose", sa.Integer(), nullable=False),
        sa.Column("site_uscc", sa.String(length=18), nullable=False),
        sa.Column("earliest", sa.Date(), nullable=False),
        sa.Column("recommended", sa.Date(), nullable=False),
        sa.Column("overdue", sa.Date(), nullable=True),
        sa.Column("latest", sa.Date(), nullable=True),
        sa.Column("edition", sa.String(length=40), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"]),
        sa.PrimaryKeyConstraint("child_id", "vaccine"),
    )
    op.create_index(
        "ix_child_forecast_site",
        "child_forecast",
        ["site_uscc", "recommended", "child_id", "vaccine"],
    )
    op.create_table(
        "reminder",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("child_id", ChildId, nullable=False),
        sa.Column("vaccine", sa.String(length=20), nullable=False),
        sa.Column("dose", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("contact_sha256", sa.String(length=64), nullable=False),
        sa.Column("site_uscc", sa.String(length=18), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", Moment, nullable=False),
        sa.Column("sent_at", Moment, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("child_id", "vaccine", "dose", "channel", "contact_sha256"),
    )
    op.create_index("ix_reminder_token", "reminder", ["token_sha256"])
    op.create_index("ix_reminder_state", "reminder", ["state"])
    op.create_table(
        "reminder_opt_out",
        sa.Column("contact_sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("contact_sha256"),
    )


def downgrade() -> None:
    op.drop_table("reminder_opt_out")
    op.drop_index("ix_reminder_state", table_name="reminder")
    op.drop_index("ix_reminder_token", table_name="reminder")
    op.drop_table("reminder")
    op.drop_index("ix_child_forecast_site", table_name="child_forecast")
    op.drop_table("child_forecast")
