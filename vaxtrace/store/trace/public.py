"""The public view of a code (消费者查询) in one read: the code, its batch and product, the
MAH's name and the batch's lot release, as the trace node answers a parent's scan many times a
second (through a held connection, :mod:`vaxtrace.store.held_reads`)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from vaxtrace.store.held_reads import HeldReads

PUBLIC_VIEW = text(
    "SELECT c.code, c.status, b.batch_no, b.expiry_date, p.data AS product_data, "
    "o.name AS mah, r.id AS release_id, r.certificate_no, r.release_date, r.authority "
    "FROM trace_code c "
    "JOIN batch b ON b.id = c.batch_id "
    "JOIN product p ON p.id = c.product_id "
    "LEFT JOIN organisation o ON o.uscc = p.mah_uscc "
    "LEFT JOIN lot_release r ON r.batch_id = c.batch_id "
    "WHERE c.code = :code"
)
"""What :func:`vaxtrace.store.trace.codes.code_detail`, ``quality.release_of`` and
``registry.organisation_name`` read of a code for its public view, in one statement."""


def public_view_row(reads: HeldReads, code: str) -> dict[str, Any] | None:
    """The public view's facts of a commissioned ``code`` (canonical); None if it is not one.
    ``product_data`` as a mapping; dates as the database gives them."""
    row = reads.first(PUBLIC_VIEW, code=code)
    if row is not None and isinstance(row["product_data"], str | bytes):
        row["product_data"] = json.loads(row["product_data"])
    return row
