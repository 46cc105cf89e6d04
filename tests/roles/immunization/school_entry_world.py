"""Helpers of the school-entry tests: a province on a fixed clock (1 November 2024, China)
whose site holds six HepB doses, children registered at two sites, a schedule of HepB alone
(so that three doses make a record complete) and rosters as files."""

from __future__ import annotations

import io
import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from openpyxl import Workbook
from province_world import (
    BOXES,
    CASE,
    CONTENTS,
    CST,
    OTHER_POV,
    POV,
    PROVINCE_CDC,
    Province,
    dose,
    fields,
    make_province,
)
from sqlalchemy import Engine

from vaxtrace.core.immunization import Distribution, Vaccination
from vaxtrace.core.recipients import ChildRegistration
from vaxtrace.core.schedule import Schedule, parse_schedule
from vaxtrace.core.times import Clock

NOW = datetime(2024, 11, 1, 4, 0, tzinfo=UTC)  # 12:00 in China
BORN = date(2024, 4, 2)
HEPB_DAYS = (
    datetime(2024, 4, 2, 14, 0, tzinfo=CST),
    datetime(2024, 5, 3, 9, 0, tzinfo=CST),
    datetime(2024, 10, 3, 9, 0, tzinfo=CST),
)
"""Birth, one month, six months: the three HepB doses of a complete record."""


def hepb_schedule() -> Schedule:
    """The national schedule with its HepB series alone."""
    text = resources.files("vaxtrace.core").joinpath("data/schedule_national.toml")
    raw = tomllib.loads(text.read_text("utf-8"))
    for edition in raw["editions"]:
        edition["series"] = [s for s in edition.get("series", ()) if s["key"] == "HepB"]
    raw["products"] = {k: v for k, v in raw["products"].items() if v["series"] == "HepB"}
    raw["diseases"] = {"HepB": raw["diseases"]["HepB"]}
    return parse_schedule(raw)


def stocked_province(engine: Engine) -> Province:
    """The province on the fixed clock; POV holds both boxes (six HepB doses)."""
    province = make_province(engine, Clock(now=lambda: NOW))
    province.svc.schedule = hepb_schedule()
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    province.supply(PROVINCE_CDC, Distribution(**fields("dist"), codes=BOXES, receiver_uscc=POV))
    return province


def registration(name: str, sex: str, born: date, card: str, phone: str, **extra: Any) -> Any:
    return ChildRegistration(
        name=name,
        sex=sex,
        birth_date=born.isoformat(),
        birth_division="320102",
        guardians=[{"name": "监护人", "relation": "mother", "phone": phone}],
        card_no=card,
        **extra,
    )


def register(province: Province, site: str, *args: Any, **extra: Any) -> str:
    done = province.svc.register_child(site, registration(*args, **extra), "staff-1")
    return str(done.body["child"]["child_id"])


def vaccinate(province: Province, child_id: str, when: datetime) -> None:
    n = next(_doses_of[id(province)])
    request = Vaccination(
        **fields("vac", when), code=dose(n), vaccinee_ref=child_id, vaccinator="李护士"
    )
    province.svc.vaccinate(POV, request, "staff-1")


_doses_of: dict[int, Any] = {}


def children(province: Province) -> dict[str, str]:
    """Five children: 张晓梅 (three HepB doses: complete), 李明 (none), 王芳 at the other
    site, 陈晨 and 陈辰 (two children one roster row may be), by name."""
    _doses_of[id(province)] = iter(range(1, 7))
    found = {
        "张晓梅": register(province, POV, "张晓梅", "F", BORN, "320102-2024-0001", "13800138000"),
        "李明": register(province, POV, "李明", "M", BORN, "320102-2024-0002", "13900139000"),
        "王芳": register(
            province, OTHER_POV, "王芳", "F", date(2024, 3, 15), "320205-2024-0003", "13700137000"
        ),
        "陈晨": register(
            province, POV, "陈晨", "F", date(2024, 2, 1), "320102-2024-0004", "13600136000"
        ),
        "陈辰": register(
            province, POV, "陈辰", "F", date(2024, 2, 1), "320102-2024-0005", "13600136000",
            confirm_not_duplicate=True,
        ),
    }  # fmt: skip
    for when in HEPB_DAYS:
        vaccinate(province, found["张晓梅"], when)
    return found


ROSTER = [
    ["示例幼儿园2024年秋季入托儿童花名册"],
    ["序号", "姓名", "性别", "出生日期", "监护人电话", "接种证号", "身份证号", "班级"],
    ["1", "张晓梅", "女", "2024/4/2", "13800138000", "320102-2024-0001", "", "小一班"],
    ["2", "李明", "男", "2024-04-02", "139 0013 9000", "", "", "小一班"],
    ["3", "王方", "女", "2024年3月15日", "13700137000", "", "", "小二班"],
    ["4", "陈晨", "女", "20240201", "13600136000", "", "", "小二班"],
    ["5", "赵六", "男", "2024-01-01", "", "", "", "小二班"],
    ["6", "张晓梅", "女", "2024-04-02", "", "", "", "小三班"],
    ["7", "钱七", "男", "2024-13-01", "", "", "", "小三班"],
]
"""Rows 3 to 9: complete by card, incomplete by likeness, incomplete at the other site (a
name of the same sound), ambiguous, no match, a duplicate of row 3, invalid (row 9's date)."""


def csv_bytes(rows: list[list[str]], encoding: str = "gbk") -> bytes:
    return "".join(",".join(r) + "\r\n" for r in rows).encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
