"""The printable documents, from the data the services answer, as PDF bytes.

Each page says who issued it, for which child, as of which day, and by which edition of the
schedule; nothing on it is computed here (the services' evaluation is printed as given).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF

logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "not subset" notices

FONT = "cjk"
SEX = {"M": "男", "F": "女"}
LEVEL = {"primary": "入学", "kindergarten": "入托"}
VALIDITY = {True: "有效", False: "无效", None: "非程序"}
REASONS = {
    "valid": "有效",
    "too_early": "早于最小月龄",
    "too_late": "超过最大年龄",
    "interval_too_short": "间隔不足",
    "live_vaccine_interval": "与减毒活疫苗间隔不足",
    "wrong_product": "疫苗品种不符",
    "extra_dose": "多余剂次",
}
"""The engine's dose verdicts as the certificate writes them."""

STATUS = {
    "complete": "已完成",
    "due": "应种",
    "overdue": "逾期未种",
    "not_yet_due": "未到接种时间",
    "aged_out": "超龄不再补种",
}


class _Pdf(FPDF):
    """An A4 document with the CJK font embedded and a footer naming the issuer."""

    def __init__(self, font: Path, title: str, footer: str, landscape: bool = False) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.add_font(FONT, fname=str(font))
        self.set_font(FONT, size=11)
        self.set_auto_page_break(True, margin=18)
        self.set_title(title)
        self.set_creator("VaxTrace")
        self.footer_text = footer

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, size=8)
        self.cell(0, 6, f"{self.footer_text}    第 {self.page_no()} 页", align="C")
        self.set_font(FONT, size=11)

    def heading(self, text: str, size: int = 18) -> None:
        self.set_font(FONT, size=size)
        self.cell(0, 12, text, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, size=11)
        self.ln(2)

    def fields(self, pairs: Sequence[tuple[str, str]], per_line: int = 2) -> None:
        width = (self.w - self.l_margin - self.r_margin) / per_line
        for i in range(0, len(pairs), per_line):
            for label, value in pairs[i : i + per_line]:
                self.cell(width, 8, f"{label}：{value}")
            self.ln(8)
        self.ln(2)

    def paragraph(self, text: str, size: int = 11) -> None:
        self.set_font(FONT, size=size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, size=11)
        self.ln(1)

    def grid(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """A table of one-line cells (fpdf2's own tables lay out ten times slower: thousands of
        certificates a check), each text shrunk to fit its cell, down to 6 pt."""
        self.set_fill_color(235, 235, 235)
        for cells, fill in ((headers, True), *((r, False) for r in rows)):
            for text, width in zip(cells, widths, strict=True):
                self._fit(str(text), width, fill)
            self.ln(6)
        self.set_font(FONT, size=11)
        self.ln(3)

    def _fit(self, text: str, width: float, fill: bool) -> None:
        size = 9.0
        if self.font_size_pt != size:
            self.set_font(FONT, size=size)
        room = width - 2
        wide = self.get_string_width(text)
        if wide > room:
            size = max(6.0, int(2 * size * room / wide) / 2)
            self.set_font(FONT, size=size)
        self.cell(width, 6, text, border=1, fill=fill)

    def bytes(self) -> bytes:
        return bytes(self.output())


def _child_fields(child: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        ("姓名", str(child.get("name") or "")),
        ("性别", SEX.get(str(child.get("sex")), "")),
        ("出生日期", str(child.get("birth_date") or "")),
        ("接种证号", str(child.get("card_no") or "")),
    ]


def _school_fields(check: Mapping[str, Any], row: Mapping[str, Any]) -> list[tuple[str, str]]:
    level = LEVEL.get(str(check.get("level")), "入学")
    return [
        ("学校/托幼机构", str(check.get("school_name") or "")),
        ("班级", str(row.get("class_name") or "")),
        (f"{level}查验日期", str(row.get("assessment_date") or "")),
        ("花名册行号", str(row.get("row") or "")),
    ]


def school_entry_certificates(
    check: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], font: Path, issuer: str
) -> bytes:
    """入学入托预防接种证查验证明: one page per complete child of a check (``rows`` as the
    check's results give them)."""
    pdf = _Pdf(font, "入学入托预防接种证查验证明", f"{issuer} · 查验编号 {check['check_id']}")
    for row in rows:
        child = row.get("child") or {}
        pdf.add_page()
        pdf.heading("入学入托预防接种证查验证明")
        pdf.fields(_child_fields(child) + _school_fields(check, row))
        pdf.paragraph(
            f"经查验，该儿童已按国家免疫规划疫苗儿童免疫程序（{row.get('edition', '')}）完成"
            f"{LEVEL.get(str(check.get('level')), '入学')}前应种疫苗的接种，无需补种。"
        )
        pdf.grid(
            ("疫苗", "接种状态", "有效剂次", "程序剂次"),
            [
                (
                    str(s.get("vaccine_name") or s["vaccine"]),
                    STATUS.get(str(s["status"]), str(s["status"])),
                    str(s["doses_valid"]),
                    str(s["doses_required"]),
                )
                for s in row.get("series") or ()
            ],
            (70, 40, 35, 35),
        )
        pdf.paragraph(f"查验单位：{issuer}        查验日期：{row.get('assessment_date', '')}")
        pdf.paragraph("（本证明供托幼机构、学校留存；凭预防接种证查验。）", size=9)
    if not rows:
        pdf.add_page()
        pdf.heading("入学入托预防接种证查验证明")
        pdf.paragraph(f"{check.get('school_name', '')}：本次查验无全程接种儿童。")
    return pdf.bytes()


def catch_up_notices(
    check: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], font: Path, issuer: str
) -> bytes:
    """补种通知单: one page per child of a check with doses missing: the doses and the
    earliest day each may be given."""
    pdf = _Pdf(font, "补种通知单", f"{issuer} · 查验编号 {check['check_id']}")
    for row in rows:
        child = row.get("child") or {}
        pdf.add_page()
        pdf.heading("预防接种补种通知单")
        pdf.fields(_child_fields(child) + _school_fields(check, row))
        pdf.paragraph(
            "经查验，该儿童尚未完成以下国家免疫规划疫苗的接种。请监护人携带预防接种证，"
            "尽快到接种单位补种（只补种未完成的剂次，无需重新开始），补种后由学校复验。"
        )
        pdf.grid(
            ("需补种疫苗", "剂次", "最早可种日期"),
            [
                (
                    str(m.get("vaccine_name") or m["vaccine"]),
                    f"第 {m['dose']} 剂",
                    str(m.get("earliest") or "按接种单位安排"),
                )
                for m in row.get("missing") or ()
            ],
            (90, 40, 50),
        )
        pdf.paragraph(f"查验单位：{issuer}        通知日期：{row.get('assessment_date', '')}")
    if not rows:
        pdf.add_page()
        pdf.heading("预防接种补种通知单")
        pdf.paragraph(f"{check.get('school_name', '')}：本次查验无需补种的儿童。")
    return pdf.bytes()


def vaccination_certificate(
    record: Mapping[str, Any], font: Path, names: Mapping[str, str] | None = None
) -> bytes:
    """预防接种证 (接种记录): a child's every dose (vaccine and product, MAH, batch, trace
    code, site, vaccinator, time, valid or not and why), each series' status and the
    school-entry check, from the record ``recipients.record`` answers."""
    names = names or {}
    child = record["child"]
    pdf = _Pdf(font, "预防接种证", f"受种者编码 {child['child_id']}", landscape=True)
    pdf.add_page()
    pdf.heading("预防接种证（接种记录）")
    guardians = "、".join(f"{g['name']}（{g['phone']}）" for g in child.get("guardians") or ())
    pdf.fields(
        [
            *_child_fields(child),
            ("受种者编码", str(child["child_id"])),
            ("监护人", guardians),
            ("管理接种单位", names.get(child["site_uscc"], child["site_uscc"])),
            ("打印日期", str(record.get("assessment_date", ""))),
        ],
        per_line=3,
    )
    doses = []
    for d in record.get("doses") or ():
        evaluation = d.get("evaluation") or {}
        valid = evaluation.get("valid") if evaluation else None
        verdict = (
            REASONS.get(str(evaluation.get("reason")), VALIDITY[valid]) if evaluation else "非程序"
        )
        dose_no = evaluation.get("dose") or d.get("dose_number") or ""
        doses.append(
            (
                str(d.get("vaccinated_at", ""))[:16].replace("T", " "),
                str(d.get("vaccine_name") or d.get("product_name") or d.get("product_code") or ""),
                str(d.get("product_code") or ""),
                str(dose_no),
                names.get(str(d.get("mah_uscc")), str(d.get("mah_uscc") or "")),
                str(d.get("batch_no") or ""),
                str(d.get("code") or ""),
                names.get(str(d.get("site_uscc")), str(d.get("site_uscc") or "")),
                str(d.get("vaccinator") or ""),
                verdict,
            )
        )
    pdf.grid(
        ("接种时间", "疫苗", "产品", "剂次", "上市许可持有人", "批号", "追溯码", "接种单位",
         "接种者", "评价"),
        doses or [("（无接种记录）", "", "", "", "", "", "", "", "", "")],
        (26, 28, 20, 10, 36, 20, 46, 38, 16, 27),
    )  # fmt: skip
    pdf.grid(
        ("疫苗", "状态", "有效剂次", "程序剂次", "下一剂最早", "下一剂建议", "逾期日期"),
        [
            (
                str(s["vaccine"]),
                STATUS.get(str(s["status"]), str(s["status"])),
                str(s["doses_valid"]),
                str(s["doses_required"]),
                str((s.get("next") or {}).get("earliest") or ""),
                str((s.get("next") or {}).get("recommended") or ""),
                str((s.get("next") or {}).get("overdue") or ""),
            )
            for s in record.get("series") or ()
        ],
        (40, 36, 26, 26, 45, 45, 49),
    )
    entry = record.get("school_entry") or {}
    if entry:
        missing = "、".join(f"{m['vaccine']} 第{m['dose']}剂" for m in entry.get("missing") or ())
        verdict = "全程接种" if entry.get("complete") else f"需补种：{missing}"
        pdf.paragraph(f"入学查验（{entry.get('entry_date', '')} 前应种）：{verdict}")
    pdf.paragraph(f"免疫程序版本：{record.get('edition', '')}", size=9)
    return pdf.bytes()
