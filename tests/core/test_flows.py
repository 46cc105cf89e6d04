"""A batch's flow from its summed movements: no link closes a cycle (goods going back up the
chain end in a "returned" node of their receiver), a missing note or receipt does not hide a
movement, undone vaccinations are taken off, holders come in the order goods reach them."""

from __future__ import annotations

from vaxtrace.core.flows import Holding, Link, Moved, flow


def moved(bill: str, org: str, other: str | None, day: int, n: int, now: int = 0) -> Moved:
    return Moved(bill, org, other, f"2026-11-{day:02d}", n, now)


def has_cycle(links: list[Link]) -> bool:
    after: dict[str, set[str]] = {}
    for link in links:
        after.setdefault(link.source, set()).add(link.target)
    seen: set[str] = set()
    path: set[str] = set()

    def visit(node: str) -> bool:
        if node in path:
            return True
        if node in seen:
            return False
        seen.add(node)
        path.add(node)
        found = any(visit(n) for n in after.get(node, ()))
        path.discard(node)
        return found

    return any(visit(node) for node in list(after))


def test_goods_sent_back_up_the_chain_make_no_cycle() -> None:
    picture = flow(
        [
            moved("201", "MAH", "CDC", 1, 10),
            moved("209", "CDC", "COUNTY", 2, 6),
            moved("209", "COUNTY", "SITE", 3, 4),
            moved("209", "SITE", "CDC", 4, 2, now=2),  # a distribution back up: a cycle
            moved("202", "COUNTY", "CDC", 5, 1, now=1),
        ]
    )
    assert not has_cycle(picture.links)
    assert Link("SITE", "returned:CDC", 2) in picture.links
    assert Link("COUNTY", "returned:CDC", 1) in picture.links
    assert picture.holders == ["MAH", "CDC", "COUNTY", "SITE"]
    assert picture.sinks == ["returned:CDC"]
    assert picture.holdings == {"CDC": Holding(in_stock=1, in_transit=2)}


def test_a_missing_note_or_receipt_does_not_hide_a_movement() -> None:
    picture = flow(
        [
            moved("201", "MAH", "CDC", 1, 10),
            moved("107", "CDC", "MAH", 2, 8, now=8),  # two still in transit
            moved("107", "SITE", "CDC", 3, 5),  # the CDC's distribution never reported
            moved("322", "SITE", None, 4, 5, now=4),
            moved("323", "SITE", None, 5, 1, now=1),
        ]
    )
    assert set(picture.links) == {
        Link("MAH", "CDC", 10),
        Link("CDC", "SITE", 5),
        Link("SITE", "vaccinated", 4),
    }
    assert picture.holdings["CDC"] == Holding(in_stock=8)
    assert picture.holdings["SITE"] == Holding(in_stock=1, used=4)
    assert picture.totals["used"] == [0, 0, 0, 5, -1]
    assert picture.per_holder["SITE"]["received"] == [0, 0, 5, 0, 0]


def test_what_a_return_went_to_is_a_holder_even_with_no_step_of_its_own() -> None:
    picture = flow([moved("202", "SITE", "CDC", 1, 1, now=1)])
    assert picture.holders == ["SITE", "CDC"]
    assert picture.holdings == {"CDC": Holding(in_stock=1)}
    assert picture.links == [Link("SITE", "returned:CDC", 1)]
