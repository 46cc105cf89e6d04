"""A batch's quality records: the MAH's 自检 self-inspection and the 批签发 lot release with
its certificate file."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, RowMapping, insert, select

from vaxtrace.store.trace.schema import batch, lot_release, self_inspection


def inspected(conn: Connection, batch_id: int, *, passed: bool = False) -> bool:
    """Whether the batch has a self-inspection (with ``passed``: a passing one)."""
    query = select(self_inspection.c.id).where(self_inspection.c.batch_id == batch_id)
    if passed:
        query = query.where(self_inspection.c.conclusion == "pass")
    return conn.execute(query).first() is not None


def add_self_inspection(
    conn: Connection, batch_id: int, event_id: int, report_no: str, conclusion: str
) -> None:
    conn.execute(
        insert(self_inspection).values(
            batch_id=batch_id,
            event_id=event_id,
            report_no=report_no,
            conclusion=conclusion,
        )
    )


def released(conn: Connection, batch_id: int) -> bool:
    """Whether the batch has a lot release (of any conclusion)."""
    query = select(lot_release.c.id).where(lot_release.c.batch_id == batch_id)
    return conn.execute(query).first() is not None


def add_lot_release(
    conn: Connection,
    *,
    batch_id: int,
    event_id: int,
    certificate_no: str,
    release_date: date,
    conclusion: str,
    authority: str,
    quantity: int,
    certificate_sha256: str,
    certificate_media_type: str,
    certificate_file: bytes,
) -> None:
    conn.execute(
        insert(lot_release).values(
            batch_id=batch_id,
            event_id=event_id,
            certificate_no=certificate_no,
            release_date=release_date,
            conclusion=conclusion,
            authority=authority,
            quantity=quantity,
            certificate_sha256=certificate_sha256,
            certificate_media_type=certificate_media_type,
            certificate_file=certificate_file,
        )
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
