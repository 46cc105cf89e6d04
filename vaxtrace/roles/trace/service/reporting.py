"""What a MAH's trace system reports for the supervision systems only (监管数据上报): its
production warehousing (101, per batch, on every code it moved) and its batches' quality
facts (901 self-inspection, 902 lot release). Posted to the platform in the step's own
transaction (a fact leaves exactly when its step commits); the platform copies each to the
supervision systems of the MAH's area. Locks and recalls already travel as safety signals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vaxtrace.core.supervision import LOT_RELEASE, PRODUCTION, SELF_INSPECTION, TraceFact
from vaxtrace.exchange.delivery import PLATFORM, Outbox
from vaxtrace.store.engine import Connection
from vaxtrace.store.trace.affected import affected_code_batches, contents_of_affected


def post_fact(conn: Connection, outbox: Outbox | None, mah_uscc: str, fact: TraceFact) -> None:
    """Queue ``fact`` for the platform (nothing when this node has no exchange)."""
    if outbox is None:
        return
    outbox.post(
        conn,
        PLATFORM,
        event_type="20",
        event_subtype=fact.bill_type,
        data_owner=mah_uscc,
        payload={"trace_fact": fact.model_dump(mode="json")},
    )


def report_production(
    conn: Connection,
    outbox: Outbox | None,
    mah_uscc: str,
    document_no: str,
    business_time: datetime,
    detail: Mapping[str, Any],
) -> None:
    """101 生产入库, once per batch the step's affected set holds (every code it moved,
    containers and what they hold): says which batch each code is of."""
    if outbox is None:
        return
    by_batch: dict[str, list[str]] = {}
    for code, batch_no in affected_code_batches(conn):
        by_batch.setdefault(batch_no, []).append(code)
    contents = contents_of_affected(conn)
    for batch_no, codes in sorted(by_batch.items()):
        packed = {c: tuple(contents[c]) for c in codes if c in contents}
        fact = TraceFact(
            bill_type=PRODUCTION,
            document_no=document_no,
            business_time=business_time,
            codes=tuple(codes),
            batch_nos=(batch_no,),
            detail=dict(detail),
            contents=packed or None,
        )
        post_fact(conn, outbox, mah_uscc, fact)


def report_batch_fact(
    conn: Connection,
    outbox: Outbox | None,
    mah_uscc: str,
    *,
    lot_release: bool,
    document_no: str,
    business_time: datetime,
    batch_no: str,
    detail: Mapping[str, Any],
) -> None:
    """901 自检 or 902 批签发 of one batch, with its report or certificate facts."""
    fact = TraceFact(
        bill_type=LOT_RELEASE if lot_release else SELF_INSPECTION,
        document_no=document_no,
        business_time=business_time,
        batch_nos=(batch_no,),
        detail=dict(detail),
    )
    post_fact(conn, outbox, mah_uscc, fact)
