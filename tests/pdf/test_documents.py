"""The printable PDFs embed a CJK font: the Chinese text (headings, the child's name, the
vaccines) comes back out with ``pdftotext``; no font is a clear refusal."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from vaxtrace.pdf import (
    FontMissing,
    catch_up_notices,
    cjk_font,
    school_entry_certificates,
    vaccination_certificate,
)

CHECK = {"check_id": "sec-0123456789abcdef", "school_name": "示例小学", "level": "primary"}


def text_of(pdf: bytes) -> str:
    """The PDF's text as pdftotext (poppler-utils, installed by scripts/setup.sh) reads it."""
    assert pdf.startswith(b"%PDF-")
    tool = shutil.which("pdftotext")
    assert tool is not None, "pdftotext missing: run scripts/setup.sh"
    done = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def pages(pdf: bytes) -> int:
    return text_of(pdf).count("\f")


def row(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "row": 3,
        "class_name": "一年级1班",
        "assessment_date": "2025-09-01",
        "edition": "2025-DTaP",
        "child": {"name": name, "sex": "F", "birth_date": "2019-03-01", "card_no": "320102-01"},
        "series": [
            {"vaccine": "HepB", "vaccine_name": "乙肝疫苗", "status": "complete",
             "doses_valid": 3, "doses_required": 3},
        ],
        "missing": [],
    } | extra  # fmt: skip


def test_school_entry_certificates_one_page_a_child() -> None:
    pdf = school_entry_certificates(CHECK, [row("张晓梅"), row("欧阳娜娜")], cjk_font(), "示例疾控")
    text = text_of(pdf)
    assert text.count("入学入托预防接种证查验证明") == 2 and pages(pdf) == 2
    for expected in ("张晓梅", "欧阳娜娜", "示例小学", "乙肝疫苗", "无需补种", "示例疾控"):
        assert expected in text


def test_catch_up_notices_list_the_missing_doses() -> None:
    missing = [
        {"vaccine": "MMR", "vaccine_name": "麻腮风疫苗", "dose": 2, "earliest": "2025-09-01"},
        {"vaccine": "DTaP", "vaccine_name": "百白破疫苗", "dose": 5, "earliest": None},
    ]
    text = text_of(catch_up_notices(CHECK, [row("李明", missing=missing)], cjk_font(), "某社区"))
    wanted = ("预防接种补种通知单", "李明", "麻腮风疫苗", "第2剂", "2025-09-01", "百白破疫苗")
    for expected in wanted:
        assert expected in text
    empty = text_of(catch_up_notices(CHECK, [], cjk_font(), "某社区"))
    assert "无需补种的儿童" in empty


def test_a_vaccination_certificate_lists_every_dose() -> None:
    record = {
        "child": {
            "child_id": "ch-0123456789abcdef", "name": "陈一鸣", "sex": "M",
            "birth_date": "2024-02-29", "card_no": "320102-2024-1001", "site_uscc": "POV1",
            "guardians": [{"name": "陈强", "relation": "father", "phone": "13900139000"}],
        },
        "assessment_date": "2024-11-01",
        "edition": "2021",
        "doses": [
            {"vaccinated_at": "2024-02-29T06:00:00+00:00", "vaccine": "HepB",
             "vaccine_name": "乙肝疫苗", "product_code": "HEPB-10", "mah_uscc": "MAH1",
             "batch_no": "B2024001", "code": "81000010000000000012", "site_uscc": "POV1",
             "vaccinator": "李护士", "dose_number": 1,
             "evaluation": {"series": "HepB", "dose": 1, "valid": True, "reason": "valid"}},
            {"vaccinated_at": "2024-03-10T06:00:00+00:00", "vaccine": "HepB",
             "vaccine_name": "乙肝疫苗", "product_code": "HEPB-10", "mah_uscc": "MAH1",
             "batch_no": "B2024001", "code": "81000010000000000029", "site_uscc": "POV1",
             "vaccinator": "李护士", "dose_number": 2,
             "evaluation": {"series": "HepB", "dose": 2, "valid": False, "reason": "too_early"}},
        ],
        "series": [{"vaccine": "HepB", "status": "overdue", "doses_valid": 1, "doses_required": 3,
                    "next": {"earliest": "2024-03-29", "recommended": "2024-03-29",
                             "overdue": "2025-02-28"}}],
        "school_entry": {"entry_date": "2030-02-28", "complete": False,
                         "missing": [{"vaccine": "HepB", "dose": 2}]},
    }  # fmt: skip
    names = {"POV1": "示例社区卫生服务中心", "MAH1": "示例生物制品有限公司"}
    text = text_of(vaccination_certificate(record, cjk_font(), names))
    for expected in (
        "预防接种证", "陈一鸣", "乙肝疫苗", "B2024001", "81000010000000000012", "李护士",
        "示例社区卫生服务中心", "示例生物制品有限公司", "有效", "早于最小月龄", "需补种",
    ):  # fmt: skip
        assert expected in text, expected


def test_no_font_is_a_clear_refusal() -> None:
    with pytest.raises(FontMissing) as caught:
        cjk_font("/nonexistent/font.ttc")
    assert caught.value.reason == "no_pdf_font" and "fonts-wqy-zenhei" in caught.value.message
    assert cjk_font().suffix in (".ttf", ".ttc")
