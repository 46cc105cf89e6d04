"""log: the immunization node's journal and its tamper-evident log

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 17:00:00
"""

from collections.abc import Sequence

from vaxtrace.store.migrations.log_tables import create_log_tables, drop_log_tables

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_log_tables()


def downgrade() -> None:
    drop_log_tables()
