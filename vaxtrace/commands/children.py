"""``vaxtrace children``: the province's registered children (immunization role): the
duplicate pass."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from vaxtrace.commands.common import DataDir, console, staff_service

children_app = typer.Typer(
    help="The province's registered children, 受种者 (immunization role).", no_args_is_help=True
)


@children_app.command("duplicates")
def children_duplicates(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """查重: every pair of active children that may be one child (name by its fuzzy pinyin and
    characters, birth date, sex, guardian phone; the same resident id), best first. Nothing
    is merged: a site's staff merge with POST /children/{id}/merges."""
    svc = staff_service("immunization", data_dir)
    try:
        pairs = svc.child_duplicates()
    finally:
        svc.close()
    if as_json:
        sys.stdout.write(json.dumps({"pairs": pairs}, ensure_ascii=False, indent=2) + "\n")
        return
    if not pairs:
        console.print("no duplicate candidates")
        return
    console.print(f"{len(pairs)} candidate pair(s):")
    for pair in pairs:
        first, second = pair["children"]
        console.print(
            f"  {pair['score']:.2f}  {first['child_id']} {first['name']} {first['birth_date']}"
            f" ({first['site_uscc']})  ~  {second['child_id']} {second['name']}"
            f" {second['birth_date']} ({second['site_uscc']})  [{', '.join(pair['matched'])}]"
        )
