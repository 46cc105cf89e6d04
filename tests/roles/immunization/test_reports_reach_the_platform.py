"""What the province posts is what the platform takes: each report, delivered from the outbox,
is accepted by the platform service (signature, sender role, data owner, DownstreamEvent)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from province_world import (
    BOXES,
    CASE,
    CONTENTS,
    MAH,
    POV,
    PROVINCE_CDC,
    PROVINCE_SIGNER,
    Province,
    dose,
    fields,
    make_province,
)
from sqlalchemy import Engine

from vaxtrace.core.coldchain.readings import TemperatureUpload
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.immunization import Distribution, Vaccination
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.envelope import open_envelope
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.store.engine import make_engine
from vaxtrace.store.migrate import upgrade


@pytest.fixture
def hub(platform_engine: Engine) -> PlatformService:
    svc = PlatformService(platform_engine)
    for uscc, name, kind, division in (
        (MAH, "华东示例生物制品股份有限公司", OrgKind.MAH, "320100"),
        (PROVINCE_CDC, "示例省疾病预防控制中心", OrgKind.CDC, "320000"),
        (POV, "示例市玄武区示例社区卫生服务中心", OrgKind.POV, "320102"),
    ):
        svc.register_organisation(
            RegisteredOrganisation(uscc=uscc, name=name, kind=kind, division_code=division)
        )
    svc.register_system(
        ConnectedSystem(
            system_id="province-32",
            name="示例省免疫规划信息系统",
            role="immunization",
            operator_uscc=PROVINCE_CDC,
            endpoint="https://province-32.example",
            represents=(PROVINCE_CDC, POV),
            exchange_key=PROVINCE_SIGNER.public_text(),
        )
    )
    return svc


def test_every_report_is_taken_by_the_platform(hub: PlatformService, tmp_path: Path) -> None:
    """The province node on SQLite, the platform on each backend; the province system must
    represent every unit that reports (data_owner is the CDC or POV that did the step)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'province.sqlite'}")
    upgrade(engine, "immunization")
    province: Province = make_province(engine)
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    province.supply(PROVINCE_CDC, Distribution(**fields("d"), codes=(BOXES[0],), receiver_uscc=POV))
    province.svc.vaccinate(
        POV, Vaccination(**fields("v"), code=dose(1), vaccinee_ref="c-7", vaccinator="李护士")
    )
    caller = SystemIdentity("province-32", PROVINCE_CDC, 1)
    taken: list[dict[str, Any]] = []

    def send(receiver: str, batch: Sequence[Mapping[str, Any]]) -> None:
        assert receiver == "platform"
        taken.extend(hub.receive_batch(caller, [dict(e) for e in batch]))

    assert province.svc.outbox is not None
    assert province.svc.outbox.deliver_due(send).delivered == 4
    assert [t["accepted"] for t in taken] == [True, True, True, True]
    engine.dispose()


def test_a_journeys_excursion_is_reported_on_the_delivery_it_names(tmp_path: Path) -> None:
    """A transport record (a van's logger) naming its delivery holds no stock, yet what it
    found is reported on the goods of that delivery, for the supervision systems."""
    engine = make_engine(f"sqlite:///{tmp_path / 'province.sqlite'}")
    upgrade(engine, "immunization")
    province: Province = make_province(engine)
    province.announce("FH1", [CASE], contents=CONTENTS)
    start = datetime(2026, 11, 20, 1, tzinfo=UTC)
    hot = [  # 9 °C for 11 h: a heat excursion of the journey (> 8 °C for 10 h)
        {"time": (start + timedelta(minutes=10 * n)).isoformat(), "celsius": 9.0} for n in range(67)
    ]
    trip = TemperatureUpload.model_validate(
        {
            "client_document_id": "van-1",
            "document_no": "VAN-LOG-1",
            "equipment_id": "VAN-1",
            "kind": "transport",
            "product_class": "freeze_sensitive_2_8",
            "related_document_no": "FH1",
            "readings": [*hot, {"time": (start + timedelta(hours=12)).isoformat(), "celsius": 5.0}],
        }
    )
    province.svc.record_temperatures(PROVINCE_CDC, trip)
    sent: list[Mapping[str, Any]] = []
    assert province.svc.outbox is not None
    province.svc.outbox.deliver_due(lambda _r, batch: sent.extend(batch))
    verify = PROVINCE_SIGNER.verifier()
    opened = [open_envelope(dict(e), lambda *_: verify) for e in sent]
    reports = [o.payload["excursion_report"] for o in opened if "excursion_report" in o.payload]
    inside = {c for held in CONTENTS.values() for c in held}
    assert [set(r["codes"]) for r in reports] == [{CASE} | inside]  # the case and its contents
    assert reports[0]["org_uscc"] == PROVINCE_CDC
    engine.dispose()
