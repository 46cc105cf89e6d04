"""入学入托查验 and the printable PDFs over HTTP: a roster uploaded (multipart), its check read,
downloaded (CSV, XLSX) and printed (certificates, catch-up notices), re-checked after
catch-up; counts per school; one child's check and certificate; every bad input refused as
problem+json naming its reason and field, nothing written."""

from __future__ import annotations

import io
import subprocess
from typing import Any

import pytest
from httpx import Response
from openpyxl import load_workbook
from province_world import (
    BOXES,
    CASE,
    CITY_CDC,
    CONTENTS,
    OTHER_POV,
    POV,
    PROVINCE_CDC,
    fields,
)
from school_entry_world import HEPB_DAYS, ROSTER, children, csv_bytes, hepb_schedule, vaccinate
from test_api import API, Desk, desk  # noqa: F401  (the fixture: the app on each backend)

from vaxtrace.core.immunization import Distribution

FORM = {"school_name": "示例幼儿园", "school_division": "320102", "level": "kindergarten"}


def pdf_text(response: Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=response.content, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


@pytest.fixture
def school(desk: Desk) -> tuple[Desk, dict[str, str]]:  # noqa: F811
    """The app's province judging by HepB alone, its site stocked, five children."""
    province = desk.province
    province.svc.schedule = hepb_schedule()
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    province.supply(PROVINCE_CDC, Distribution(**fields("dist"), codes=BOXES, receiver_uscc=POV))
    for org in (OTHER_POV, CITY_CDC):
        desk.tokens[org] = province.svc.issue_token(org, "desk")
    return desk, children(province)


def upload(desk: Desk, content: bytes, actor: str = POV, **form: str) -> Response:  # noqa: F811
    files = {"file": ("花名册.csv", content, "text/csv")}
    return desk.client.post(
        f"{API}/school-entry/checks", data=FORM | form, files=files, headers=desk.auth(actor)
    )


def test_a_roster_checked_read_downloaded_printed_and_rechecked(
    school: tuple[Desk, dict[str, str]],
) -> None:
    api, kids = school
    sent = upload(api, csv_bytes(ROSTER, "gbk"))
    assert sent.status_code == 201, sent.text
    body = sent.json()
    check_id = body["check_id"]
    assert (body["counts"]["complete"], body["counts"]["incomplete"]) == (1, 2)
    again = upload(api, csv_bytes(ROSTER, "gbk"))
    assert (again.status_code, again.json()["check_id"]) == (200, check_id)

    read = api.get(f"/school-entry/checks/{check_id}", CITY_CDC)  # the area's CDC reads it
    assert read.status_code == 200 and read.json()["results"] == body["results"]

    table = api.get(f"/school-entry/checks/{check_id}/results.csv", POV)
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    lines = table.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("行号,姓名,性别,出生日期") and len(lines) == 8
    sheet = api.get(f"/school-entry/checks/{check_id}/results.xlsx", POV)
    book = load_workbook(io.BytesIO(sheet.content), read_only=True)
    assert next(book.worksheets[0].iter_rows(values_only=True))[5] == "查验结果"

    certificates = pdf_text(api.get(f"/school-entry/checks/{check_id}/certificates.pdf", POV))
    assert "入学入托预防接种证查验证明" in certificates and "张晓梅" in certificates
    assert "李明" not in certificates
    notices = pdf_text(api.get(f"/school-entry/checks/{check_id}/catch-up.pdf", POV))
    assert "预防接种补种通知单" in notices and "李明" in notices and "王芳" in notices
    assert notices.count("\f") == 2  # one page a child

    for when in HEPB_DAYS:
        vaccinate(api.province, kids["李明"], when)
    rechecked = api.post(f"/school-entry/checks/{check_id}/recheck", {}, POV)
    assert rechecked.status_code == 200, rechecked.text
    assert rechecked.json()["round"] == 2 and rechecked.json()["counts"]["complete"] == 2

    summary = api.get("/school-entry/summary", CITY_CDC).json()
    (entry,) = summary["schools"]
    assert entry["school_name"] == "示例幼儿园" and entry["counts"]["complete"] == 2


def test_one_child_check_and_certificate(school: tuple[Desk, dict[str, str]]) -> None:
    api, kids = school
    child_id = kids["张晓梅"]
    found = api.get(f"/children/{child_id}/school-entry", POV, level="kindergarten")
    assert found.status_code == 200 and found.json()["complete"] is True
    text = pdf_text(api.get(f"/children/{child_id}/certificate.pdf", POV))
    for expected in ("预防接种证", "张晓梅", "B2024001", "李护士", "有效", "示例市玄武区"):
        assert expected in text, expected
    before = api.province.counts()
    other = api.get(f"/children/{child_id}/certificate.pdf", OTHER_POV)
    api.refused(other, 403, "not_your_child", None, before)
    bad = api.get(f"/children/{child_id}/school-entry", POV, level="college")
    assert bad.status_code == 422


def _big(rows: int) -> bytes:
    lines = ["姓名,性别,出生日期,监护人电话"]
    lines += [f"儿童{i},男,2019-01-01,138{i:08d}" for i in range(rows)]
    return "\n".join(lines).encode()


def test_bad_input_is_refused_as_a_problem(school: tuple[Desk, dict[str, str]]) -> None:
    api, _ = school
    before = api.province.counts()
    cases: list[tuple[Response, int, str, str | None]] = [
        (upload(api, csv_bytes([["姓名", "出生日期"], ["张三", "2020-01-01"]])), 422,
         "missing_column", "性别"),
        (upload(api, _big(50_000)), 422, "too_many_rows", "file"),
        (upload(api, b"\x00\x01\x02"), 422, "unreadable_file", "file"),
        (upload(api, csv_bytes(ROSTER), school_division="32"), 422, "out_of_range",
         "school_division"),
        (upload(api, csv_bytes(ROSTER), level="college"), 422, "out_of_range", "level"),
    ]  # fmt: skip
    for response, status, reason, field in cases:
        body = api.refused(response, status, reason, field, before)
        if reason == "too_many_rows":
            assert "row 10002" in body["detail"]
    nobody = api.client.post(
        f"{API}/school-entry/checks", data=FORM, files={"file": ("a.csv", b"x")}
    )
    api.refused(nobody, 401, "unauthenticated", None, before)
    check_id = upload(api, csv_bytes(ROSTER)).json()["check_id"]
    before = api.province.counts()
    for path in (
        f"/school-entry/checks/{check_id}",
        f"/school-entry/checks/{check_id}/catch-up.pdf",
    ):
        api.refused(api.get(path, OTHER_POV), 403, "not_your_check", None, before)
    unknown = api.get("/school-entry/checks/sec-0000000000000000", POV)
    api.refused(unknown, 404, "unknown_check", None, before)
    assert api.get("/school-entry/checks/nope", POV).status_code == 422
    refused = api.post(f"/school-entry/checks/{check_id}/recheck", {}, CITY_CDC)
    api.refused(refused, 403, "not_your_check", None, before)
    api.province.svc.pdf_font = "/nonexistent/font.ttc"  # no CJK font: a clear 503
    no_font = api.get(f"/school-entry/checks/{check_id}/certificates.pdf", POV)
    body = api.refused(no_font, 503, "no_pdf_font", None, before)
    assert "fonts-wqy-zenhei" in body["detail"]


def test_every_route_is_in_the_openapi_with_its_statuses(desk: Desk) -> None:  # noqa: F811
    paths: dict[str, Any] = desk.client.get("/openapi.json").json()["paths"]
    check = paths[f"{API}/school-entry/checks"]["post"]["responses"]
    assert {"201", "401", "422"} <= set(check)
    pdf = paths[f"{API}/school-entry/checks/{{check_id}}/certificates.pdf"]["get"]["responses"]
    assert {"200", "401", "403", "404", "503"} <= set(pdf)
    assert "application/pdf" in pdf["200"]["content"]
