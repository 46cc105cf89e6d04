"""expected codes: each announced note's codes, read once into the form a scan looks up; notes
found by number

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.core.receipt import consignment

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES = sa.table(
    "expected_receipt", sa.column("event_id", sa.String()), sa.column("note", sa.JSON())
)
CODES = sa.table(
    "expected_code",
    sa.column("note_event_id", sa.String()),
    sa.column("code", sa.String()),
    sa.column("parent_code", sa.String()),
    sa.column("doses", sa.Integer()),
    sa.column("position", sa.Integer()),
)


def upgrade() -> None:
    op.create_table(
        "expected_code",
        sa.Column("note_event_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=300), nullable=False),
        sa.Column("parent_code", sa.String(length=300), nullable=True),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["note_event_id"], ["expected_receipt.event_id"]),
        sa.PrimaryKeyConstraint("note_event_id", "code"),
    )
    with op.batch_alter_table("expected_receipt", schema=None) as batch_op:
        batch_op.create_index("ix_expected_receipt_note_no", ["note_no"], unique=False)
    _read_announced_notes(op.get_bind())


def _read_announced_notes(conn: sa.Connection) -> None:
    """The notes announced before this revision, read as announce now reads a new one (one
    note in memory at a time)."""
    for event_id in conn.execute(sa.select(NOTES.c.event_id)).scalars().all():
        note = conn.execute(
            sa.select(NOTES.c.note).where(NOTES.c.event_id == event_id)
        ).scalar_one()
        goods = consignment(note.get("codes") or [], note.get("contents"))
        rows = [
            {
                "note_event_id": event_id,
                "code": c.code,
                "parent_code": c.parent_code,
                "doses": c.doses,
                "position": c.position,
            }
            for c in goods.expected_codes()
        ]
        if rows:
            conn.execute(sa.insert(CODES), rows)


def downgrade() -> None:
    with op.batch_alter_table("expected_receipt", schema=None) as batch_op:
        batch_op.drop_index("ix_expected_receipt_note_no")
    op.drop_table("expected_code")
