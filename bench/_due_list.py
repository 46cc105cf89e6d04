"""A site's due list among 50,000 registered children with histories.

Not timed: a migrated immunization database (a SQLite file, or ``--database-url``) gets
``children`` children spread over ``sites`` vaccination sites (20 sites of 2,500 children:
a township clinic's children under 7), born in the six years before 2025-11-26, each given
the national schedule's doses due by then (each 0-60 days after its age, one in ten missing,
one in twenty a few days early) as vaccination records, in bulk; then the forecast table is
rebuilt from them (``due.rebuild``, as ``vaxtrace children forecast --rebuild`` does).

Timed: one site's whole due list for the week of 2025-11-26 (``due.due_list`` in one page of
up to 10,000 doses: the indexed query, the totals, the children's guardians, the answer's
dicts), the median of 7 after one warm-up.

Run: ``python bench/_due_list.py`` prints ``due list: X ms``; ``measure_due_list()`` answers X.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from vaxtrace.core.schedule import add_months
from vaxtrace.roles.immunization.service import due
from vaxtrace.store.bulk import analyze
from vaxtrace.store.engine import make_engine
from vaxtrace.store.immunization.schema import child, vaccination_record
from vaxtrace.store.migrate import upgrade

TODAY = date(2025, 11, 26)  # a Wednesday
ROUTINE = [
    ("HepB", 0), ("HepB", 1), ("HepB", 6), ("BCG", 0),
    ("IPV", 2), ("IPV", 3), ("bOPV", 4), ("bOPV", 48),
    ("DTaP", 3), ("DTaP", 4), ("DTaP", 5), ("DTaP", 18), ("DTaP", 72),
    ("MMR", 8), ("MMR", 18), ("JE-L", 8), ("JE-L", 24), ("HepA-L", 18),
    ("MPSV-A", 6), ("MPSV-A", 9), ("MPSV-AC", 36), ("MPSV-AC", 72),
]  # fmt: skip
MAH = "91320100MA1X00001"
NOW = datetime(2025, 11, 26, 2, 0, tzinfo=UTC)


def site_uscc(n: int) -> str:
    return f"12320102MB{n:07d}"


def _load(engine: Engine, children: int, sites: int, rng: random.Random) -> int:
    """The children and their vaccination records, in bulk; answers the doses."""
    people: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for n in range(children):
        child_id = f"ch-{n:016x}"
        site = site_uscc(n % sites)
        birth = TODAY - timedelta(days=rng.randrange(6 * 365))
        phone = f"13{n:09d}"
        people.append(
            {
                "id": child_id,
                "site_uscc": site,
                "name": f"儿童{n}",
                "name_key": f"er tong {n}",
                "sex": "MF"[n % 2],
                "birth_date": birth,
                "birth_division": "320102",
                "card_no": f"320102-{n:08d}",
                "resident_id": None,
                "guardians": [{"name": f"家长{n}", "relation": "mother", "phone": phone}],
                "personal_sha256": f"{n:064x}",
                "state": "active",
                "registered_by": "bench",
                "registered_at": NOW,
                "updated_at": NOW,
            }
        )
        for product, months in ROUTINE:
            if rng.random() < 0.1:
                continue
            day = add_months(birth, months) + timedelta(days=rng.randrange(61))
            if rng.random() < 0.05:
                day -= timedelta(days=rng.randrange(1, 10))
            day = max(day, birth)
            if day >= TODAY:
                continue
            at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
            records.append(
                {
                    "site_uscc": site,
                    "document_no": f"V{len(records):09d}",
                    "code": f"code{len(records)}",
                    "product_code": product.upper(),
                    "mah_uscc": MAH,
                    "batch_no": "B1",
                    "expiry_date": date(2027, 1, 1),
                    "vaccinated_at": at,
                    "vaccinator": "bench",
                    "dose_number": None,
                    "vaccinee_ref": child_id,
                    "recorded_by": "bench",
                    "recorded_at": at,
                }
            )
    with engine.begin() as conn:
        for start in range(0, len(people), 10_000):
            conn.execute(insert(child), people[start : start + 10_000])
        for start in range(0, len(records), 20_000):
            conn.execute(insert(vaccination_record), records[start : start + 20_000])
    return len(records)


def prepare(
    engine: Engine, children: int = 50_000, sites: int = 20, seed: int = 13
) -> dict[str, Any]:
    """The data set, and its forecasts rebuilt: what was made."""
    upgrade(engine, "immunization")
    doses = _load(engine, children, sites, random.Random(seed))
    built = due.rebuild(engine, TODAY)
    with engine.begin() as conn:
        analyze(conn)  # the planner's statistics, as autovacuum would have them
    return {"doses": doses, **built}


def time_due_list(engine: Engine, site: str, runs: int = 7) -> tuple[float, int, int]:
    """The median milliseconds of a site's due list this week (after a warm-up): its first
    page of up to 10,000 doses (the whole list of a site of a few thousand children); the
    doses answered and the whole list's."""
    listed = due.due_list(engine, site, TODAY, limit=due.MAX_PAGE)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        due.due_list(engine, site, TODAY, limit=due.MAX_PAGE)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), int(listed["count"]), int(listed["total"])


def measure_due_list(
    children: int = 50_000, sites: int = 20, database_url: str | None = None
) -> float:
    """The milliseconds of one site's due list among ``children`` registered children with
    histories over ``sites`` sites (a fresh SQLite file unless ``database_url`` names an empty
    database)."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'immunization.sqlite'}"
        engine = make_engine(url)
        try:
            prepare(engine, children, sites)
            ms, _, _ = time_due_list(engine, site_uscc(0))
        finally:
            engine.dispose()
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'immunization.sqlite'}"
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            made = prepare(engine, args.children, args.sites)
            print(
                f"{args.children:,} children at {args.sites} site(s), {made['doses']:,} doses, "
                f"{made['forecasts']:,} forecasts (rebuild {made['seconds']:.1f} s; data set "
                f"{time.perf_counter() - started:.1f} s)"
            )
            ms, count, total = time_due_list(engine, site_uscc(0))
            print(
                f"site {site_uscc(0)}: {total:,} doses due or overdue this week, "
                f"{count:,} in the page timed"
            )
        finally:
            engine.dispose()
    print(f"due list: {ms:.1f} ms")


if __name__ == "__main__":
    main()
