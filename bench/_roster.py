"""A school's roster checked against a province (入学入托查验): ``measure_roster(rows)`` answers
the seconds to check a ``rows``-row roster (CSV) against a province node (its own SQLite
database in a temporary directory) where those children are registered with full histories.

Setup (not timed): a provincial CDC and a vaccination site; ``rows`` children born in the
first 200 days of 2019, each with the doses of the national schedule due before school entry
on time (one in five missing one, so incomplete), written set-wise; a roster of them as a
school writes it: 60 % with their card number, the others by name, sex, birth date and
guardian phone (one in ten of those with the name keyed by ear: 晓 for 小, a match by
likeness), plus 1 % unknown children and a duplicated row. Timed: ``check_roster`` (read
the file, match every row, evaluate every matched child, write the check and its rows,
journal it).

Run standalone: ``python bench/_roster.py [--rows 2000]``; last line ``roster 2k: Y s``.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.recipients.matching import name_key
from vaxtrace.core.recipients.model import personal_digest
from vaxtrace.core.schedule import add_months
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.immunization.service.school_entry import school
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import make_engine
from vaxtrace.store.immunization import schema
from vaxtrace.store.migrate import upgrade

CDC = make_uscc("12320000MB0000001")
SITE = make_uscc("12320102MB0000007")
MAH = make_uscc("91320100MA1X00001")
ASSESSED = datetime(2025, 8, 20, 4, 0, tzinfo=UTC)

# (product code, age in months): the doses due by school entry (6 y), on time: the 2021
# edition's, the 6-year dose DTaP (from 2025), JE live and HepA live.
PLAN = [
    ("HEPB-10", 0), ("HEPB-10", 1), ("HEPB-10", 6), ("BCG-1", 0),
    ("IPV-1", 2), ("IPV-1", 3), ("BOPV-1", 4), ("BOPV-1", 48),
    ("DTAP-1", 3), ("DTAP-1", 4), ("DTAP-1", 5), ("DTAP-1", 18), ("DTAP-1", 72),
    ("MMR-1", 8), ("MMR-1", 18), ("MPSV-A-1", 6), ("MPSV-A-1", 9),
    ("MPSV-AC-1", 36), ("MPSV-AC-1", 72), ("JE-L-1", 8), ("JE-L-1", 24), ("HEPA-L-1", 18),
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "小晓明华伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英文玉兰辉"


def _people(rng: random.Random, rows: int) -> list[dict[str, Any]]:
    people = []
    for i in range(rows):
        born = date(2019, 1, 1) + timedelta(days=rng.randrange(200))  # 6 by the check
        people.append(
            {
                "id": f"ch-{i:016x}",
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "sex": rng.choice("MF"),
                "birth_date": born,
                "card_no": f"320102-2019-{i:06d}",
                "phone": f"13{rng.randrange(10**9):09d}",
            }
        )
    return people


def _setup(directory: Path, rows: int, seed: int) -> tuple[ImmunizationService, bytes]:
    engine = make_engine(f"sqlite:///{directory / 'immunization.sqlite'}")
    upgrade(engine, "immunization")
    svc = ImmunizationService(engine, "platform", None)
    svc.clock = type(svc.clock)(now=lambda: ASSESSED)
    for uscc, name, kind, division in (
        (CDC, "示例省疾病预防控制中心", OrgKind.CDC, "320000"),
        (SITE, "示例社区卫生服务中心", OrgKind.POV, "320102"),
    ):
        svc.register_organisation(
            Organisation(uscc=uscc, name=name, kind=kind, division_code=division)
        )
    rng = random.Random(seed)
    people = _people(rng, rows)
    now = ASSESSED
    children, phones, doses = [], [], []
    for n, p in enumerate(people):
        guardians = [{"name": "监护人", "relation": "mother", "phone": p["phone"]}]
        personal = {k: p[k] for k in ("name", "sex", "card_no")} | {
            "birth_date": p["birth_date"].isoformat(),
            "birth_division": "320102",
            "guardians": guardians,
        }
        children.append(
            {
                "id": p["id"], "site_uscc": SITE, "name": p["name"],
                "name_key": name_key(p["name"]), "sex": p["sex"], "birth_date": p["birth_date"],
                "birth_division": "320102", "card_no": p["card_no"], "resident_id": None,
                "guardians": guardians, "personal_sha256": personal_digest(personal),
                "state": "active", "merged_into": None, "duplicates_acknowledged": None,
                "registered_by": "bench", "registered_at": now, "updated_at": now,
            }
        )  # fmt: skip
        phones.append({"child_id": p["id"], "phone": p["phone"]})
        skip = rng.randrange(len(PLAN)) if rng.random() < 0.2 else -1
        for k, (product, months) in enumerate(PLAN):
            if k == skip:
                continue
            day = add_months(p["birth_date"], months)
            at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
            doses.append(
                {
                    "site_uscc": SITE, "document_no": f"JZ{n:06d}{k:02d}",
                    "code": f"8{n:09d}{k:010d}", "product_code": product, "mah_uscc": MAH,
                    "batch_no": "B2019", "expiry_date": date(2026, 1, 1), "vaccinated_at": at,
                    "vaccinator": "护士", "dose_number": None, "vaccinee_ref": p["id"],
                    "recorded_by": "bench", "recorded_at": at,
                }
            )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(schema.child), children)
        conn.execute(insert(schema.child_phone), phones)
        for start in range(0, len(doses), 5_000):
            conn.execute(insert(schema.vaccination_record), doses[start : start + 5_000])
    lines = ["姓名,性别,出生日期,监护人电话,接种证号,班级"]
    for i, p in enumerate(people):
        name = p["name"]
        card = p["card_no"] if rng.random() < 0.6 else ""
        if not card and rng.random() < 0.1 and "小" in name:
            name = name.replace("小", "晓")
        sex = "男" if p["sex"] == "M" else "女"
        lines.append(f"{name},{sex},{p['birth_date']:%Y/%m/%d},{p['phone']},{card},{i % 20 + 1}班")
    for i in range(rows // 100):
        lines.append(f"陌生{GIVEN[i % len(GIVEN)]}{i},男,2019-02-0{i % 9 + 1},,,1班")
    lines.append(lines[1])
    return svc, "\n".join(lines).encode("gbk")


def measure_roster(rows: int = 2_000, seed: int = 13) -> float:
    """Seconds to check a ``rows``-row roster against a province holding those children
    (setup not timed)."""
    with tempfile.TemporaryDirectory() as directory:
        svc, content = _setup(Path(directory), rows, seed)
        try:
            where = school("示例小学", "320102", "primary")
            started = time.perf_counter()
            done = svc.check_roster(SITE, where, io.BytesIO(content), "bench", "roster.csv")
            seconds = time.perf_counter() - started
            counts = done.body["counts"]
            assert counts["complete"] + counts["incomplete"] >= rows * 0.95, counts
        finally:
            svc.close()
            svc.engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000)
    args = parser.parse_args()
    seconds = measure_roster(args.rows)
    label = f"{args.rows // 1000}k" if args.rows % 1000 == 0 else str(args.rows)
    print(f"roster {label}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
