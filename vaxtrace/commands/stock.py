"""``vaxtrace stock``: the province's stock (immunization role): the expiry run."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer

from vaxtrace.commands.common import DataDir, console, fail, staff_service

stock_app = typer.Typer(help="The province's stock (immunization role).", no_args_is_help=True)


@stock_app.command("expire")
def stock_expire(
    data_dir: DataDir = None,
    on: Annotated[
        str | None,
        typer.Option("--on", help="judge expiry on this China date, YYYY-MM-DD (default: today)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """过期处理: the batches the province holds doses of that expired since the last run, with
    their doses and units; each is kept once, so running again reports nothing new. The node
    runs this itself at start and every night."""
    try:
        day = None if on is None else date.fromisoformat(on)
    except ValueError as exc:
        raise fail(f"--on: not a date (YYYY-MM-DD): {on!r}") from exc
    found = staff_service("immunization", data_dir).expire_stock(day, source="command")
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
        return
    since = f" since the run of {found['previous_run_on']}" if found["previous_run_on"] else ""
    if not found["batches"]:
        console.print(f"expiry run {found['run_id']} on {found['run_on']}: nothing expired{since}")
        return
    console.print(
        f"expiry run {found['run_id']} on {found['run_on']}: {len(found['batches'])} batch(es), "
        f"{found['doses']} dose(s) held expired{since}"
    )
    for b in found["batches"]:
        name = f" {b['product_name']}" if b["product_name"] else ""
        console.print(
            f"  {b['mah_uscc']}  {b['batch_no']}  {b['product_code'] or '-'}{name}  "
            f"expired after {b['expiry_date']}  {b['doses']} dose(s) at {b['units']} unit(s)"
        )
