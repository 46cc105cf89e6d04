"""Products from MAHs in the platform's registry (疫苗产品): registered by the trace system
representing the MAH, with identification codes of that MAH's coding rules, entering the
change feed once per change, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from tests.refusals import refused_with
from tests.roles.platform.platform_world import HOST, MAH_A, MAH_B, A, B, rule
from vaxtrace.core.datasets.basic_data import VaccineProduct
from vaxtrace.core.errors import DomainError
from vaxtrace.core.registry import ConnectedSystem, RuleEntryKind
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import mahs, product_for
from vaxtrace.store.platform.schema import product, registry_change


def _product(mah_uscc: str, maker: int = 0, key: str = "HEPB") -> VaccineProduct:
    made = product_for(mahs(2)[maker], maker, key)  # maker 0: 20-digit codes, 1: GS1
    return made.model_copy(update={"mah_uscc": mah_uscc})


def _codes(item: VaccineProduct) -> list[str]:
    return [level.identification_code for level in item.levels]


def _rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        products = conn.execute(select(func.count()).select_from(product)).scalar_one()
        changes = conn.execute(select(func.count()).select_from(registry_change)).scalar_one()
    return int(products), int(changes)


def test_a_product_enters_the_feed_once_per_change(platform: PlatformService) -> None:
    item = _product(MAH_A)
    platform.register_coding_rule(A, rule(MAH_A, _codes(item)))
    latest = platform.changes(0)["latest"]
    done = platform.register_product(A, item)
    assert done == {"key": f"{MAH_A}/HEPB", "version": latest + 1, "changed": True}
    feed = platform.changes(latest)["changes"]
    assert [(c["kind"], c["key"]) for c in feed] == [("product", f"{MAH_A}/HEPB")]
    assert VaccineProduct.model_validate(feed[0]["data"]) == item
    again = platform.register_product(A, item)
    assert again == {"key": f"{MAH_A}/HEPB", "version": latest + 1, "changed": False}
    renamed = item.model_copy(update={"trade_name": "示例乙肝"})
    assert platform.register_product(A, renamed)["version"] == latest + 2
    newest = platform.changes(latest + 1)["changes"]
    assert [c["data"]["trade_name"] for c in newest] == ["示例乙肝"]


def test_gs1_codes_under_the_mahs_company_prefix_are_its_own(platform: PlatformService) -> None:
    item = _product(MAH_B, maker=1)
    prefix = _codes(item)[0][1:8]
    platform.register_coding_rule(
        B, rule(MAH_B, [prefix], family="gs1", kind=RuleEntryKind.GS1_COMPANY_PREFIX)
    )
    assert platform.register_product(B, item)["changed"] is True


def test_only_the_mahs_trace_system_registers_its_products(platform: PlatformService) -> None:
    platform.register_coding_rule(A, rule(MAH_A, _codes(_product(MAH_A))))
    platform.register_system(
        ConnectedSystem(
            system_id="province-32",
            name="示例省免疫规划信息系统",
            role="immunization",
            operator_uscc=MAH_B,
            endpoint="https://province-32.example",
            represents=[MAH_A],
        )
    )
    before = _rows(platform.engine)
    refusals = {
        "not_represented": B,  # MAH B's trace system, for MAH A
        "not_a_trace_system": SystemIdentity("province-32", MAH_B, 3),
        "certificate_mismatch": SystemIdentity("trace-a", MAH_B, 4),  # not HOST's certificate
        "unknown_system": SystemIdentity("trace-x", HOST, 5),
    }
    for reason, caller in refusals.items():
        with refused_with(403) as refused:
            platform.register_product(caller, _product(MAH_A))
        assert refused.value.reason == reason
    assert _rows(platform.engine) == before


def test_identification_codes_must_be_the_mahs_own(platform: PlatformService) -> None:
    item = _product(MAH_A)
    before = _rows(platform.engine)
    with pytest.raises(DomainError) as unclaimed:  # no coding rule lists them yet
        platform.register_product(A, item)
    assert unclaimed.value.reason == "not_in_coding_rule"
    assert unclaimed.value.field == "levels[0].identification_code"
    assert _rows(platform.engine) == before
    platform.register_coding_rule(A, rule(MAH_A, _codes(item)))
    before = _rows(platform.engine)
    with refused_with(409) as taken:  # MAH B's product with MAH A's codes
        platform.register_product(B, _product(MAH_B))
    assert taken.value.reason == "identification_code_taken"
    assert _rows(platform.engine) == before
    assert platform.register_product(A, item)["changed"] is True
