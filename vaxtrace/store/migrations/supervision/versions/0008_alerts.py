"""alerts: one per finding, their history, the people of each division told of them, and
the notices sent

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("owing_uscc", sa.String(length=18), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("tier_division", sa.String(length=6), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("opened_at", _WHEN, nullable=False),
        sa.Column("occurred_at", _WHEN, nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=18), nullable=True),
        sa.Column("acknowledged_at", _WHEN, nullable=True),
        sa.Column("acknowledgement", sa.String(length=500), nullable=True),
        sa.Column("resolved_by", sa.String(length=18), nullable=True),
        sa.Column("resolved_at", _WHEN, nullable=True),
        sa.Column("resolved_reason", sa.String(length=500), nullable=True),
        sa.Column("escalated_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "subject_kind", "subject", name="uq_alert_finding"),
    )
    op.create_index("ix_alert_division", "alert", ["division_code", "id"])
    op.create_index("ix_alert_tier", "alert", ["tier_division", "id"])
    op.create_index("ix_alert_state", "alert", ["state", "severity"])
    op.create_table(
        "alert_event",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("tier_division", sa.String(length=6), nullable=False),
        sa.Column("why", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_event_alert", "alert_event", ["alert_id", "id"])
    op.create_table(
        "alert_contact",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("added_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("division_code", "channel", "address", name="uq_alert_contact"),
    )
    op.create_table(
        "alert_notice",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("tier_division", sa.String(length=6), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("queued_at", _WHEN, nullable=False),
        sa.Column("claimed_at", _WHEN, nullable=True),
        sa.Column("sent_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "alert_id", "tier_division", "channel", "address", name="uq_alert_notice"
        ),
    )
    op.create_index("ix_alert_notice_state", "alert_notice", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_alert_notice_state", table_name="alert_notice")
    op.drop_table("alert_notice")
    op.drop_table("alert_contact")
    op.drop_index("ix_alert_event_alert", table_name="alert_event")
    op.drop_table("alert_event")
    op.drop_index("ix_alert_state", table_name="alert")
    op.drop_index("ix_alert_tier", table_name="alert")
    op.drop_index("ix_alert_division", table_name="alert")
    op.drop_table("alert")
