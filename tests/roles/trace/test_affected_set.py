"""The one query that checks a step's affected set answers what the one-question queries do,
and declines whenever one of them would refuse (they then name the codes)."""

from __future__ import annotations

from trace_world import World, write_fields

from vaxtrace.store.engine import write_tx
from vaxtrace.store.trace import affected


def _mixed(world: World) -> list[str]:
    """A case, a batch not yet released, a GS1 box, and doses of the other nmpa case, with a
    box of that case locked: several batches and statuses."""
    unreleased = world.make_batch(world.nmpa, "HB240111", cases=1, release=False, warehouse=False)
    boxes = world.children(world.nmpa_cases[1])
    world.ok("/locks", write_fields("lk", codes=[boxes[1]], kind="pending", reason="复核"))
    doses = world.children(boxes[0])[:3] + world.children(boxes[1])[:2]
    gs1_box = world.children(world.gs1_cases[0])[0]
    return [world.nmpa_cases[0], *unreleased, gs1_box, *doses]


def test_the_summary_agrees_with_the_one_question_queries(world: World) -> None:
    codes = _mixed(world)
    mah = world.mah.uscc
    with write_tx(world.engine) as conn:
        affected.load_listed(conn, codes)
        affected.expand(conn)
        found = affected.affected_summary(conn, mah, mah)
        assert found is not None
        statuses = affected.affected_status_counts(conn)
        assert found.statuses == statuses and len(statuses) > 1
        batches = affected.affected_batches(conn)
        assert [dict(b) for b in found.batches] == batches and len(batches) == 3
        assert affected.affected_summary(conn, None, None) == found


def test_the_summary_declines_what_a_one_question_query_refuses(world: World) -> None:
    codes = _mixed(world)
    mah = world.mah.uscc
    case = world.nmpa_cases[0]
    with write_tx(world.engine) as conn:
        affected.load_listed(conn, codes)
        affected.expand(conn)
        assert affected.affected_summary(conn, "91110000000000000X", None) is None  # another MAH's
        assert affected.affected_summary(conn, mah, world.cdc.uscc) is None  # held elsewhere
        for wrong in ([*codes, "80000000000000000000"], [case, world.children(case)[0]]):
            affected.load_listed(conn, wrong)  # an unknown code; a box inside a listed case
            affected.expand(conn)
            assert affected.affected_summary(conn, mah, None) is None
