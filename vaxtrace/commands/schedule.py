"""``vaxtrace schedule``: the national immunization schedule: evaluate a child's doses."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from vaxtrace.commands.common import console, fail
from vaxtrace.core.errors import DomainError
from vaxtrace.core.schedule import evaluate, parse_child, summary

schedule_app = typer.Typer(
    help="The national immunization schedule (国家免疫规划疫苗儿童免疫程序).", no_args_is_help=True
)


@schedule_app.command("evaluate")
def schedule_evaluate(
    file: Annotated[
        Path,
        typer.Argument(
            help='JSON: {"birth_date", "sex", "assessment_date", "doses": [{"vaccine", "date"}]}'
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Judge every dose given, give each series' status and next dose, and the school-entry
    check (doses due by 6 years), by the schedule in force on the assessment date."""
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{file}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{file}: not JSON: {exc}") from exc
    try:
        found = evaluate(parse_child(raw))
    except DomainError as exc:
        where = f"{exc.field}: " if exc.field and not exc.message.startswith(exc.field) else ""
        raise fail(f"{where}{exc.message} ({exc.reason})") from exc
    if as_json:
        sys.stdout.write(json.dumps(summary(found), ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"schedule edition {found.edition}")
    console.print(
        f"{'series':<9} {'status':<12} {'valid':>5}  {'next':>4}  "
        f"{'earliest':<10}  {'recommended':<11}  overdue"
    )
    for s in found.series:
        nxt = s.next
        dates = (
            f"{nxt.dose:>4}  {nxt.earliest}  {nxt.recommended!s:<11}  {nxt.overdue or '-'}"
            if nxt
            else f"{'-':>4}"
        )
        console.print(
            f"{s.vaccine:<9} {s.status.value:<12} {s.doses_valid:>2}/{s.doses_required:<2}  {dates}"
        )
        for d in s.doses:
            if not d.valid:
                console.print(f"          {d.vaccine} on {d.date}: not valid ({d.reason.value})")
    entry = found.school_entry
    if entry.complete:
        console.print(f"school entry ({entry.entry_date}): complete")
    else:
        missing = ", ".join(f"{m.vaccine} dose {m.dose}" for m in entry.missing)
        console.print(f"school entry ({entry.entry_date}): missing {missing}")
