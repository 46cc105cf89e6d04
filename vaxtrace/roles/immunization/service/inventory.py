"""The province's stock by code (库存), as a unit sees its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from vaxtrace.core.errors import NotFound
from vaxtrace.roles.immunization.service.lookups import parse
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization import stock

LOOSE_SHOWN = 1000
"""Outermost codes a summary lists at most."""


def summary(engine: Engine, actor: str) -> dict[str, Any]:
    """How many codes the unit holds by state, and its outermost codes in stock."""
    with read_tx(engine) as conn:
        counts = stock.by_state(conn, actor)
        loose = stock.loose_in_stock(conn, actor, LOOSE_SHOWN + 1)
    return {
        "holder_uscc": actor,
        "by_state": counts,
        "in_stock": [
            {"code": r["code"], "mah_uscc": r["mah_uscc"], "inside": int(r["inside"])}
            for r in loose[:LOOSE_SHOWN]
        ],
        "truncated": len(loose) > LOOSE_SHOWN,
    }


def by_code(engine: Engine, actor: str, text: str) -> dict[str, Any]:
    """One code the unit holds (or held last: used, damaged), in any form."""
    code = parse(text, "code").value
    with read_tx(engine) as conn:
        row = stock.code_row(conn, code)
        if row is None or row["holder_uscc"] != actor:
            raise NotFound("not_in_your_stock", f"{code} is not in your stock", field="code")
        inside = stock.inside_of(conn, code)
    return {
        "code": code,
        "state": row["state"],
        "holder_uscc": row["holder_uscc"],
        "parent_code": row["parent_code"],
        "inside": inside,
        "mah_uscc": row["mah_uscc"],
        "updated_at": row["updated_at"].isoformat(),
    }
