"""A batch's quality records: the MAH's 自检 self-inspection and the 批签发 lot release with
its certificate file."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from vaxtrace.core.signals import CertificateFile
from vaxtrace.store.trace.events import add_event_record
from vaxtrace.store.trace.schema import batch, lot_release, self_inspection


def inspected(conn: Connection, batch_id: int, *, passed: bool = False) -> bool:
    """Whether the batch has a self-inspection (with ``passed``: a passing one)."""
    query = select(self_inspection.c.id).where(self_inspection.c.batch_id == batch_id)
    if passed:
        query = query.where(self_inspection.c.conclusion == "pass")
    return conn.execute(query).first() is not None


def add_self_inspection(
    conn: Connection, batch_id: int, event_id: int, payload: Mapping[str, Any]
) -> None:
    """Record a batch's self-inspection from its event's payload."""
    add_event_record(
        conn, self_inspection, event_id, payload, ("report_no", "conclusion"), batch_id=batch_id
    )


def released(conn: Connection, batch_id: int) -> bool:
    """Whether the batch has a lot release (of any conclusion)."""
    query = select(lot_release.c.id).where(lot_release.c.batch_id == batch_id)
    return conn.execute(query).first() is not None


def add_lot_release(
    conn: Connection,
    batch_id: int,
    event_id: int,
    payload: Mapping[str, Any],
    release_date: date,
    certificate: CertificateFile,
) -> None:
    """Record a batch's lot release from its event's payload, with the certificate file."""
    add_event_record(
        conn,
        lot_release,
        event_id,
        payload,
        ("certificate_no", "conclusion", "authority", "quantity", "certificate_sha256"),
        batch_id=batch_id,
        release_date=release_date,
        certificate_media_type=certificate.media_type,
        certificate_file=certificate.content,
    )


def release_of(conn: Connection, batch_id: int) -> RowMapping | None:
    """What the public sees of a batch's lot release: (certificate_no, release_date,
    authority); None when it has none."""
    query = select(
        lot_release.c.certificate_no,
        lot_release.c.release_date,
        lot_release.c.authority,
    ).where(lot_release.c.batch_id == batch_id)
    return conn.execute(query).mappings().first()


def lot_release_file(conn: Connection, mah_uscc: str, batch_no: str) -> RowMapping | None:
    """The lot release certificate (批签发证明) of a MAH's batch as filed: (certificate_no,
    certificate_sha256, certificate_media_type, certificate_file); None when none is."""
    query = (
        select(
            lot_release.c.certificate_no,
            lot_release.c.certificate_sha256,
            lot_release.c.certificate_media_type,
            lot_release.c.certificate_file,
        )
        .join(batch, batch.c.id == lot_release.c.batch_id)
        .where(batch.c.mah_uscc == mah_uscc, batch.c.batch_no == batch_no)
    )
    return conn.execute(query).mappings().first()
