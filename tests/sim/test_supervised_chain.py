"""The simulated province as its supervision system receives it: every dose down the whole
chain, clean (times rising, receipts naming the note and shipper that sent their codes, every
note received in full, reported within the hour, nothing used after expiry or twice), the
same for the same seed; kept one add_step at a time or in bulk, with the same rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, String, cast, select

from vaxtrace.core.supervision import SupervisedStep
from vaxtrace.sim import supervised_chain as sc
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision.schema import (
    basic_data,
    supervised_batch,
    supervised_code_batch,
    supervised_code_parent,
    supervised_code_step,
    supervised_step,
    supervised_step_batch,
)

DOSES = 600


def _steps(world: sc.SupervisedWorld) -> list[dict[str, Any]]:
    return [s.step for s in world.steps()]


def test_every_dose_goes_down_the_whole_chain() -> None:
    world = sc.generate(DOSES, seed=3)
    steps = _steps(world)
    by_bill = Counter(s["bill_type"] for s in steps)
    produced = [c for s in steps if s["bill_type"] == "101" for c in s["codes"]]
    assert len(produced) == len(set(produced)) == DOSES == sum(b.doses for b in world.batches)
    assert by_bill["901"] == by_bill["902"] == by_bill["101"] == len(world.batches) == 3
    fates = _fates(steps)
    assert set(fates) == set(produced)
    path = ["101", "201", "107", "209", "107", "209", "107"]
    assert all(f[:7] == path for f in fates.values())
    ends = Counter(tuple(f[7:]) for f in fates.values())
    assert ends[("322",)] > DOSES * 0.7
    assert ends[()] > 0 and ends[("202",)] > 0 and ends[("215",)] + ends[("931", "215")] > 0
    assert {"911", "912"} <= set(by_bill)  # a lot is locked, then unlocked before use
    for s in steps:
        SupervisedStep.model_validate({k: v for k, v in s.items() if k != "reported_at"})


def _fates(steps: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each code's movements in time order: its MAH's locks and unlocks left out, and a
    vaccination taken back (323) with its undo."""
    chain: dict[str, list[tuple[Any, str]]] = defaultdict(list)
    for s in steps:
        if s["bill_type"] in {"911", "912"}:
            continue
        for code in s["codes"]:
            chain[code].append((s["business_time"], s["bill_type"]))
    fates = {}
    for code, moves in chain.items():
        bills = [b for _, b in sorted(moves)]
        if "323" in bills:
            assert bills[-3:] == ["322", "323", "322"]
            bills = bills[:-2]
        fates[code] = bills
    return fates


def test_the_chain_is_clean() -> None:
    world = sc.generate(DOSES, seed=3)
    steps = _steps(world)
    documents = {(s["bill_type"], s["org_uscc"], s["document_no"]) for s in steps}
    assert len(documents) == len(steps)
    notes = {s["document_no"]: s for s in steps if s["bill_type"] in {"201", "209"}}
    received: dict[str, set[str]] = defaultdict(set)
    divisions = {o.uscc: o.division_code for o in world.organisations()}
    for s in steps:
        delay = s["reported_at"] - s["business_time"]
        assert timedelta(0) < delay <= timedelta(hours=1)
        where = s["counterparty_uscc"] if s["bill_type"] == "201" else s["org_uscc"]
        assert s["division_code"] == divisions[where]
        if s["bill_type"] == "107":
            note = notes[s["source_document_no"]]
            assert note["counterparty_uscc"] == s["org_uscc"]
            assert note["org_uscc"] == s["counterparty_uscc"]
            assert note["business_time"] < s["business_time"]
            assert set(s["codes"]) <= set(note["codes"])
            received[s["source_document_no"]] |= set(s["codes"])
    assert all(received[no] == set(n["codes"]) for no, n in notes.items())
    _no_use_twice_or_expired(world, steps)


def _no_use_twice_or_expired(world: sc.SupervisedWorld, steps: list[dict[str, Any]]) -> None:
    expiry = {b.identification_code: b.expiry_date for b in world.batches}
    uses: Counter[str] = Counter()
    for s in steps:
        for code in s["codes"]:
            if s["bill_type"] == "322":
                uses[code] += 1
                assert sc.china_day(s["business_time"]) <= expiry[code[:7]]
            if s["bill_type"] == "323":
                uses[code] -= 1
    assert uses and max(uses.values()) == 1


def test_the_same_seed_makes_the_same_province() -> None:
    first, again = sc.generate(DOSES, seed=5), sc.generate(DOSES, seed=5)
    other = sc.generate(DOSES, seed=6)
    assert list(first.steps()) == list(again.steps())
    assert list(first.steps()) != list(other.steps())
    stock = first.stock()
    assert stock and stock == again.stock()
    used = {c for s in _steps(first) if s["bill_type"] in {"322", "202", "215"} for c in s["codes"]}
    assert not used & {d.code for d in stock}
    extra = sc.vaccinations(first, stock)
    assert [s.step["codes"] for s in extra] == [(d.code,) for d in stock]
    assert all(s.step["business_time"] > d.received_at for s, d in zip(extra, stock, strict=True))


TABLES = (
    supervised_step,
    supervised_code_step,
    supervised_code_parent,
    supervised_step_batch,
    supervised_code_batch,
    supervised_batch,
    basic_data.data,
)
NOT_COMPARED = {"received_at"}


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table the loaders fill, as sorted rows of the text the database keeps (JSON null
    and SQL NULL differ; so do two spellings of a time), the code rows without their own id
    (which only says in which order they were written)."""
    found = {}
    with engine.connect() as conn:
        for table in TABLES:
            skip = NOT_COMPARED | ({"id"} if table is supervised_code_step else set())
            cols = [c for c in table.columns if c.name not in skip]
            as_kept = select(*(cast(c, String) for c in cols))
            found[table.name] = sorted(tuple(row) for row in conn.execute(as_kept))
    return found


def test_bulk_loading_keeps_what_add_step_keeps(role_engines: Callable[[str], Engine]) -> None:
    world = sc.generate(300, seed=7)
    one_by_one, bulk = role_engines("supervision"), role_engines("supervision")
    with write_tx(one_by_one) as conn:
        kept = sc.load_world(conn, world)
    assert sc.load_fast(bulk, world) == kept
    again = sc.vaccinations(world, world.stock(5)[:5])
    with write_tx(one_by_one) as conn:
        sc.load_steps(conn, again)
    assert sc.load_steps_fast(bulk, again) == len(again) == 5
    expected, found = _rows(one_by_one), _rows(bulk)
    assert found == expected
    with bulk.connect() as conn:
        counts = sc.counts(conn)
    assert counts["supervised_step"] == kept + 5
    assert counts["supervised_code_batch"] == 300 and counts["supervised_batch"] == 3
    assert counts["supervised_step_batch"] == 6  # 901 and 902 of each batch
    codes = [c for s in world.steps() for c in s.step["codes"]] + [
        s.step["codes"][0] for s in again
    ]
    assert counts["supervised_code_step"] == len(codes)
    assert {i.name for i in supervised_code_step.indexes} == _indexes(bulk, "supervised_code_step")


def _indexes(engine: Engine, table: str) -> set[str]:
    from sqlalchemy import inspect

    return {str(i["name"]) for i in inspect(engine).get_indexes(table)}
