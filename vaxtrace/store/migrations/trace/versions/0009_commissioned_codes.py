"""commissioned codes: what each commission issued, and the digest its leaf carries

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only
from vaxtrace.store.columns import CodeText, Id
from vaxtrace.store.trace.schema import COMMISSIONED

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commissioned_code",
        sa.Column("event_id", Id, nullable=False),
        sa.Column("code_id", Id, nullable=False),
        sa.Column("code", CodeText, nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_id", Id, nullable=True),
        sa.PrimaryKeyConstraint("event_id", "code_id"),
    )
    op.create_table(
        "commission_digest",
        sa.Column("event_id", Id, autoincrement=False, nullable=False),
        sa.Column("codes", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    install_append_only(op.get_bind(), COMMISSIONED)


def downgrade() -> None:
    drop_append_only(op.get_bind(), COMMISSIONED)
    op.drop_table("commission_digest")
    op.drop_table("commissioned_code")
