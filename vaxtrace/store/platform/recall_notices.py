"""SQL of the public recall notices (召回公告) the platform keeps and its public entry serves:
one per MAH and recall number, the latest word winning, a closed one staying closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from vaxtrace.core.recalls import RecallNotice
from vaxtrace.core.times import as_utc
from vaxtrace.store.platform.schema import journal, recall_notice, recall_notice_batch


def keep_notice(conn: Connection, notice: RecallNotice, published_by: str, event_id: str) -> bool:
    """Keep a notice, or its closing; answers whether anything changed (a repeat, or an open
    notice after the closed one, changes nothing)."""
    n = recall_notice.c
    key = (n.mah_uscc == notice.mah_uscc) & (n.recall_no == notice.recall_no)
    state = conn.execute(select(n.state).where(key)).scalar()
    if state == "closed" or state == notice.state:
        return False
    closed_at = notice.closed_at
    row: dict[str, Any] = notice.model_dump(mode="python") | {
        # in UTC: SQLite keeps a time's digits, not its offset
        "started_at": as_utc(notice.started_at),
        "closed_at": None if closed_at is None else as_utc(closed_at),
        "batch_nos": list(notice.batch_nos),
        "level": int(notice.level),
        "published_by": published_by,
        "event_id": event_id,
        "updated_at": datetime.now(UTC),
    }
    if state is None:
        conn.execute(insert(recall_notice).values(row))
        conn.execute(
            insert(recall_notice_batch),
            [
                {"mah_uscc": notice.mah_uscc, "batch_no": b, "recall_no": notice.recall_no}
                for b in dict.fromkeys(notice.batch_nos)
            ],
        )
    else:
        conn.execute(update(recall_notice).where(key).values(row))
    journal.keep(conn, "recall_notice", row)
    return True


def notices(conn: Connection, *, state: str | None, limit: int) -> list[RowMapping]:
    """The notices, the latest started first (of one state, when given)."""
    n = recall_notice.c
    query = select(recall_notice).order_by(n.started_at.desc(), n.recall_no).limit(limit)
    if state is not None:
        query = query.where(n.state == state)
    return list(conn.execute(query).mappings())


def notices_by_batch(conn: Connection, limit: int) -> list[RowMapping]:
    """Each noticed batch with its notice (MAH, batch, recall number, level, state, start),
    the latest started first, at most ``limit`` rows."""
    n, b = recall_notice.c, recall_notice_batch.c
    query = (
        select(b.mah_uscc, b.batch_no, n.recall_no, n.level, n.state, n.started_at, n.closed_at)
        .join_from(
            recall_notice_batch,
            recall_notice,
            (n.mah_uscc == b.mah_uscc) & (n.recall_no == b.recall_no),
        )
        .order_by(n.started_at.desc())
        .limit(limit)
    )
    return list(conn.execute(query).mappings())
