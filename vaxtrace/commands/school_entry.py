"""``vaxtrace school-entry``: 入学入托查验 of a school's roster over a data directory
(immunization role)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, fail, staff_service
from vaxtrace.core.errors import DomainError

school_entry_app = typer.Typer(
    help="School-entry checks, 入学入托查验 (immunization role).", no_args_is_help=True
)

SHOWN = {
    "complete": "[green]complete[/green]",
    "incomplete": "[yellow]incomplete[/yellow]",
    "no_match": "[red]no match[/red]",
    "ambiguous": "[red]ambiguous[/red]",
    "invalid": "[red]invalid[/red]",
    "duplicate_row": "duplicate row",
}


@school_entry_app.command("check")
def check(
    roster: Annotated[Path, typer.Argument(help="the roster: .csv (UTF-8 or GBK) or .xlsx")],
    school: Annotated[str, typer.Option("--school", help="the school's or kindergarten's name")],
    division: Annotated[
        str | None,
        typer.Option("--division", help="the school's division code (default: the unit's)"),
    ] = None,
    level: Annotated[
        str, typer.Option("--level", help="primary (入学) or kindergarten (入托)")
    ] = "primary",
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="the CDC or site checking (default: the provincial CDC)"),
    ] = None,
    pdf_dir: Annotated[
        Path | None,
        typer.Option("--pdf-dir", help="write the certificates and catch-up notices (PDF) here"),
    ] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the check as JSON")] = False,
) -> None:
    """Check a roster (header 姓名, 性别, 出生日期; 监护人电话, 接种证号, 身份证号, 班级 when
    present) against the province's children: each row complete, incomplete (missing doses),
    no match, ambiguous, invalid or a duplicate row; counts per status. With --pdf-dir, the
    certificates of the complete children and the catch-up notices of the others."""
    from vaxtrace.roles.immunization.service import school_entry

    if not roster.is_file():
        raise fail(f"no such file: {roster}")
    svc = staff_service("immunization", data_dir)
    try:
        actor = unit or school_entry.default_unit(svc.engine)
        if actor is None:
            raise fail("the data directory has no CDC or vaccination site: name one with --unit")
        try:
            where = school_entry.school(
                school, division or school_entry.unit_division(svc.engine, actor), level
            )
            with roster.open("rb") as stream:
                done = svc.check_roster(actor, where, stream, "cli", roster.name)
            body = done.body
            written = _pdfs(svc, actor, body["check_id"], pdf_dir) if pdf_dir else []
        except DomainError as exc:
            where_ = f" ({exc.field})" if exc.field else ""
            raise fail(f"{exc.reason}{where_}: {exc.message}") from exc
    finally:
        svc.close()
    if as_json:
        out = body | {"files": [str(p) for p in written]}
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        return
    _show(body, done.created, written)


def _pdfs(svc: Any, actor: str, check_id: str, pdf_dir: Path) -> list[Path]:
    pdf_dir.mkdir(parents=True, exist_ok=True)
    certificates = pdf_dir / f"certificates-{check_id}.pdf"
    certificates.write_bytes(svc.school_entry_pdf(actor, check_id))
    catch_up = pdf_dir / f"catch-up-{check_id}.pdf"
    catch_up.write_bytes(svc.school_entry_pdf(actor, check_id, catch_up=True))
    return [certificates, catch_up]


def _show(body: dict[str, Any], created: bool, written: list[Path]) -> None:
    counts = body["counts"]
    again = "" if created else " (this file was checked before: the same check)"
    console.print(
        f"check {body['check_id']}: {body['school_name']} ({body['school_division']}), "
        f"{counts['rows']} row(s){again}"
    )
    console.print(
        "  " + ", ".join(f"{k}: {v}" for k, v in counts.items() if k != "rows"), highlight=False
    )
    for r in body["results"]:
        if r["status"] == "complete":
            continue
        detail = ""
        if r.get("missing"):
            detail = "missing " + ", ".join(f"{m['vaccine']} {m['dose']}" for m in r["missing"])
        elif r.get("candidates"):
            detail = "may be " + ", ".join(c["child_id"] for c in r["candidates"])
        elif r.get("duplicate_of"):
            detail = f"same child as row {r['duplicate_of']}"
        elif r.get("problems"):
            detail = "; ".join(p["message"] for p in r["problems"])
        console.print(
            f"  row {r['row']}: {r.get('name') or ''} {SHOWN[r['status']]} {detail}",
            highlight=False,
        )
    for path in written:
        console.print(f"wrote {path}")
