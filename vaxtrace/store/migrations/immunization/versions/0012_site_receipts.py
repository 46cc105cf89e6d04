"""site receipts: a CDC's distribution is an expected receipt of its receiver, confirmed in parts

``expected_receipt`` and ``receiving_note`` name the shipper (``shipper_uscc``: a MAH, or a CDC
that distributed), ``expected_receipt`` has a ``kind`` and the ``state`` of its receipt, a note
may be confirmed more than once (the unique constraint on ``receiving_note.note_event_id``
goes), each expected code names its batch's MAH, and the stock is found by the receiving
note it came with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from vaxtrace.store.append_only import drop_append_only, install_append_only

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
"""Names SQLite's unnamed constraints get when a batch operation reflects them."""


def _unique_name(bind: sa.Connection) -> str:
    if bind.dialect.name == "sqlite":
        return "uq_receiving_note_note_event_id"
    return "receiving_note_note_event_id_key"


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("expected_receipt") as batch_op:
        batch_op.alter_column("mah_uscc", new_column_name="shipper_uscc")
        batch_op.add_column(
            sa.Column("kind", sa.String(20), nullable=False, server_default="shipping_note")
        )
        batch_op.add_column(
            sa.Column("state", sa.String(10), nullable=False, server_default="open")
        )
    op.execute(
        "UPDATE expected_receipt SET state = 'received' WHERE event_id IN "
        "(SELECT note_event_id FROM receiving_note)"
    )
    with op.batch_alter_table("expected_code") as batch_op:
        batch_op.add_column(sa.Column("mah_uscc", sa.String(18), nullable=True))
    op.execute(
        "UPDATE expected_code SET mah_uscc = (SELECT r.shipper_uscc FROM expected_receipt r "
        "WHERE r.event_id = expected_code.note_event_id)"
    )
    drop_append_only(bind, ["receiving_note"])
    with op.batch_alter_table("receiving_note", naming_convention=NAMES) as batch_op:
        batch_op.drop_constraint(_unique_name(bind), type_="unique")
        batch_op.alter_column("mah_uscc", new_column_name="shipper_uscc")
        batch_op.create_index("ix_receiving_note_note", ["note_event_id"])
    install_append_only(bind, ["receiving_note"])
    op.create_index("ix_stock_receipt", "stock", ["receipt_id"])


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("ix_stock_receipt", table_name="stock")
    drop_append_only(bind, ["receiving_note"])
    with op.batch_alter_table("receiving_note", naming_convention=NAMES) as batch_op:
        batch_op.drop_index("ix_receiving_note_note")
        batch_op.alter_column("shipper_uscc", new_column_name="mah_uscc")
        batch_op.create_unique_constraint(_unique_name(bind), ["note_event_id"])
    install_append_only(bind, ["receiving_note"])
    with op.batch_alter_table("expected_code") as batch_op:
        batch_op.drop_column("mah_uscc")
    with op.batch_alter_table("expected_receipt") as batch_op:
        batch_op.drop_column("state")
        batch_op.drop_column("kind")
        batch_op.alter_column("shipper_uscc", new_column_name="mah_uscc")
