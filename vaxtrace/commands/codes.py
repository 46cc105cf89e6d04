"""The commands about codes: ``trace`` one, ``dose-check`` one at the arm, ``import`` many
with their packaging."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from vaxtrace.commands.common import (
    DataDir,
    console,
    fail,
    progress,
    settings_of,
    staff_service,
    trace_service,
)
from vaxtrace.core.datasets.production import CodeRelation, Commission
from vaxtrace.core.errors import DomainError


def trace(
    code: Annotated[str, typer.Argument(help="a code as typed, scanned or a Digital Link URI")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show a code's product, batch, status, holder, packaging and full history."""
    svc = trace_service(settings_of(data_dir))
    try:
        answer = svc.trace(code)
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    if as_json:
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
        return
    p = answer["product"]
    console.print(f"[bold]{answer['code']}[/bold]  level {answer['level']}  {answer['status']}")
    console.print(
        f"  {p['generic_name']} {p['strength']}  batch {answer['batch_no']}  "
        f"expires {answer['expiry_date']}"
    )
    console.print(
        f"  held by {answer['holder_uscc']}  inside {answer['containers'] or '-'}  "
        f"children {len(answer['children'])}"
    )
    for e in answer["history"]:
        console.print(
            f"  {e['business_time'][:19]}  {e['bill_type']:<16} {e['document_no']:<22} "
            f"{e['org_uscc']}"
        )


REFUSED_EXIT = 3
"""Exit status of ``dose-check`` when the dose may not be given (1 is an error, 2 usage)."""


def dose_check(
    code: Annotated[str, typer.Argument(help="the dose's code as typed, scanned or a URI")],
    org: Annotated[str, typer.Option("--org", help="the vaccination site's USCC")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """接种前核验: may this vaccination site give this dose now? Every reason why not, from the
    province's records; audited. Exits 0 when allowed, 3 when not."""
    svc = staff_service("immunization", data_dir)
    try:
        answer = svc.check_dose(org, code)
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    if as_json:
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
    elif answer["allowed"]:
        warnings = f"  ({', '.join(answer['warnings'])})" if answer["warnings"] else ""
        console.print(f"[green]ALLOWED[/green] {answer['code']}{warnings}")
    else:
        console.print(f"[red]REFUSED[/red] {answer['code']}: {', '.join(answer['reasons'])}")
        for message in answer["messages"]:
            console.print(f"  {message}")
    if not answer["allowed"]:
        raise typer.Exit(REFUSED_EXIT)


def _relations(path: Path) -> Iterator[CodeRelation]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"code", "level"} - set(reader.fieldnames or ())
        if missing:
            raise fail(
                f"{path}: missing column(s) {', '.join(sorted(missing))} "
                "(expected: code,level,parent)"
            )
        for line, row in enumerate(reader, start=2):
            try:
                yield CodeRelation(
                    code=row["code"], level=int(row["level"]), parent=row.get("parent") or None
                )
            except ValueError as exc:
                raise fail(f"{path}:{line}: {exc}") from exc


def import_relations(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV packaging relations: code,level,parent"
        ),
    ],
    org: Annotated[str, typer.Option(help="USCC of the MAH the codes belong to")],
    batch: Annotated[str, typer.Option(help="batch number (registered)")],
    document_no: Annotated[str | None, typer.Option(help="document number")] = None,
    data_dir: DataDir = None,
) -> None:
    """Commission uploaded codes with their packaging hierarchy (all or nothing)."""
    svc = trace_service(settings_of(data_dir))
    with progress() as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        relations = []
        for relation in _relations(file):
            relations.append(relation)
            bar.advance(task)
    doc = document_no or f"IMPORT-{file.stem}"
    # A retried import of the same file is the same document: id from content, time from mtime.
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:40]
    packed_at = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
    try:
        request = Commission(
            client_document_id=f"import-{digest}",
            business_time=packed_at,
            document_no=doc[:60],
            batch_no=batch,
            relations=tuple(relations),
        )
        result = svc.commission(org, request)
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise fail(f"{exc.reason}{where}: {exc.message}") from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    verb = "already imported" if result.replayed else "imported"
    console.print(f"{verb}: {result.body['codes_by_level']} codes by level, batch {batch}")
