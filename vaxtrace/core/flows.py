"""A batch's flow (批次流向), from the steps that moved its doses: who handed how many to whom
(a Sankey diagram's nodes and links), what each holder has now (in stock, in transit, used,
lost) and the movements over time.

The store aggregates the dose-level codes of one batch per step; what is here works on those
few sums, never on codes. A dose is where its latest movement left it: a receipt, a production
or an undone vaccination puts it in the doer's stock, a shipping note or distribution in
transit to the receiver, a return in the receiver's stock, a vaccination used, a damage,
scrap or destruction lost.

A Sankey diagram must not have a cycle, and a return makes one (a CDC supplies a site, the
site gives some back). So goods that go back up the chain end in a node of their own per
receiver, ``returned:<uscc>`` ("退回 <receiver>"), a sink: the same for a 202 return and for
a distribution that goes back to a holder the goods came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

PRODUCTION = "101"
SHIPMENTS = frozenset({"201", "209"})
"""A MAH's shipping note (销售出库), a CDC's distribution (供应出库)."""
RECEIPT = "107"
VACCINATION = "322"
VACCINATION_UNDO = "323"
RETURN = "202"


class Sink(StrEnum):
    """What a dose's movement ends in, as flows and counts name it (another vocabulary than
    a code's status or a refusal's reason, though some words are the same)."""

    DAMAGED = "damaged"
    SCRAPPED = "scrapped"
    DESTROYED = "destroyed"
    RETURNED = "returned"
    IN_TRANSIT = "in_transit"


LOSSES: dict[str, str] = {"215": Sink.DAMAGED, "216": Sink.SCRAPPED, "205": Sink.DESTROYED}
"""损坏, 报废, 销毁: each bill type and the sink node (and holder count) it feeds."""

MOVEMENTS = frozenset(
    {PRODUCTION, *SHIPMENTS, RECEIPT, VACCINATION, VACCINATION_UNDO, RETURN, *LOSSES}
)
"""The steps that move a dose or change what it is; locks, recalls and excursions do not."""

VACCINATED = "vaccinated"
SINK_NAMES: dict[str, str] = {
    VACCINATED: "已接种 vaccinated",
    Sink.DAMAGED: "已损坏 damaged",
    Sink.SCRAPPED: "已报废 scrapped",
    Sink.DESTROYED: "已销毁 destroyed",
}
RETURNED = "returned:"
"""Prefix of the sink of what went back up the chain to one holder."""

Period = Literal["day", "month"]
"""What a time series counts by (Beijing time)."""

GroupBy = Literal["division", "product", "mah", "month"]
"""What statistics count by: where the step was done, the batch's product or MAH, the month."""

Level = Literal["province", "city", "county"]
"""At which level of division codes statistics by division count."""

MEASURES = ("produced", "shipped", "received", "used", Sink.RETURNED, "lost")
"""What the time series count per period."""


@dataclass(frozen=True, slots=True)
class Moved:
    """Doses of the batch that the steps of one kind by one holder to (or from) one
    counterparty moved in one period: ``moved`` named by the steps, ``now`` of which this
    step is still the latest movement."""

    bill_type: str
    org_uscc: str
    counterparty_uscc: str | None
    period: str
    moved: int
    now: int


@dataclass(frozen=True, slots=True)
class Link:
    source: str
    target: str
    value: int


@dataclass(slots=True)
class Holding:
    """What a holder has of the batch now, as the latest movement of each dose says."""

    in_stock: int = 0
    in_transit: int = 0
    used: int = 0
    damaged: int = 0
    scrapped: int = 0
    destroyed: int = 0

    @property
    def lost(self) -> int:
        return self.damaged + self.scrapped + self.destroyed


@dataclass(slots=True)
class _Pair:
    shipped: int = 0
    received: int = 0


@dataclass(slots=True)
class Flow:
    """The whole picture, ready for a chart: holders (USCCs) and sinks as nodes, links
    without cycles, what each holder has now, and the movements per period, in all and per
    holder."""

    holders: list[str]
    links: list[Link]
    holdings: dict[str, Holding]
    periods: list[str]
    totals: dict[str, list[int]]
    per_holder: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    @property
    def sinks(self) -> list[str]:
        named = {link.target for link in self.links} - set(self.holders)
        return sorted(named)


def flow(moves: Iterable[Moved]) -> Flow:
    """The flow of a batch from its aggregated movements."""
    moves = list(moves)
    links = _links(moves)
    holdings = _holdings(moves)
    holders = _holders(moves, links, holdings)
    periods = sorted({m.period for m in moves})
    totals, per_holder = _series(moves, periods, holders)
    return Flow(holders, links, holdings, periods, totals, per_holder)


def _links(moves: list[Moved]) -> list[Link]:
    """Holder → holder (the larger of what the shipper's notes and the receiver's receipts
    say, so a missing note or receipt does not hide a movement), holder → sink."""
    pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
    sinks: dict[tuple[str, str], int] = defaultdict(int)
    for m in moves:
        other = m.counterparty_uscc
        if m.bill_type in SHIPMENTS and other is not None:
            pairs[(m.org_uscc, other)].shipped += m.moved
        elif m.bill_type == RECEIPT and other is not None:
            pairs[(other, m.org_uscc)].received += m.moved
        elif m.bill_type == VACCINATION:
            sinks[(m.org_uscc, VACCINATED)] += m.moved
        elif m.bill_type == VACCINATION_UNDO:
            sinks[(m.org_uscc, VACCINATED)] -= m.moved
        elif m.bill_type in LOSSES:
            sinks[(m.org_uscc, LOSSES[m.bill_type])] += m.moved
        elif m.bill_type == RETURN:
            sinks[(m.org_uscc, RETURNED + (other or "unknown"))] += m.moved
    between = {pair: max(p.shipped, p.received) for pair, p in pairs.items()}
    for (source, target), value in _acyclic(between).items():
        sinks[(source, target)] += value
    return [Link(s, t, v) for (s, t), v in sorted(sinks.items()) if v > 0]


def _acyclic(between: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """The holder links with each one that closes a cycle (goods going back to a holder they
    came through) sent to that holder's ``returned:`` sink instead."""
    after: dict[str, list[str]] = defaultdict(list)
    for source, target in sorted(between):
        after[source].append(target)
    targets = {t for _, t in between}
    roots = sorted(set(after) - targets) + sorted(set(after) & targets)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    back: set[tuple[str, str]] = set()

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in after.get(node, ()):
            if state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                visit(nxt)
        state[node] = 2

    for root in roots:
        if root not in state:
            visit(root)
    return {((s, RETURNED + t) if (s, t) in back else (s, t)): v for (s, t), v in between.items()}


def _holders(moves: list[Moved], links: list[Link], holdings: Mapping[str, Holding]) -> list[str]:
    """Every holder named, in the order the goods reach them (by first period, then USCC):
    those that did a step, then those only named (a receiver, what a return went to)."""
    first: dict[str, str] = {}
    for m in sorted(moves, key=lambda m: m.period):
        first.setdefault(m.org_uscc, m.period)
    for link in links:
        for end in (link.source, link.target):
            if end not in SINK_NAMES and not end.startswith(RETURNED):
                first.setdefault(end, "~")
    for uscc in holdings:
        first.setdefault(uscc, "~")
    return sorted(first, key=lambda uscc: (first[uscc], uscc))


def _holdings(moves: list[Moved]) -> dict[str, Holding]:
    held: dict[str, Holding] = defaultdict(Holding)
    for m in moves:
        if not m.now:
            continue
        if m.bill_type in (PRODUCTION, RECEIPT, VACCINATION_UNDO):
            held[m.org_uscc].in_stock += m.now
        elif m.bill_type == RETURN and m.counterparty_uscc is not None:
            held[m.counterparty_uscc].in_stock += m.now
        elif m.bill_type in SHIPMENTS and m.counterparty_uscc is not None:
            held[m.counterparty_uscc].in_transit += m.now
        elif m.bill_type == VACCINATION:
            held[m.org_uscc].used += m.now
        elif m.bill_type in LOSSES:
            lost = LOSSES[m.bill_type]
            setattr(held[m.org_uscc], lost, getattr(held[m.org_uscc], lost) + m.now)
    return dict(held)


def _measure(m: Moved) -> tuple[str, int] | None:
    """Which time-series measure a movement adds to, and by how much."""
    if m.bill_type == PRODUCTION:
        return "produced", m.moved
    if m.bill_type in SHIPMENTS:
        return "shipped", m.moved
    if m.bill_type == RECEIPT:
        return "received", m.moved
    if m.bill_type == VACCINATION:
        return "used", m.moved
    if m.bill_type == VACCINATION_UNDO:
        return "used", -m.moved
    if m.bill_type == RETURN:
        return Sink.RETURNED, m.moved
    if m.bill_type in LOSSES:
        return "lost", m.moved
    return None


def _series(
    moves: list[Moved], periods: list[str], holders: list[str]
) -> tuple[dict[str, list[int]], dict[str, dict[str, list[int]]]]:
    """Each measure per period, in all and for the holder that did the step."""
    at = {p: i for i, p in enumerate(periods)}
    totals = {name: [0] * len(periods) for name in MEASURES}
    per_holder = {h: {name: [0] * len(periods) for name in MEASURES} for h in holders}
    for m in moves:
        measured = _measure(m)
        if measured is None:
            continue
        name, count = measured
        totals[name][at[m.period]] += count
        if m.org_uscc in per_holder:
            per_holder[m.org_uscc][name][at[m.period]] += count
    return totals, per_holder
