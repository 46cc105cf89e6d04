"""入学入托查验 through the service on SQLite and PostgreSQL: a roster (GBK CSV, XLSX) matched
to the province's children and judged row by row; the same file again answers the same
check; a re-check after catch-up doses; refusals change nothing; who reads a check; counts
per school; one child's check; the journal keeps no personal data."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from province_world import CITY_CDC, OTHER_CITY_CDC, OTHER_POV, POV, Province, refused
from school_entry_world import (
    HEPB_DAYS,
    ROSTER,
    children,
    csv_bytes,
    stocked_province,
    vaccinate,
    xlsx_bytes,
)
from sqlalchemy import Engine, select

from vaxtrace.roles.immunization.service import school_entry
from vaxtrace.store.immunization import schema

KINDERGARTEN = school_entry.school("示例幼儿园", "320102", "kindergarten")


@pytest.fixture
def world(immunization_engine: Engine) -> Iterator[tuple[Province, dict[str, str]]]:
    province = stocked_province(immunization_engine)
    found = children(province)
    yield province, found
    province.svc.close()


def check(province: Province, content: bytes, where: Any = KINDERGARTEN, **kw: Any) -> Any:
    return province.svc.check_roster(POV, where, io.BytesIO(content), "staff-1", "花名册", **kw)


def by_row(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["row"]: r for r in body["results"]}


def test_a_roster_is_matched_and_judged_row_by_row(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, kids = world
    done = check(province, csv_bytes(ROSTER, "gbk"))
    assert done.created
    body = done.body
    assert body["check_id"].startswith("sec-") and body["round"] == 1
    assert body["counts"] == {
        "rows": 7,
        "complete": 1,
        "incomplete": 2,
        "no_match": 1,
        "ambiguous": 1,
        "invalid": 1,
        "duplicate_row": 1,
    }
    rows = by_row(body)
    assert {n: r["status"] for n, r in rows.items()} == {
        3: "complete",
        4: "incomplete",
        5: "incomplete",
        6: "ambiguous",
        7: "no_match",
        8: "duplicate_row",
        9: "invalid",
    }
    assert (rows[3]["child_id"], rows[3]["matched_by"], rows[3]["missing"]) == (
        kids["张晓梅"],
        "card_no",
        [],
    )
    assert rows[4]["child_id"] == kids["李明"] and rows[4]["matched_by"] == "likeness"
    assert [(m["vaccine"], m["dose"], m["earliest"]) for m in rows[4]["missing"]] == [
        ("HepB", 1, "2024-04-02"),
        ("HepB", 2, None),
        ("HepB", 3, None),
    ]
    assert {m["vaccine_name"] for m in rows[4]["missing"]} == {"乙肝疫苗"}
    assert rows[5]["child_id"] == kids["王芳"]  # another site's child, a name of one sound
    assert "name_pinyin" in rows[5]["matched"]
    candidates = rows[6]["candidates"]
    assert {c["child_id"] for c in candidates} == {kids["陈晨"], kids["陈辰"]}
    assert {c["name"] for c in candidates} == {"陈*"}  # masked
    assert rows[8]["duplicate_of"] == 3
    (problem,) = rows[9]["problems"]
    where = (problem["row"], problem["column"], problem["reason"])
    assert where == (9, "出生日期", "invalid_datetime")
    assert problem["message"].startswith("row 9, column 出生日期")


def test_the_journal_keeps_the_check_without_personal_data(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, _ = world
    body = check(province, csv_bytes(ROSTER, "gbk")).body
    with province.engine.connect() as conn:
        entries = schema.journal.entries(conn, "school_entry_check")
    (entry,) = entries
    assert entry["check_id"] == body["check_id"] and entry["counts"] == body["counts"]
    assert entry["results_sha256"] == body["results_sha256"] and entry["org_uscc"] == POV
    text = json.dumps(entry, ensure_ascii=False)
    for personal in ("张晓梅", "李明", "13800138000", "320102-2024-0001", "2024-04-02"):
        assert personal not in text


def test_the_same_file_again_answers_the_same_check(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, _ = world
    first = check(province, csv_bytes(ROSTER, "gbk"))
    before = province.counts()
    again = check(province, csv_bytes(ROSTER, "gbk"))
    assert not again.created and again.body == first.body
    assert province.counts() == before
    other = school_entry.school("另一幼儿园", "320102", "kindergarten")
    assert check(province, csv_bytes(ROSTER, "gbk"), other).created


def test_an_xlsx_roster_with_english_headers_reads_the_same(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, kids = world
    rows = [["Name", "Sex", "Date of birth", "Guardian phone", "Card No."]]
    rows.append(["张晓梅", "F", "2024-04-02", 13800138000, "320102-2024-0001"])
    rows.append(["李明", "M", "2024-04-02", 13900139000, None])
    body = check(province, xlsx_bytes(rows)).body
    assert [(r["row"], r["status"], r["child_id"]) for r in body["results"]] == [
        (2, "complete", kids["张晓梅"]),
        (3, "incomplete", kids["李明"]),
    ]


def test_a_recheck_after_catch_up_counts_the_new_doses(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, kids = world
    first = check(province, csv_bytes(ROSTER, "gbk")).body
    for when in HEPB_DAYS:
        vaccinate(province, kids["李明"], when)
    again = province.svc.recheck_roster(POV, first["check_id"], "staff-1")
    assert again["round"] == 2 and again["check_id"] == first["check_id"]
    assert by_row(again)[4]["status"] == "complete"
    assert (again["counts"]["complete"], again["counts"]["incomplete"]) == (2, 1)
    assert again["results_sha256"] != first["results_sha256"]
    with province.engine.connect() as conn:
        (entry,) = schema.journal.entries(conn, "school_entry_recheck")
    assert entry["round"] == 2 and entry["previous_counts"] == first["counts"]
    assert province.svc.school_entry_check(POV, first["check_id"]) == again


def test_bad_rosters_are_refused_and_change_nothing(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, _ = world
    no_sex = [["姓名", "出生日期"], ["张三", "2020-01-01"]]
    error = refused(province, "missing_column", check, province, csv_bytes(no_sex, "utf-8"))
    assert error.field == "性别"
    long = [ROSTER[1]] + [["1", f"孩子{i}", "男", "2020-01-01"] for i in range(8)]
    five = province.svc.check_roster

    def limited(content: bytes) -> Any:
        return five(POV, KINDERGARTEN, io.BytesIO(content), "staff-1", None, max_rows=5)

    error = refused(province, "too_many_rows", limited, csv_bytes(long))
    assert error.details["row"] == 7 and "row 7" in error.message
    refused(province, "unreadable_file", check, province, b"\x00\x01binary")
    refused(province, "empty_roster", check, province, csv_bytes([ROSTER[1]]))
    unknown = "sec-0000000000000000"
    refused(province, "unknown_organisation", province.svc.recheck_roster, "X", unknown)
    with pytest.raises(ValueError, match="division"):
        school_entry.school("某小学", "32010", "primary")
    with pytest.raises(ValueError, match="level"):
        school_entry.school("某小学", "320102", "college")


def test_who_reads_a_check_and_the_counts_per_school(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, _ = world
    body = check(province, csv_bytes(ROSTER, "gbk")).body
    check_id = body["check_id"]
    assert province.svc.school_entry_check(CITY_CDC, check_id)["counts"] == body["counts"]
    for outsider in (OTHER_POV, OTHER_CITY_CDC):
        refused(province, "not_your_check", province.svc.school_entry_check, outsider, check_id)
    refused(province, "not_your_check", province.svc.recheck_roster, CITY_CDC, check_id)
    refused(province, "unknown_check", province.svc.school_entry_check, POV, "sec-0000000000000000")
    mine = province.svc.school_entry_summary(POV)
    (school,) = mine["schools"]
    assert (school["school_name"], school["checks"]) == ("示例幼儿园", 1)
    assert school["counts"] == body["counts"] == mine["total"]
    assert province.svc.school_entry_summary(CITY_CDC)["total"] == body["counts"]
    assert province.svc.school_entry_summary(OTHER_CITY_CDC)["schools"] == []
    assert province.svc.school_entry_summary(OTHER_POV)["schools"] == []


def test_one_childs_school_entry_check(world: tuple[Province, dict[str, str]]) -> None:
    province, kids = world
    done = province.svc.child_school_entry(POV, kids["张晓梅"], "kindergarten")
    assert done["complete"] is True and done["missing"] == []
    hepb = next(s for s in done["series"] if s["vaccine"] == "HepB")
    assert (hepb["doses_valid"], hepb["status"]) == (3, "complete")
    primary = province.svc.child_school_entry(POV, kids["李明"])
    assert primary["complete"] is False and primary["entry_date"] == "2030-04-02"
    refused(province, "not_your_child", province.svc.child_school_entry, OTHER_POV, kids["李明"])


def test_the_results_download_with_chinese_headers(
    world: tuple[Province, dict[str, str]],
) -> None:
    province, _ = world
    body = check(province, csv_bytes(ROSTER, "gbk")).body
    text = school_entry.results_csv(body["results"]).decode("utf-8-sig")
    header, first, *_ = text.splitlines()
    assert header.startswith("行号,姓名,性别,出生日期,班级,查验结果,需补种疫苗")
    assert first.startswith("3,张晓梅,女,2024-04-02,小一班,全程接种")
    missing = "乙肝疫苗 第1剂；乙肝疫苗 第2剂；乙肝疫苗 第3剂"
    assert f"4,李明,男,2024-04-02,小一班,需补种,{missing}" in text
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(school_entry.results_xlsx(body["results"])), read_only=True)
    cells = list(book.worksheets[0].iter_rows(values_only=True))
    assert cells[0][:3] == ("行号", "姓名", "性别") and len(cells) == 8
    with province.engine.connect() as conn:
        stored = conn.execute(select(schema.school_entry_row.c.row_no)).scalars().all()
    assert sorted(stored) == [3, 4, 5, 6, 7, 8, 9]


def test_the_same_file_sent_twice_at_once_is_checked_once(
    world: tuple[Province, dict[str, str]],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    province, _ = world
    content = csv_bytes(ROSTER, "gbk")
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda _: check(province, content), range(4)))
    assert sum(d.created for d in done) == 1
    assert len({d.body["check_id"] for d in done}) == 1
    with province.engine.connect() as conn:
        assert len(schema.journal.entries(conn, "school_entry_check")) == 1
