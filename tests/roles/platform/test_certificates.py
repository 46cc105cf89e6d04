"""Who the platform fetches a batch's lot release certificate for (批签发证明): a system the
batch's goods were sent to, or a supervision system; from the trace system of the MAH."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.roles.platform.platform_world import MAH_A, MAH_B, org, registered_platform
from vaxtrace.core.errors import DomainError
from vaxtrace.core.registry import ConnectedSystem
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.platform.service.certificates import certificate_source
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import write_tx
from vaxtrace.store.platform import routes

PROVINCE_OPERATOR = make_uscc("12320000MB0000001")
REGULATOR = make_uscc("11320000MB0000002")
PROVINCE = SystemIdentity("province-32", PROVINCE_OPERATOR, 3)
OTHER_PROVINCE = SystemIdentity("province-33", PROVINCE_OPERATOR, 4)
SUPERVISION = SystemIdentity("supervision-32", REGULATOR, 5)


@pytest.fixture
def hub(platform_engine: Engine) -> PlatformService:
    svc = registered_platform(platform_engine)
    svc.register_organisation(org(PROVINCE_OPERATOR, "示例省疾病预防控制中心", "cdc"))
    svc.register_organisation(org(REGULATOR, "示例省药品监督管理局", "regulator"))
    for who, role in ((PROVINCE, "immunization"), (OTHER_PROVINCE, "immunization")):
        svc.register_system(system(who, role, PROVINCE_OPERATOR))
    svc.register_system(system(SUPERVISION, "supervision", REGULATOR))
    with write_tx(platform_engine) as conn:  # goods of MAH A's batch went to province 32
        routes.add_routes(conn, MAH_A, ["B2024001"], PROVINCE.system_id, PROVINCE_OPERATOR)
    return svc


def system(who: SystemIdentity, role: str, represents: str) -> ConnectedSystem:
    return ConnectedSystem(
        system_id=who.system_id,
        name=f"{who.system_id} 系统",
        role=role,
        operator_uscc=who.org_uscc,
        endpoint=f"https://{who.system_id}.example:8443",
        represents=[represents],
    )


def test_the_holder_and_a_supervisor_are_sent_to_the_mahs_trace_system(
    hub: PlatformService,
) -> None:
    for caller in (PROVINCE, SUPERVISION):
        found = certificate_source(hub.engine, caller, (MAH_A, "B2024001"))
        assert found.rstrip("/") == "https://trace-a.example:8443"


def test_a_system_the_batch_never_went_to_is_refused(hub: PlatformService) -> None:
    with pytest.raises(DomainError) as refused:
        certificate_source(hub.engine, OTHER_PROVINCE, (MAH_A, "B2024001"))
    assert (refused.value.reason, refused.value.field) == ("not_a_holder", "batch_no")


def test_a_mah_no_trace_system_represents_is_unknown(hub: PlatformService) -> None:
    unrepresented = make_uscc("91330100MA1X00009")
    with pytest.raises(DomainError) as refused:
        certificate_source(hub.engine, SUPERVISION, (unrepresented, "B1"))
    assert (refused.value.reason, refused.value.field) == ("unknown_mah", "mah_uscc")
    assert certificate_source(hub.engine, SUPERVISION, (MAH_B, "B1")).startswith("https://trace-b")
