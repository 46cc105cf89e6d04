"""Products from MAHs in the platform's registry (疫苗产品): registered by the trace system
representing the MAH, entering the change feed once per change, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from tests.roles.platform.platform_world import MAH_A, MAH_B, A, B, rule
from vaxtrace.core.datasets import VaccineProduct
from vaxtrace.core.errors import Conflict, Forbidden
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import mahs, product_for
from vaxtrace.store.platform.schema import product, registry_change


def _product(mah_uscc: str, slot: int = 0, key: str = "HEPB") -> VaccineProduct:
    made = product_for(mahs(1)[0], slot, key)
    return made.model_copy(update={"mah_uscc": mah_uscc})


def _rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        products = conn.execute(select(func.count()).select_from(product)).scalar_one()
        changes = conn.execute(select(func.count()).select_from(registry_change)).scalar_one()
    return int(products), int(changes)


def test_a_product_enters_the_feed_once_per_change(platform: PlatformService) -> None:
    latest = platform.changes(0)["latest"]
    item = _product(MAH_A)
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


def test_only_the_mahs_trace_system_registers_its_products(platform: PlatformService) -> None:
    before = _rows(platform.engine)
    with pytest.raises(Forbidden) as refused:
        platform.register_product(B, _product(MAH_A))
    assert refused.value.reason == "not_represented" and refused.value.field == "mah_uscc"
    stranger = SystemIdentity("province-32", MAH_A, 9)
    with pytest.raises(Forbidden) as unknown:
        platform.register_product(stranger, _product(MAH_A))
    assert unknown.value.reason == "unknown_system"
    assert _rows(platform.engine) == before


def test_identification_codes_of_another_mah_are_refused(platform: PlatformService) -> None:
    taken = _product(MAH_A)
    platform.register_coding_rule(A, rule(MAH_A, [taken.levels[1].identification_code]))
    before = _rows(platform.engine)
    with pytest.raises(Conflict) as clash:
        platform.register_product(B, _product(MAH_B))  # the same codes, claimed by MAH B
    assert clash.value.reason == "overlapping_rule" and clash.value.field == "levels"
    assert _rows(platform.engine) == before
    assert platform.register_product(A, taken)["changed"] is True
