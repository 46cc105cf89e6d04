"""Helpers of the trace-role tests: a small world built through the real HTTP API.

A MAH (20-digit code family) with two products, one per code family, each with a batch that is
commissioned (generated cases), self-inspected, lot-released and warehoused; the provincial CDC
and a vaccination site (POV) are registered. The database is read only to learn which serials
the trace system generated and to prove that a refused request changed nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select, text

from vaxtrace.core.datasets.basic_data import Organisation, OrgKind, VaccineProduct
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.exchange.envelope import Ed25519Signer, open_envelope
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import read_tx
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.trace.schema import batch, exchange, metadata, trace_code

CST = timezone(timedelta(hours=8))  # China Standard Time: business times are sent with it
PROBLEM = "application/problem+json"
API = "/trace/v1"
CERTIFICATE = b"%PDF-1.4\n% lot release certificate (fictional)\n"

PRODUCED = date(2024, 1, 10)
SHIPPED_AT = datetime(2024, 4, 1, 9, 0, tzinfo=CST)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=CST)
"""The world's clock: its business times are judged against this "now", not the real one."""


def clock_at(now: datetime = NOW) -> Clock:
    """A clock that always reads ``now`` (with the default clock skew)."""
    return Clock(now=lambda: now)


_sequence = itertools.count(1)


def at(day: date, days_later: int = 0, hour: int = 9) -> datetime:
    """A business time in China Standard Time, ``days_later`` after ``day``."""
    return datetime.combine(day + timedelta(days=days_later), time(hour), CST)


def write_fields(prefix: str, when: datetime = SHIPPED_AT, **extra: Any) -> dict[str, Any]:
    """What every write carries: a fresh client document id, a document number, a time."""
    n = next(_sequence)
    return {
        "client_document_id": f"{prefix}-{n:06d}",
        "document_no": f"{prefix.upper()}{n:06d}",
        "business_time": when.isoformat(),
    } | extra


def with_outbox(world: World, signer: Ed25519Signer) -> None:
    """The world's trace system sends, as a connected system does, through an outbox."""
    world.service.outbox = Outbox(world.engine, ExchangeStore(exchange), signer, "trace-a")


def outbox_notes(world: World, signer: Ed25519Signer) -> list[dict[str, Any]]:
    """The shipping notes waiting in the outbox for the platform, opened, in order."""
    with read_tx(world.engine) as conn:
        rows = ExchangeStore(exchange).queue(conn, "platform", 100)
    return [
        open_envelope(r["envelope"], lambda *_: signer.verifier()).payload["shipping_note"]
        for r in rows
    ]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pov_organisation() -> Organisation:
    return Organisation(
        uscc=make_uscc("12320102MB0000007"),
        name="示例市玄武区示例社区卫生服务中心",
        kind=OrgKind.POV,
        division_code="320102",
        address="示例市玄武区接种路7号",
    )


def expect(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Response, status: int, reason: str, field: str | None) -> None:
    """An RFC 9457 problem+json refusal naming the reason and the field at fault."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["reason"] == reason, body
    assert body.get("field") == field, body
    assert body["status"] == status
    assert body["type"].endswith("/" + reason)
    assert body["title"] and body["detail"]


def snapshot(engine: Engine) -> dict[str, Any]:
    """Row counts of every table and a checksum of every code's status, holder and container."""
    with engine.connect() as conn:
        counts: dict[str, Any] = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
        rows = conn.execute(
            text(
                "SELECT id, code, status, holder_uscc, parent_id, parent_since, replaced_by_id "
                "FROM trace_code ORDER BY id"
            )
        ).all()
    digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return counts | {"trace_code_state": digest}


@dataclass
class World:
    client: TestClient
    engine: Engine
    service: TraceService
    mah: Organisation
    cdc: Organisation
    pov: Organisation
    headers: dict[str, str]
    cdc_headers: dict[str, str]
    nmpa: VaccineProduct
    gs1: VaccineProduct
    nmpa_batch: str = "HB240110"
    gs1_batch: str = "IPV240110"
    nmpa_cases: list[str] = field(default_factory=list)
    gs1_cases: list[str] = field(default_factory=list)

    # --- HTTP ------------------------------------------------------------------------------

    def _who(self, headers: dict[str, str] | None) -> dict[str, str]:
        return self.headers if headers is None else headers

    def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Response:
        return self.client.post(API + path, json=body, headers=self._who(headers))

    def get(self, path: str, headers: dict[str, str] | None = None, **params: str) -> Response:
        return self.client.get(API + path, params=params, headers=self._who(headers))

    def ok(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = self.post(path, body, headers)
        found = expect(response, 201)
        if "client_document_id" in body:
            assert response.headers["Idempotent-Replayed"] == "false"
        return found

    def release(
        self,
        data: dict[str, Any],
        certificate: bytes = CERTIFICATE,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """POST a lot release: form field ``data`` (JSON) and the certificate file."""
        return self.client.post(
            API + "/lot-releases",
            data={"data": json.dumps(data)},
            files={"certificate": ("certificate.pdf", certificate, "application/pdf")},
            headers=self._who(headers),
        )

    def trace(self, code: str) -> dict[str, Any]:
        return expect(self.get("/codes", code=code), 200)

    def refused(
        self, response: Response, status: int, reason: str, field: str | None, before: Any
    ) -> None:
        """The request was refused as problem+json, and the database is exactly as before."""
        assert_problem(response, status, reason, field)
        assert snapshot(self.engine) == before

    # --- set-up steps through the API ------------------------------------------------------

    def register_batch(
        self,
        product: VaccineProduct,
        batch_no: str,
        *,
        quantity: int,
        produced: date = PRODUCED,
        expiry: date | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        expires = expiry or produced + timedelta(days=30 * product.shelf_life_months)
        body = {
            "product_code": product.product_code,
            "batch_no": batch_no,
            "production_date": produced.isoformat(),
            "expiry_date": expires.isoformat(),
            "quantity": quantity,
        }
        return self.ok("/batches", body, headers)

    def self_inspect(
        self, batch_no: str, when: datetime, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body = write_fields(
            "si", when, batch_no=batch_no, report_no=f"QC-{batch_no}", conclusion="pass"
        )
        return self.ok("/self-inspections", body, headers)

    def lot_release_body(self, batch_no: str, when: datetime, quantity: int) -> dict[str, Any]:
        return write_fields(
            "lr",
            when,
            batch_no=batch_no,
            certificate_no=f"SJ{batch_no}",
            conclusion="pass",
            authority="中国食品药品检定研究院",
            quantity=quantity,
        )

    def make_batch(
        self,
        product: VaccineProduct,
        batch_no: str,
        *,
        cases: int = 1,
        produced: date = PRODUCED,
        expiry: date | None = None,
        inspect: bool = True,
        release: bool = True,
        warehouse: bool = True,
        headers: dict[str, str] | None = None,
    ) -> list[str]:
        """Register, commission ``cases`` full cases, inspect, release and warehouse a batch.

        Returns the batch's case codes.
        """
        quantity = cases * product.doses_per(3)
        self.register_batch(
            product, batch_no, quantity=quantity, produced=produced, expiry=expiry, headers=headers
        )
        done = self.ok(
            "/commissions",
            write_fields("com", at(produced, 0, 10), batch_no=batch_no, cases=cases),
            headers,
        )
        boxes = cases * product.levels[2].children
        assert done["codes_by_level"] == {
            "1": cases * product.doses_per(3),
            "2": boxes,
            "3": cases,
        }
        case_codes = self.codes(batch_no, 3)
        if inspect:
            self.self_inspect(batch_no, at(produced, 20), headers)
        if inspect and release:
            body = self.lot_release_body(batch_no, at(produced, 50), quantity)
            expect(self.release(body, headers=headers), 201)
        if warehouse:
            body = write_fields("wh", at(produced, 51), codes=case_codes, warehouse="成品冷库A")
            self.ok("/warehousings", body, headers)
        return case_codes

    # --- reading what was generated ---------------------------------------------------------

    def codes(self, batch_no: str, level: int) -> list[str]:
        query = (
            select(trace_code.c.code)
            .join(batch, batch.c.id == trace_code.c.batch_id)
            .where(batch.c.batch_no == batch_no, trace_code.c.level == level)
            .order_by(trace_code.c.id)
        )
        with self.engine.connect() as conn:
            return [str(r[0]) for r in conn.execute(query)]

    def children(self, code: str) -> list[str]:
        return [c["code"] for c in self.trace(code)["children"]]

    def ship_body(self, codes: list[str], doses: int, **extra: Any) -> dict[str, Any]:
        note = {
            "codes": codes,
            "consignee_uscc": self.cdc.uscc,
            "shipper": "张三",
            "expected_quantity": doses,
        }
        return write_fields("sn", **(note | extra))


def populate(world: World) -> None:
    """Build the world's products and batches through the API."""
    for item in (world.nmpa, world.gs1):
        assert world.ok("/products", item.model_dump(mode="json")) == item.model_dump(mode="json")
    world.nmpa_cases = world.make_batch(world.nmpa, world.nmpa_batch, cases=2)
    world.gs1_cases = world.make_batch(world.gs1, world.gs1_batch, cases=1)


@dataclass
class OtherMah:
    organisation: Organisation
    headers: dict[str, str]
    product: VaccineProduct
    batch_no: str
    cases: list[str]
