"""Flows and statistics (流向与统计) as a regulator sees them, shaped for charts: one batch's
flow from production to every holder (a Sankey diagram's nodes and links, what each holder
has now, the movements per day or month) and counts of doses by division, product, MAH or
month. A regulator sees only what was done inside its division: the national node answers a
provincial regulator with its province's part of a batch, never counts from elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vaxtrace.core.errors import DomainError
from vaxtrace.core.flows import (
    MEASURES,
    RETURNED,
    SINK_NAMES,
    Flow,
    GroupBy,
    Level,
    Moved,
    Period,
    Sink,
    flow,
)
from vaxtrace.core.reasons import Reason
from vaxtrace.core.supervision import area_prefix
from vaxtrace.core.times import as_stored, as_utc
from vaxtrace.roles.supervision.service.regulators import division
from vaxtrace.store.engine import Engine, RowMapping, read_tx
from vaxtrace.store.supervision import flows as store

UNKNOWN = "(unknown)"
"""The label of the group of doses whose batch or product the node was not told."""

STATISTICS = ("produced", "shipped", "received", "used", Sink.RETURNED, "lost", "in_stock")
"""What ``statistics`` counts per group, in the order of its series."""


def batch_flow(
    engine: Engine, actor: str, mah_uscc: str, batch_no: str, *, period: Period = "day"
) -> dict[str, Any]:
    """The flow of one batch's doses inside the actor's division: a Sankey-ready node and
    link list (node names unique, links name their nodes, no cycles: what goes back up the
    chain ends in a ``returned:<uscc>`` node of its receiver), each holder's doses now and its
    movements per period (``[period, count]`` where non-zero), and the totals per period
    (one value per ``periods`` entry). Not found unless a movement of the batch
    was done inside the division."""
    with read_tx(engine) as conn:
        area = division(conn, actor)
        batch = store.batch_known(conn, mah_uscc, batch_no)
        rows = (
            []
            if batch is None
            else store.batch_moves(conn, mah_uscc, batch_no, area_prefix(area), period)
        )
        if batch is None or not rows:
            raise DomainError(
                Reason.UNKNOWN_BATCH,
                f"no movement of batch {batch_no} of {mah_uscc} in division {area}",
                field="batch_no",
            )
        picture = flow(_moved(r) for r in rows)
        orgs = store.organisations(conn, picture.holders)
    nodes = _nodes(picture, orgs)
    name = {n["id"]: n["name"] for n in nodes}
    return {
        "batch": _batch(batch),
        "division_code": area,
        "period": period,
        "nodes": nodes,
        "links": [
            {
                "source": name[link.source],
                "target": name[link.target],
                "value": link.value,
                "source_id": link.source,
                "target_id": link.target,
            }
            for link in picture.links
        ],
        "holders": [_holder(picture, uscc, name[uscc]) for uscc in picture.holders],
        "periods": picture.periods,
        "series": [{"name": m, "data": picture.totals[m]} for m in MEASURES],
    }


def _moved(row: RowMapping) -> Moved:
    return Moved(
        bill_type=row["bill_type"],
        org_uscc=row["org_uscc"],
        counterparty_uscc=row["counterparty_uscc"],
        period=str(row["period"]),
        moved=int(row["moved"]),
        now=int(row["now"]),
    )


def _batch(row: RowMapping) -> dict[str, Any]:
    batch = {"mah_uscc": row["mah_uscc"], "batch_no": row["batch_no"]}
    for key in ("product_code", "expiry_date", "production_date", "certificate_no"):
        value: Any = row.get(key)
        batch[key] = value if value is None or isinstance(value, str) else value.isoformat()
    return batch


def _nodes(picture: Flow, orgs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Holders (named as the registry names them, else by USCC), then the sinks; a name two
    holders share gets the USCC added, so every node's name is its own."""
    names = [str((orgs.get(uscc) or {}).get("name") or uscc) for uscc in picture.holders]
    shared = {n for n in names if names.count(n) > 1}
    nodes = [
        {
            "id": uscc,
            "name": f"{n} ({uscc})" if n in shared else n,
            "kind": (orgs.get(uscc) or {}).get("kind"),
            "division_code": (orgs.get(uscc) or {}).get("division_code"),
        }
        for uscc, n in zip(picture.holders, names, strict=True)
    ]
    holder_name = {node["id"]: node["name"] for node in nodes}
    for sink in picture.sinks:
        if sink.startswith(RETURNED):
            receiver = sink.removeprefix(RETURNED)
            label = f"退回 returned to {holder_name.get(receiver, receiver)}"
            nodes.append({"id": sink, "name": label, "kind": Sink.RETURNED, "division_code": None})
        else:
            nodes.append(
                {"id": sink, "name": SINK_NAMES[sink], "kind": sink, "division_code": None}
            )
    return nodes


def _holder(picture: Flow, uscc: str, name: str) -> dict[str, Any]:
    held = picture.holdings.get(uscc)
    counts = {
        "in_stock": 0 if held is None else held.in_stock,
        Sink.IN_TRANSIT: 0 if held is None else held.in_transit,
        "used": 0 if held is None else held.used,
        "lost": 0 if held is None else held.lost,
        Sink.DAMAGED: 0 if held is None else held.damaged,
        Sink.SCRAPPED: 0 if held is None else held.scrapped,
        Sink.DESTROYED: 0 if held is None else held.destroyed,
    }
    series = picture.per_holder.get(uscc, {})
    return {
        "id": uscc,
        "name": name,
        **counts,
        "series": [
            {"name": m, "data": _sparse(picture.periods, series.get(m, []))} for m in MEASURES
        ],
    }


def _sparse(periods: list[str], counts: list[int]) -> list[list[Any]]:
    """``[period, count]`` pairs of the periods with a movement only: a batch over two years
    reaches hundreds of holders, each busy a few days (an ECharts series takes the pairs on a
    category or time axis)."""
    return [[p, n] for p, n in zip(periods, counts, strict=True) if n]


def statistics(
    engine: Engine,
    actor: str,
    *,
    group_by: GroupBy,
    level: Level = "province",
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Doses produced, shipped, received, used, returned, lost and in stock by the steps done
    inside the actor's division (between ``since`` and ``until``), per division at ``level``
    (province, city or county), product, MAH or month (Beijing time): one category per
    group and one series per count, for a bar or line chart."""
    if since is not None and until is not None and until <= since:
        raise DomainError(Reason.OUT_OF_RANGE, "until must be after since", field="until")
    with read_tx(engine) as conn:
        area = division(conn, actor)
        rows = store.statistics(
            conn,
            group_by=group_by,
            level=level,
            area_prefix=area_prefix(area),
            since=None if since is None else as_utc(since),
            until=None if until is None else as_utc(until),
        )
        keys = [str(r["key"]) for r in rows]
        labels = _labels(conn, group_by, keys)
    categories = [k.ljust(6, "0") if group_by == "division" else k for k in keys]
    return {
        "division_code": area,
        "group_by": group_by,
        "level": level if group_by == "division" else None,
        "since": None if since is None else since.isoformat(),
        "until": None if until is None else until.isoformat(),
        "categories": categories,
        "labels": [labels.get(k) or c or UNKNOWN for k, c in zip(keys, categories, strict=True)],
        "series": [{"name": m, "data": [int(r[m] or 0) for r in rows]} for m in STATISTICS],
    }


def _labels(conn: Any, group_by: GroupBy, keys: list[str]) -> dict[str, str]:
    """What a chart shows for each key: a MAH's or product's name where the registry has it."""
    if group_by == "mah":
        return {k: str(v.get("name") or k) for k, v in store.organisations(conn, keys).items()}
    if group_by == "product":
        found = store.products(conn, keys)
        return {k: str(v.get("generic_name") or k) for k, v in found.items()}
    return {}


RECALL_COUNTS = ("total", Sink.RETURNED, Sink.DESTROYED, "used", Sink.DAMAGED, "outstanding")
"""What ``recall_progress`` counts per division, in the order of its series."""


def recall_progress(engine: Engine, actor: str, *, level: Level = "province") -> dict[str, Any]:
    """召回进度 as a statistic: for each whole batch a MAH's recall names, where its doses
    inside the actor's division are now, per division at ``level``: returned, destroyed or
    scrapped, used, damaged, still out (in stock or in transit); ``rate`` the share of those
    that can still come back (all but the used) that have (returned or destroyed). Recalls with
    nothing inside the division are left out. (The recall itself, its milestones and closing,
    is the recall management's.)"""
    with read_tx(engine) as conn:
        area = division(conn, actor)
        recalls = []
        for recall in store.recalled_batches(conn):  # one per recalled batch: few
            rows = store.recall_progress(
                conn,
                recall["mah_uscc"],
                recall["batch_no"],
                level=level,
                area_prefix=area_prefix(area),
            )
            if rows:
                recalls.append(_recall(recall, rows))
    return {"division_code": area, "level": level, "recalls": recalls}


def _recall(recall: RowMapping, rows: list[RowMapping]) -> dict[str, Any]:
    detail = recall["detail"] or {}
    totals = {name: sum(int(r[name]) for r in rows) for name in RECALL_COUNTS}
    recalled = totals[Sink.RETURNED] + totals[Sink.DESTROYED]
    recallable = recalled + totals[Sink.DAMAGED] + totals["outstanding"]
    return {
        "recall_no": detail.get("recall_no"),
        "recall_level": detail.get("recall_level"),
        "mah_uscc": recall["mah_uscc"],
        "batch_no": recall["batch_no"],
        "recalled_at": as_stored(recall["business_time"]).isoformat(),
        "totals": totals,
        "rate": None if not recallable else round(recalled / recallable, 4),
        "categories": [str(r["key"]).ljust(6, "0") for r in rows],
        "series": [{"name": n, "data": [int(r[n]) for r in rows]} for n in RECALL_COUNTS],
    }
