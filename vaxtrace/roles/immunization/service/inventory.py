"""The province's stock (库存): by code, as a unit sees its own; in doses by product, batch,
expiry and status, for a unit and for a CDC's whole area; and the nightly expiry run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.reasons import DoseReason, Reason
from vaxtrace.core.stock import StockStatus, classify, days_left, near_expiry
from vaxtrace.roles.immunization.service.lookups import parse, unit
from vaxtrace.store.engine import Connection, Engine, IntegrityError, read_tx, write_tx
from vaxtrace.store.immunization import expiry, safety, stock_views

LOOSE_SHOWN = 1000
"""Outermost codes a summary lists at most."""


def summary(engine: Engine, actor: str) -> dict[str, Any]:
    """How many codes the unit holds by state, and its outermost codes in stock."""
    with read_tx(engine) as conn:
        counts = stock_views.by_state(conn, actor)
        loose = stock_views.loose_in_stock(conn, actor, LOOSE_SHOWN + 1)
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
        row = stock_views.code_row(conn, code)
        if row is None or row["holder_uscc"] != actor:
            raise DomainError(
                Reason.NOT_IN_YOUR_STOCK, f"{code} is not in your stock", field="code"
            )
        inside = stock_views.inside_of(conn, code)
    return {
        "code": code,
        "state": row["state"],
        "holder_uscc": row["holder_uscc"],
        "parent_code": row["parent_code"],
        "inside": inside,
        "mah_uscc": row["mah_uscc"],
        "updated_at": row["updated_at"].isoformat(),
    }


# --- stock in doses (剂次库存): summaries, expiry lists, the province's view ------------------


@dataclass(frozen=True, slots=True)
class Line:
    """Doses of one batch a unit holds in one status."""

    holder_uscc: str
    mah_uscc: str
    product_code: str | None
    batch_no: str | None
    expiry_date: date | None
    status: StockStatus
    reasons: tuple[str, ...]
    doses: int
    example_code: str


@dataclass(frozen=True, slots=True)
class Held:
    """What the node holds, judged on a China date, with the products it knows."""

    on: date
    lines: list[Line]
    products: dict[str, dict[str, Any]]

    def product_name(self, mah_uscc: str, product_code: str | None) -> str | None:
        found = self.products.get(f"{mah_uscc}/{product_code}")
        return None if found is None else found.get("generic_name")


def _container_ids(products: dict[str, dict[str, Any]]) -> set[str]:
    """Identification codes of the box and case levels of the products the node knows."""
    return {
        str(level["identification_code"])
        for product in products.values()
        for level in product.get("levels") or []
        if int(level.get("level", 1)) > 1
    }


def _held(
    conn: Connection, on: date, *, holder_uscc: str | None = None, area: str | None = None
) -> Held:
    """The doses held, one query, each group classified by the dose gate's rule."""
    products = stock_views.product_copies(conn)
    rows = stock_views.held_doses(
        conn, holder_uscc=holder_uscc, area_prefix=area, container_ids=_container_ids(products)
    )
    merged: dict[tuple[Any, ...], Line] = {}
    for row in rows:
        facts = safety.facts_of(row)
        judged = classify(facts, on)
        expiry = None if facts.batch is None else facts.batch.expiry_date
        holder, mah, product, batch_no = (
            row["holder_uscc"],
            row["mah_uscc"],
            row["product_code"],
            row["batch_no"],
        )
        key = (holder, mah, product, batch_no, expiry, judged.status)
        line = merged.get(key)
        reasons = tuple(r.value for r in judged.reasons)
        doses, code = int(row["doses"]), str(row["code"])
        if line is None:
            merged[key] = Line(
                holder, mah, product, batch_no, expiry, judged.status, reasons, doses, code
            )
        else:
            merged[key] = replace(
                line,
                reasons=tuple(dict.fromkeys(line.reasons + reasons)),
                doses=line.doses + int(row["doses"]),
                example_code=min(line.example_code, str(row["code"])),
            )
    order = list(StockStatus)
    lines = sorted(
        merged.values(),
        key=lambda x: (x.product_code or "", x.batch_no or "", order.index(x.status)),
    )
    return Held(on, lines, products)


def _today(on: date | None) -> date:
    return on if on is not None else local_date(datetime.now(UTC))


def _line(held: Held, line: Line) -> dict[str, Any]:
    return {
        "mah_uscc": line.mah_uscc,
        "product_code": line.product_code,
        "product_name": held.product_name(line.mah_uscc, line.product_code),
        "batch_no": line.batch_no,
        "expiry_date": None if line.expiry_date is None else line.expiry_date.isoformat(),
        "days_left": None if line.expiry_date is None else days_left(line.expiry_date, held.on),
        "status": line.status.value,
        "reasons": list(line.reasons),
        "doses": line.doses,
        "example_code": line.example_code,
    }


def _by_status(lines: list[Line]) -> dict[str, int]:
    counts = dict.fromkeys((s.value for s in StockStatus), 0)
    for line in lines:
        counts[line.status.value] += line.doses
    return counts


def _totals(held: Held, lines: list[Line]) -> dict[str, Any]:
    return {
        "doses": sum(x.doses for x in lines),
        "by_status": _by_status(lines),
        "lines": [_line(held, x) for x in lines],
    }


def dose_summary(engine: Engine, actor: str, on: date | None = None) -> dict[str, Any]:
    """库存汇总: the doses the unit holds by product, batch, expiry and status."""
    with read_tx(engine) as conn:
        unit(conn, actor)
        held = _held(conn, _today(on), holder_uscc=actor)
    return {"holder_uscc": actor, "on": held.on.isoformat()} | _totals(held, held.lines)


def _batches(held: Held, lines: list[Line]) -> list[dict[str, Any]]:
    """The lines gathered by batch: expiry, days left, doses by status; soonest expiry first."""
    found: dict[tuple[Any, ...], list[Line]] = {}
    for line in lines:
        found.setdefault((line.mah_uscc, line.product_code, line.batch_no), []).append(line)
    batches = []
    for (mah, product_code, batch_no), of_batch in found.items():
        expiry = of_batch[0].expiry_date
        batches.append(
            {
                "mah_uscc": mah,
                "product_code": product_code,
                "product_name": held.product_name(mah, product_code),
                "batch_no": batch_no,
                "expiry_date": None if expiry is None else expiry.isoformat(),
                "days_left": None if expiry is None else days_left(expiry, held.on),
                "doses": sum(x.doses for x in of_batch),
                "by_status": {k: n for k, n in _by_status(of_batch).items() if n},
            }
        )
    return sorted(batches, key=lambda b: (b["expiry_date"] or "", b["batch_no"] or ""))


def near_expiry_stock(
    engine: Engine, actor: str, days: int, on: date | None = None
) -> dict[str, Any]:
    """近效期: batches the unit holds doses of that expire within ``days`` days (not yet)."""
    with read_tx(engine) as conn:
        unit(conn, actor)
        held = _held(conn, _today(on), holder_uscc=actor)
    soon = [x for x in held.lines if near_expiry(x.expiry_date, held.on, days)]
    return {
        "holder_uscc": actor,
        "on": held.on.isoformat(),
        "days": days,
        "batches": _batches(held, soon),
    }


def _expired(line: Line) -> bool:
    return DoseReason.EXPIRED.value in line.reasons


def expired_stock(engine: Engine, actor: str, on: date | None = None) -> dict[str, Any]:
    """过期: batches the unit holds doses of that have expired (the dose gate's rule)."""
    with read_tx(engine) as conn:
        unit(conn, actor)
        held = _held(conn, _today(on), holder_uscc=actor)
    gone = [x for x in held.lines if _expired(x)]
    return {"holder_uscc": actor, "on": held.on.isoformat(), "batches": _batches(held, gone)}


def province_stock(engine: Engine, actor: str, on: date | None = None) -> dict[str, Any]:
    """The stock of every unit in the CDC's area (a provincial CDC: the province; a city
    CDC: its city), in doses, unit by unit; a vaccination site may not look."""
    with read_tx(engine) as conn:
        cdc = unit(conn, actor)
        if cdc.kind is not OrgKind.CDC:
            raise DomainError(
                Reason.NOT_A_CDC, "only a CDC (疾控机构) sees the stock of the units in its area"
            )
        area = cdc.division.area_prefix
        units = [
            u
            for u in stock_views.units_in_area(conn, area)
            if DivisionCode(u["division_code"]).is_within(cdc.division)
        ]
        held = _held(conn, _today(on), area=area)
    by_unit: dict[str, list[Line]] = {}
    for line in held.lines:
        by_unit.setdefault(line.holder_uscc, []).append(line)
    everyone = [x for u in units for x in by_unit.get(u["uscc"], [])]
    return {
        "cdc_uscc": actor,
        "division_code": cdc.division.value,
        "on": held.on.isoformat(),
        "doses": sum(x.doses for x in everyone),
        "by_status": _by_status(everyone),
        "units": [
            {
                "uscc": u["uscc"],
                "name": u["name"],
                "kind": u["kind"],
                "division_code": u["division_code"],
            }
            | _totals(held, by_unit.get(u["uscc"], []))
            for u in units
        ],
    }


def public_stock(engine: Engine, division: str, on: date | None = None) -> dict[str, Any]:
    """疫苗库存 for the public (no login): the doses each vaccination site in ``division``
    can give today, by vaccine — only what the dose gate would let be given (not locked,
    recalled, expired, held by an excursion or in transit); no batch, no code, no person."""
    area = DivisionCode(division)
    with read_tx(engine) as conn:
        sites = [
            u
            for u in stock_views.units_in_area(conn, area.area_prefix)
            if u["kind"] == OrgKind.POV.value and DivisionCode(u["division_code"]).is_within(area)
        ]
        held = _held(conn, _today(on), area=area.area_prefix)
    usable: dict[str, dict[tuple[str, str | None], int]] = {}
    for line in held.lines:
        if line.status is StockStatus.USABLE:
            of_site = usable.setdefault(line.holder_uscc, {})
            key = (line.mah_uscc, line.product_code)
            of_site[key] = of_site.get(key, 0) + line.doses
    return {
        "division_code": area.value,
        "on": held.on.isoformat(),
        "sites": [
            {
                "uscc": site["uscc"],
                "name": site["name"],
                "division_code": site["division_code"],
                "vaccines": [
                    {
                        "product_name": held.product_name(mah, product_code),
                        "product_code": product_code,
                        "mah_uscc": mah,
                        "doses": doses,
                    }
                    for (mah, product_code), doses in sorted(
                        usable.get(site["uscc"], {}).items(), key=lambda kv: str(kv[0])
                    )
                ],
            }
            for site in sites
        ],
    }


# --- the expiry job (过期处理) --------------------------------------------------------------


def expire(engine: Engine, *, on: date | None = None, source: str = "command") -> dict[str, Any]:
    """Find the batches the province holds doses of that expired since the last run (the dose
    gate's rule, judged on China date ``on``, default today), and keep the run and each such
    batch once: run again, it finds nothing new. The stock views judge expiry by date
    themselves; this makes it a report, night by night."""
    day = _today(on)
    with read_tx(engine) as conn:
        held = _held(conn, day)
    expired = _expired_batches(held)
    for attempt in (1, 2):
        try:
            with write_tx(engine) as conn:
                previous = expiry.last_expiry_run(conn)
                known = expiry.expired_already(conn, list(expired))
                new = [b for key, b in expired.items() if key not in known]
                run_id = expiry.record_expiry_run(
                    conn, run_on=day, source=source, batches=new, now=datetime.now(UTC)
                )
            break
        except IntegrityError:  # another run recorded the same batches meanwhile
            if attempt == 2:
                raise
    return {
        "run_id": run_id,
        "run_on": day.isoformat(),
        "previous_run_on": None if previous is None else str(previous["run_on"]),
        "batches": [
            b
            | {
                "product_name": held.product_name(b["mah_uscc"], b["product_code"]),
                "expiry_date": b["expiry_date"].isoformat(),
            }
            for b in new
        ],
        "doses": sum(b["doses"] for b in new),
    }


def _expired_batches(held: Held) -> dict[tuple[str, str], dict[str, Any]]:
    """The expired batches held, each with its doses and how many units hold them."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    holders: dict[tuple[str, str], set[str]] = {}
    for line in held.lines:
        if not _expired(line) or line.batch_no is None or line.expiry_date is None:
            continue
        key = (line.mah_uscc, line.batch_no)
        entry = found.setdefault(
            key,
            {
                "mah_uscc": line.mah_uscc,
                "batch_no": line.batch_no,
                "product_code": line.product_code,
                "expiry_date": line.expiry_date,
                "doses": 0,
                "units": 0,
            },
        )
        entry["doses"] += line.doses
        holders.setdefault(key, set()).add(line.holder_uscc)
        entry["units"] = len(holders[key])
    return found
