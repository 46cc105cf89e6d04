"""The schedule engine: evaluate ``--children`` synthetic children with full histories.

Each child is born between 2015 and 2024 and given every dose of the national schedule due
before the assessment date, each a random 0-60 days after its age (one in twenty a few days
too early, one in ten missing), live or inactivated JE and HepA at random; the assessment is on
2025-11-29. Generating the histories is not timed; evaluating them (every dose judged, every
series forecast, the school-entry check) is.

Then the services over a real database (SQLite file), each with its own setup untimed: a
site's due list among 50,000 children with histories (bench/_due_list.py) and a 2,000-row
school-entry roster checked against a province holding those children (bench/_roster.py).

Last line: ``schedule: N children/s; due list: X ms; roster 2k: Y s``.
Run: ``python bench/schedule.py [--children 100000] [--no-services]``.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta

from _due_list import measure_due_list
from _roster import measure_roster

from vaxtrace.core.schedule import Child, DoseGiven, add_months, evaluate

ASSESSED = date(2025, 11, 29)

# (product, age in months) of the on-time record; DTaP 5 at 72 months stands for DT before 2025
ROUTINE = [
    ("HepB", 0), ("HepB", 1), ("HepB", 6), ("BCG", 0),
    ("IPV", 2), ("IPV", 3), ("bOPV", 4), ("bOPV", 48),
    ("DTaP", 3), ("DTaP", 4), ("DTaP", 5), ("DTaP", 18), ("DTaP", 72),
    ("MMR", 8), ("MMR", 18),
    ("MPSV-A", 6), ("MPSV-A", 9), ("MPSV-AC", 36), ("MPSV-AC", 72),
]  # fmt: skip
JE = {"JE-L": [8, 24], "JE-I": [8, 8, 24, 72]}
HEPA = {"HepA-L": [18], "HepA-I": [18, 24]}


def _child(rng: random.Random) -> Child:
    birth = date(2015, 1, 1) + timedelta(days=rng.randrange(365 * 10))
    plan = list(ROUTINE)
    je = rng.choice(list(JE))
    plan += [(je, m) for m in JE[je]]
    hepa = rng.choice(list(HEPA))
    plan += [(hepa, m) for m in HEPA[hepa]]
    doses: list[DoseGiven] = []
    last: dict[str, date] = {}
    for product, months in plan:
        if rng.random() < 0.1:
            continue
        day = add_months(birth, months) + timedelta(days=rng.randrange(61))
        if rng.random() < 0.05:
            day -= timedelta(days=rng.randrange(1, 10))
        if product == "JE-I" and months == 8 and product in last:
            day = last[product] + timedelta(days=7)
        if product == "DTaP" and months == 72 and day < date(2025, 1, 1):
            product = "DT"
        day = max(day, birth)
        if day <= ASSESSED:
            doses.append(DoseGiven(product, day))
            last[product] = day
    return Child(birth, rng.choice("MF"), ASSESSED, tuple(doses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-services", action="store_true", help="the engine only")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    children = [_child(rng) for _ in range(args.children)]
    doses = sum(len(c.doses) for c in children)
    started, cpu_started = time.perf_counter(), time.process_time()
    complete = 0
    for child in children:
        complete += evaluate(child).school_entry.complete
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(
        f"{args.children:,} children, {doses:,} doses evaluated in {seconds:.2f} s "
        f"({cpu:.2f} s of CPU: {args.children / cpu:,.0f} children per CPU second); "
        f"school entry complete for {complete:,}"
    )
    due_list, roster = "n/a", "n/a"
    if not args.no_services:
        due_list = f"{measure_due_list():.0f} ms"
        roster = f"{measure_roster():.2f} s"
    rate = f"{args.children / seconds:,.0f} children/s"
    print(f"schedule: {rate}; due list: {due_list}; roster 2k: {roster}")


if __name__ == "__main__":
    main()
