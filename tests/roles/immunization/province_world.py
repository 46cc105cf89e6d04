"""Helpers of the immunization-role tests: a small province (a provincial CDC, city CDCs,
vaccination sites) whose node takes shipping notes signed by a platform key and reports every
write through its outbox.

Goods: case ``CASE`` holds boxes ``BOXES``, each holding three doses (``DOSES``); the tests
announce notes listing those codes (with or without ``contents``) and read the database only to
count rows and to open what the outbox posted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from tests.journeys import journey_record
from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.downstream import DownstreamEvent
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import ReceivingNote
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import PLATFORM, Outbox
from vaxtrace.exchange.envelope import Ed25519Signer, open_envelope, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.immunization.service.writes import SYSTEM_CLOCK
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.immunization import schema

CST = timezone(timedelta(hours=8))
SHIPPED_AT = datetime(2024, 4, 1, 9, 0, tzinfo=CST)
RECEIVED_AT = datetime(2024, 4, 2, 10, 0, tzinfo=CST)
PROBLEM = "application/problem+json"

MAH = make_uscc("91320100MA1X00001")
OTHER_MAH = make_uscc("91320200MA1X00002")
PROVINCE_CDC = make_uscc("12320000MB0000001")
CITY_CDC = make_uscc("12320100MB0000002")
OTHER_CITY_CDC = make_uscc("12320200MB0000003")
POV = make_uscc("12320102MB0000007")
OTHER_POV = make_uscc("12320205MB0000008")

UNITS = (
    (PROVINCE_CDC, "示例省疾病预防控制中心", OrgKind.CDC, "320000"),
    (CITY_CDC, "示例市疾病预防控制中心", OrgKind.CDC, "320100"),
    (OTHER_CITY_CDC, "样例市疾病预防控制中心", OrgKind.CDC, "320200"),
    (POV, "示例市玄武区示例社区卫生服务中心", OrgKind.POV, "320102"),
    (OTHER_POV, "样例市某区社区卫生服务中心", OrgKind.POV, "320205"),
)

PLATFORM_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PROVINCE_SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PLATFORM_CALLER = SystemIdentity("platform", PROVINCE_CDC, 1)


def dose(n: int) -> str:
    return issue_nmpa20("8000001", n)


def box(n: int) -> str:
    return issue_nmpa20("8000002", n)


def case(n: int) -> str:
    return issue_nmpa20("8000003", n)


CASE = case(1)
BOXES = (box(1), box(2))
DOSES = {BOXES[0]: (dose(1), dose(2), dose(3)), BOXES[1]: (dose(4), dose(5), dose(6))}
CONTENTS = {CASE: list(BOXES)} | {b: list(d) for b, d in DOSES.items()}

BATCH_NO = "B2024001"
EXPIRY = "2028-12-31"


def batch_entry(
    codes: list[str], batch_no: str = BATCH_NO, expiry: str = EXPIRY, released: bool = True
) -> dict[str, Any]:
    """A note's batch: master data, lot release, and the listed codes of it."""
    release = {
        "certificate_no": f"SP{batch_no}",
        "authority": "中国食品药品检定研究院",
        "release_date": "2024-03-01",
        "certificate_sha256": "ab" * 32,
    }
    return {
        "batch_no": batch_no,
        "product_code": "HEPB-10",
        "production_date": "2024-01-10",
        "expiry_date": expiry,
        "lot_release": release if released else None,
        "codes": codes,
    }


_numbers = itertools.count(1)


def fields(prefix: str, when: datetime = RECEIVED_AT, **extra: Any) -> dict[str, Any]:
    """What every write carries: a fresh client document id, a document number, a time."""
    n = next(_numbers)
    return {
        "client_document_id": f"{prefix}-{n:06d}",
        "document_no": f"{prefix.upper()}{n:06d}",
        "business_time": when,
    } | extra


@dataclass
class Province:
    svc: ImmunizationService
    engine: Engine
    sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def announce(
        self,
        note_no: str,
        codes: list[str],
        *,
        contents: dict[str, list[str]] | None = None,
        consignee: str = PROVINCE_CDC,
        mah: str = MAH,
        batches: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The platform forwards a MAH's shipping note to this province (its codes of one
        unexpired, lot-released batch unless ``batches`` says otherwise)."""
        note: dict[str, Any] = {
            "business_time": SHIPPED_AT.isoformat(),
            "document_no": note_no,
            "source_document": None,
            "codes": codes,
            "consignee_uscc": consignee,
            "consignee_address": "",
            "shipper": "物流部",
            "distributor_uscc": None,
            "expected_quantity": 6,
            "doses": 6,
            "trace_event_id": 7,
            "batches": [batch_entry(codes)] if batches is None else batches,
        }
        if contents is not None:
            note["contents"] = contents
        return self.forward(mah, "201", {"shipping_note": note})

    def signal(self, mah: str = MAH, **signal: Any) -> dict[str, Any]:
        """The platform forwards a MAH's safety signal (``kind``, ``batch_nos``, …)."""
        body = {
            "mah_uscc": mah,
            "document_no": f"SIG{next(_numbers):06d}",
            "business_time": RECEIVED_AT.isoformat(),
        } | signal
        return self.forward(mah, "signal", {"safety_signal": body})

    def forward(self, mah: str, subtype: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The platform forwards a MAH's document to this province, signed, in sequence."""
        envelope = seal(
            PLATFORM_SIGNER,
            system_id="platform",
            event_type="20",
            event_subtype=subtype,
            data_owner=mah,
            sequence=next(self.sequence),
            payload=payload | {"forwarded_from": {"system_id": "trace-a", "event_id": "x"}},
        )
        return self.svc.receive_envelope(PLATFORM_CALLER, envelope)

    def counts(self) -> dict[str, int]:
        """Rows per table (the scans' audit written first): a refusal leaves them all as
        they were."""
        self.svc.flush()
        with self.engine.connect() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in schema.metadata.sorted_tables
            }

    @staticmethod
    def journaled(counts: dict[str, int], entries: int = 1) -> dict[str, int]:
        """``counts`` once ``entries`` more entries were journaled one at a time (a scan's
        audit is): each with its leaf and the tree nodes it completes."""
        grown = dict(counts)
        for _ in range(entries):
            size = grown["ledger_leaf"] + 1
            grown["log_entry"] += 1
            grown["ledger_leaf"] = size
            grown["ledger_node"] += 1 + (size & -size).bit_length() - 1
        return grown

    def reports(self) -> list[tuple[dict[str, Any], DownstreamEvent]]:
        """What the outbox posted to the platform, opened: (header, event), in order."""
        outbox = schema.exchange.outbox
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.receiver, outbox.c.envelope).order_by(outbox.c.sequence)
            ).all()
        found = []
        for receiver, envelope in rows:
            assert receiver == PLATFORM
            opened = open_envelope(envelope, lambda *_: PROVINCE_SIGNER.verifier())
            assert set(opened.payload) == {"downstream_event"}, opened.payload
            found.append((opened.header, DownstreamEvent(**opened.payload["downstream_event"])))
        return found

    def stock_of(self, code: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(schema.stock).where(schema.stock.c.code == code))
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def receive(self, note_no: str, scans: list[str], actor: str = PROVINCE_CDC) -> Any:
        """Scan what arrived, upload the journey's temperature record and confirm the
        receipt."""
        for code in scans:
            self.svc.scan(actor, note_no, code)
        self.journey(note_no, actor)
        return self.svc.confirm_receipt(
            actor, ReceivingNote(shipping_note_no=note_no, **fields("rcv"))
        )

    def journey(self, note_no: str, actor: str = PROVINCE_CDC, celsius: float = 5.0) -> Any:
        """The receiver uploads the logger record of a delivery's journey (two hours at
        ``celsius`` before it was received), naming the delivery."""
        from vaxtrace.core.coldchain.readings import TemperatureUpload

        upload = TemperatureUpload(**journey_record(note_no, RECEIVED_AT, celsius))
        return self.svc.record_temperatures(actor, upload)

    def supply(self, supplier: str, request: Any) -> Any:
        """A CDC distributes (209) and the receiver scans and confirms what came (107): the
        goods are in its usable stock."""
        result = self.svc.distribute(supplier, request)
        self.receive(request.document_no, list(request.codes), actor=request.receiver_uscc)
        return result


def make_province(engine: Engine, clock: Clock = SYSTEM_CLOCK) -> Province:
    outbox = Outbox(engine, ExchangeStore(schema.exchange), PROVINCE_SIGNER, "province-32")
    svc = ImmunizationService(
        engine, "platform", PLATFORM_SIGNER.verifier(), outbox=outbox, clock=clock
    )
    for uscc, name, kind, division in UNITS:  # added or updated
        svc.register_organisation(
            Organisation(uscc=uscc, name=name, kind=kind, division_code=division)
        )
    return Province(svc, engine)


def confirmation(note_no: str, **extra: Any) -> ReceivingNote:
    """A confirmation (107) of what was scanned of ``note_no``."""
    return ReceivingNote(shipping_note_no=note_no, **fields("rcv", **extra))


def refused(province: Province, reason: str, call: Any, *args: Any) -> DomainError:
    """The call is refused for ``reason`` and changes nothing at all."""
    before = province.counts()
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.reason == reason, caught.value.message
    assert province.counts() == before
    return caught.value
