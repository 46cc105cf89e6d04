"""log: the platform node's journal and its tamper-evident log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 17:00:00
"""

from collections.abc import Sequence

from vaxtrace.store.migrations.log_tables import create_log_tables, drop_log_tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_log_tables()


def downgrade() -> None:
    drop_log_tables()
