"""A deterministic synthetic province: its MAHs make, release and ship vaccines to the CDC.

Everything goes through the trace role's use cases, as a MAH's IT would drive them, so the
simulator exercises the same checks as real traffic. Memory stays bounded: codes are generated
and written batch by batch, and shipments read case codes back page by page.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.datasets.movements import ShippingNote
from vaxtrace.core.datasets.production import (
    Batch,
    Commission,
    LotRelease,
    SelfInspection,
    Warehousing,
)
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.sim import catalogue
from vaxtrace.store.engine import read_tx
from vaxtrace.store.trace.schema import batch, trace_code

MAX_BATCH_DOSES = 100_000
CASES_PER_NOTE = 20
Progress = Callable[[int], None]
"""Called with the number of doses just finished."""


@dataclass
class SimBatch:
    mah_uscc: str
    product_code: str
    batch_no: str
    doses: int
    shipped_notes: list[str] = field(default_factory=list)


@dataclass
class Province:
    mahs: list[catalogue.Mah]
    cdc: Organisation
    batches: list[SimBatch]
    tokens: dict[str, str]
    gate_batches: list[SimBatch] = field(default_factory=list)
    """One-case batches shipped whole for the dose gate's demo: fresh ones of different
    product lines, then (with ``expired_on``) one that expired."""


def build_province(
    svc: TraceService,
    *,
    units: int,
    seed: int = 1,
    mah_count: int = 3,
    ship_share: float = 0.6,
    progress: Progress | None = None,
    today: date | None = None,
    gate_lines: int = 0,
    expired_on: date | None = None,
) -> Province:
    """Register the cast, then make ``units`` doses in full cases and ship part of them.
    Then one case of a new batch of each of ``gate_lines`` product lines, shipped whole; with
    ``expired_on``, one more case of a batch made so long ago that it expires on that day,
    shipped whole before it expired."""
    rng = random.Random(seed)
    day = today or date(2026, 11, 2)
    mahs = catalogue.mahs(mah_count)
    cdc = catalogue.provincial_cdc()
    for org in [m.organisation for m in mahs] + [cdc]:
        svc.register_organisation(org)
    tokens = {m.organisation.uscc: svc.issue_token(m.organisation.uscc, "demo") for m in mahs}
    lines = [(i, m, key) for i, m in enumerate(mahs) for key in m.templates]
    for i, m, key in lines:
        svc.register_product(m.organisation.uscc, catalogue.product_for(m, i, key))
    batches: list[SimBatch] = []
    serial = 0
    for n, (i, m, key) in enumerate(lines):
        product = catalogue.product_for(m, i, key)
        per_case = product.doses_per(3)
        remaining = units // len(lines) + (1 if n < units % len(lines) else 0)
        made = 0
        while remaining > 0:
            cases = min(remaining, MAX_BATCH_DOSES) // per_case
            if cases == 0:
                if made:
                    break
                cases = 1  # every product line gets at least one case
            made += 1
            serial += 1
            sim_batch = make_batch(
                svc,
                m.organisation.uscc,
                product.product_code,
                product.shelf_life_months,
                cases,
                per_case,
                serial,
                day,
                rng,
            )
            batches.append(sim_batch)
            ship_batch(svc, sim_batch, cdc, ship_share, day, rng)
            remaining -= sim_batch.doses
            if progress is not None:
                progress(sim_batch.doses)
    gate: list[SimBatch] = []
    for n in range(gate_lines + (expired_on is not None)):
        i, m, key = lines[n % len(lines)]
        product = catalogue.product_for(m, i, key)
        expired = expired_on is not None and n == gate_lines
        produced = (
            expired_on - timedelta(days=product.shelf_life_months * 30)
            if expired and expired_on is not None
            else None
        )
        one = make_batch(
            svc,
            m.organisation.uscc,
            product.product_code,
            product.shelf_life_months,
            1,
            product.doses_per(3),
            serial + 1 + n,
            day,
            rng,
            made=produced,
        )
        shipped_on = min(day, expired_on - timedelta(days=10)) if expired and expired_on else day
        ship_batch(svc, one, cdc, 1.0, shipped_on, rng)
        gate.append(one)
    return Province(mahs, cdc, batches, tokens, gate)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _paper(client_document_id: str, business_time: datetime, document_no: str) -> dict[str, Any]:
    """What every document of a batch's life opens with."""
    return {
        "client_document_id": client_document_id,
        "business_time": business_time,
        "document_no": document_no,
    }


def make_batch(
    svc: TraceService,
    mah: str,
    product_code: str,
    shelf_life_months: int,
    cases: int,
    per_case: int,
    serial: int,
    day: date,
    rng: random.Random,
    made: date | None = None,
) -> SimBatch:
    made = made or day - timedelta(days=60 + rng.randrange(60))
    batch_no = f"{made:%Y%m}{serial:04d}"
    doses = cases * per_case
    svc.register_batch(
        mah,
        Batch(
            product_code=product_code,
            batch_no=batch_no,
            production_date=made,
            expiry_date=made + timedelta(days=shelf_life_months * 30),
            quantity=doses,
        ),
    )
    doc = f"{mah[-6:]}-{batch_no}"
    svc.commission(
        mah,
        Commission(
            **_paper(f"{doc}-commission", _at(made, 9), f"SC{batch_no}"),
            batch_no=batch_no,
            cases=cases,
        ),
    )
    inspected = _paper(f"{doc}-inspect", _at(made + timedelta(days=20), 10), f"QC{batch_no}")
    svc.self_inspect(
        mah,
        SelfInspection(
            **inspected, batch_no=batch_no, report_no=f"QC-{batch_no}", conclusion="pass"
        ),
    )
    svc.release_lot(
        mah,
        LotRelease(
            **_paper(f"{doc}-release", _at(made + timedelta(days=45), 10), f"PQ{batch_no}"),
            batch_no=batch_no,
            certificate_no=f"SZ{made:%Y}{serial:05d}",
            conclusion="pass",
            authority="中国食品药品检定研究院",
            quantity=doses,
        ),
        f"%PDF-1.4 lot release certificate {batch_no}\n".encode(),
        "application/pdf",
    )
    stored_at = _at(made + timedelta(days=1), 15)
    for page, codes in enumerate(_top_codes(svc, mah, batch_no)):
        paper = _paper(f"{doc}-store-{page}", stored_at, f"RK{batch_no}-{page}")
        svc.warehouse(mah, Warehousing(**paper, codes=tuple(codes), warehouse="成品冷库"))
    return SimBatch(mah, product_code, batch_no, doses)


def ship_batch(
    svc: TraceService,
    sim_batch: SimBatch,
    cdc: Organisation,
    share: float,
    day: date,
    rng: random.Random,
) -> None:
    cases = [c for page in _top_codes(svc, sim_batch.mah_uscc, sim_batch.batch_no) for c in page]
    to_ship = cases[: int(len(cases) * share)]
    per_case = sim_batch.doses // max(len(cases), 1)
    for n, start in enumerate(range(0, len(to_ship), CASES_PER_NOTE)):
        chunk = to_ship[start : start + CASES_PER_NOTE]
        note_no = f"FH{sim_batch.batch_no}{n:03d}"
        svc.ship(
            sim_batch.mah_uscc,
            ShippingNote(
                client_document_id=f"{sim_batch.mah_uscc[-6:]}-{note_no}",
                business_time=_at(day - timedelta(days=rng.randrange(1, 10)), 14),
                document_no=note_no,
                codes=tuple(chunk),
                consignee_uscc=cdc.uscc,
                consignee_address=cdc.address,
                shipper="物流部",
                expected_quantity=len(chunk) * per_case,
            ),
        )
        sim_batch.shipped_notes.append(note_no)


def _top_codes(svc: TraceService, mah: str, batch_no: str, page: int = 2000) -> Iterator[list[str]]:
    """Top-level (case) codes of a batch, a page at a time, in id order."""
    last = 0
    while True:
        with read_tx(svc.engine) as conn:
            rows = conn.execute(
                select(trace_code.c.id, trace_code.c.code)
                .join(batch, batch.c.id == trace_code.c.batch_id)
                .where(
                    batch.c.mah_uscc == mah,
                    batch.c.batch_no == batch_no,
                    trace_code.c.parent_id.is_(None),
                    trace_code.c.level == 3,
                    trace_code.c.id > last,
                )
                .order_by(trace_code.c.id)
                .limit(page)
            ).all()
        if not rows:
            return
        last = int(rows[-1][0])
        yield [str(r[1]) for r in rows]


def sample_codes(svc: TraceService, limit_per_family: int = 2) -> list[str]:
    """A few dose codes of each family, shipped and not, for people to try."""
    found: list[str] = []
    with read_tx(svc.engine) as conn:
        for pattern in ("8%", "01%"):
            rows = conn.execute(
                select(trace_code.c.code)
                .where(trace_code.c.level == 1, trace_code.c.code.like(pattern))
                .order_by(trace_code.c.id)
                .limit(limit_per_family)
            ).all()
            found.extend(str(r[0]) for r in rows)
    return found
