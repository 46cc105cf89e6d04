"""A school's roster read as a stream: CSV in UTF-8 (with or without a BOM) or GBK, XLSX;
Chinese or English headers under a title; each row's faults named by row and column; a
missing column, too many rows, an unreadable file refused; a 50,000-row file read with
bounded memory."""

from __future__ import annotations

import io
import tempfile
import tracemalloc
from datetime import date, datetime
from typing import IO, Any

import pytest
from openpyxl import Workbook

from vaxtrace.core.errors import DomainError
from vaxtrace.core.school_entry import RosterRow, read_roster
from vaxtrace.core.school_entry.roster import header_fields, parse_date

TODAY = date(2025, 9, 1)
ROSTER = (
    "示例幼儿园2025年秋季入托儿童花名册\n"
    "序号,姓名,性别,出生日期（年-月-日）,监护人电话,接种证号,身份证号,班级\n"
    "1,张晓梅,女,2021/3/1,138 0013 8000,320102-2021-0001,,小一班\n"
    ",,,,,,,\n"
    "2,李 明,男,2021年13月1日,12345,x,,小一班\n"
    "3,王芳,F,20210315,13900139000/13700137000,,,小二班\n"
)


def read(content: bytes, max_rows: int = 10_000) -> list[RosterRow]:
    return list(read_roster(io.BytesIO(content), TODAY, max_rows))


def refusal(content: bytes, max_rows: int = 10_000) -> DomainError:
    with pytest.raises(DomainError) as caught:
        read(content, max_rows)
    return caught.value


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_csv_in_any_of_its_encodings_reads_the_same(encoding: str) -> None:
    rows = read(ROSTER.encode(encoding))
    assert [r.row for r in rows] == [3, 5, 6]  # the title is row 1, the blank row 4 skipped
    first, bad, third = rows
    assert (first.name, first.sex, first.birth_date) == ("张晓梅", "F", date(2021, 3, 1))
    assert (first.phones, first.card_no, first.class_name) == (
        ("13800138000",),
        "320102-2021-0001",
        "小一班",
    )
    assert first.valid and first.problems == ()
    assert third.phones == ("13900139000", "13700137000") and third.sex == "F"
    assert (bad.name, bad.sex, bad.birth_date, bad.valid) == ("李明", "M", None, False)
    problems = {(p.row, p.column, p.reason) for p in bad.problems}
    assert problems == {
        (5, "出生日期", "invalid_datetime"),
        (5, "监护人电话", "invalid_phone"),
        (5, "接种证号", "invalid_card_number"),
    }
    assert bad.problems[0].message.startswith("row 5, column 出生日期: not a date")


def test_an_xlsx_with_english_headers_and_spreadsheet_values() -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["Student name", "Gender", "Date of birth", "Parent phone", "Card No."])
    sheet.append(["王小明", "male", datetime(2019, 5, 6), 13912345678, 320102201900001])
    sheet.append(["王小红", "Female", 43590, 13912345679.0, None])  # an Excel serial day
    sheet.append([None, None, None, None, None])
    out = io.BytesIO()
    book.save(out)
    rows = read(out.getvalue())
    assert [(r.row, r.name, r.sex, r.birth_date, r.phones, r.card_no) for r in rows] == [
        (2, "王小明", "M", date(2019, 5, 6), ("13912345678",), "320102201900001"),
        (3, "王小红", "F", date(2019, 5, 5), ("13912345679",), None),
    ]


def test_headers_are_recognised_by_their_synonyms() -> None:
    headers = ["学生姓名*", "性 别", "出生年月日(yyyy-mm-dd)", "家长手机号"]
    found = header_fields([*headers, "预防接种证编号", "公民身份号码"])
    assert found == {
        "name": 0,
        "sex": 1,
        "birth_date": 2,
        "phone": 3,
        "card_no": 4,
        "resident_id": 5,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-01", date(2019, 3, 1)),
        ("2019/3/1", date(2019, 3, 1)),
        ("2019.03.01", date(2019, 3, 1)),
        ("2019年3月1日", date(2019, 3, 1)),
        ("２０１９－０３－０１", date(2019, 3, 1)),
        ("20190301", date(2019, 3, 1)),
        ("2019-03-01 00:00:00", date(2019, 3, 1)),
        (20190301, date(2019, 3, 1)),
        ("2019-02-29", None),
        ("3/1/2019", None),
        ("", None),
    ],
)
def test_birth_dates_as_rosters_write_them(text: Any, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_a_future_birth_date_and_a_resident_id_that_disagrees_are_named() -> None:
    content = (
        "姓名,性别,出生日期,身份证号\n"
        "甲,男,2030-01-01,\n"
        "乙,女,2019-03-01,11010520190301001X\n"  # valid checksum? no: named either way
    ).encode()
    future, other = read(content)
    assert [(p.row, p.column, p.reason) for p in future.problems] == [
        (2, "出生日期", "birth_in_future")
    ]
    assert other.valid and other.resident_id is None
    assert other.problems[0].column == "身份证号"


def test_a_missing_column_is_refused_naming_it() -> None:
    error = refusal("姓名,出生日期,监护人电话\n张三,2020-01-01,13800138000\n".encode())
    assert (error.reason, error.field) == ("missing_column", "性别")
    error = refusal("名字,电话\n张三,13800138000\n".encode("gbk"))
    assert (error.reason, error.field) == ("missing_column", "性别")
    assert error.details["missing_columns"] == ["性别", "出生日期"]


def test_too_many_rows_is_refused_naming_the_first_row_over() -> None:
    lines = ["姓名,性别,出生日期"] + [f"孩子{i},男,2020-01-01" for i in range(10)]
    error = refusal("\n".join(lines).encode(), max_rows=5)
    assert (error.reason, error.field, error.details["row"]) == ("too_many_rows", "file", 7)
    assert "row 7" in error.message


def test_unreadable_files_are_refused() -> None:
    assert refusal(b"\x00\x01\x02binary").reason == "unreadable_file"
    assert refusal(b"PK\x03\x04 not really a zip").reason == "unreadable_file"
    assert refusal(b"abc\x80\xff\x80\xff" * 10).reason == "unsupported_encoding"
    assert refusal("姓名,性别,出生日期\n".encode()).reason == "empty_roster"
    late = ("姓名,性别,出生日期\n" + "张三,男,2020-01-01\n" * 5000).encode() + "李四".encode("gbk")
    error = refusal(late)
    assert (error.reason, error.details["row"]) == ("unsupported_encoding", 5002)


def _write_roster(spool: IO[bytes], rows: int) -> None:
    spool.write("姓名,性别,出生日期,监护人电话,接种证号\n".encode())
    for i in range(rows):
        line = f"测试儿童{i},{'男' if i % 2 else '女'},2019-{i % 12 + 1:02d}-{i % 28 + 1:02d},"
        spool.write(f"{line}138{i:08d},320102-2019-{i:06d}\n".encode())
    spool.seek(0)


def test_a_50000_row_file_is_read_with_bounded_memory_and_refused_naming_the_row() -> None:
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
        _check_big_roster(spool)


def _check_big_roster(spool: IO[bytes]) -> None:
    _write_roster(spool, 50_000)
    size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    assert size > 3_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_roster(spool, TODAY, max_rows=100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert peak < 1_000_000, peak  # rows are not kept: well under a third of the file
    spool.seek(0)
    with pytest.raises(DomainError) as caught:
        for _ in read_roster(spool, TODAY):
            pass
    assert caught.value.reason == "too_many_rows" and caught.value.details["row"] == 10_002


def test_a_roster_written_for_the_demo_reads_back() -> None:
    from vaxtrace.core.school_entry import write_roster

    children = [
        {
            "name": "张晓梅",
            "sex": "F",
            "birth_date": "2019-03-01",
            "guardians": [{"name": "王丽", "relation": "mother", "phone": "13800138000"}],
            "card_no": "320102-2019-0001",
        }
    ]
    for encoding in ("utf-8-sig", "gbk"):
        (back,) = read(write_roster(children, encoding))
        assert (back.name, back.sex, back.birth_date) == ("张晓梅", "F", date(2019, 3, 1))
        assert (back.phones, back.card_no, back.guardian) == (
            ("13800138000",),
            "320102-2019-0001",
            "王丽",
        )
