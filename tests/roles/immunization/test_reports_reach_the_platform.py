"""What the province posts is what the platform takes: each report, delivered from the outbox,
is accepted by the platform service (signature, sender role, data owner, DownstreamEvent)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.immunization import Distribution, Vaccination
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
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
