"""Every connected system's basic data converge on the platform's registry: each copies the
change feed and takes into its own registers what its role needs. Nodes of the three kinds,
each on its own database, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.registry import (
    ConnectedSystem,
    RegisteredCodingRule,
    RegisteredOrganisation,
    SystemRole,
)
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.registry_feed import Fetch, follow_registry
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.sim.catalogue import (
    mahs,
    make_uscc,
    product_for,
    provincial_cdc,
    provincial_regulator,
    vaccination_sites,
)
from vaxtrace.store.basic_data import BasicDataStore, RegistryCopy, applied_version
from vaxtrace.store.immunization import schema as province_schema
from vaxtrace.store.supervision import schema as supervision_schema
from vaxtrace.store.trace import schema as trace_schema

SOURCE = "https://platform.example"
TRACE_A = SystemIdentity("trace-a", mahs(1)[0].organisation.uscc, 1)
MAH = mahs(1)[0].organisation
CDC, REGULATOR = provincial_cdc(), provincial_regulator()
SITES = vaccination_sites()
NEIGHBOUR = Organisation(
    uscc=make_uscc("12330000MB0000001"),
    name="邻省疾病预防控制中心",
    kind=OrgKind.CDC,
    division_code="330000",
)


class Nodes:
    """The platform and a trace, a province and a supervision node, each its own database."""

    def __init__(self, engine_of: Callable[[str], Engine]) -> None:
        self.hub = PlatformService(engine_of("platform"))
        self.trace = TraceService(engine_of("trace"))
        self.province = ImmunizationService(engine_of("immunization"), "platform", None)
        self.watch = SupervisionService(engine_of("supervision"), "platform", None)

    def sync_all(self, fetch: Fetch | None = None) -> list[int]:
        fetch = fetch or self.hub.changes
        return [
            self.trace.sync_registry(SOURCE, fetch)["applied"],
            self.province.sync_registry("province-32", SOURCE, fetch)["applied"],
            self.watch.sync_registry("watch-32", SOURCE, fetch)["applied"],
        ]

    def copies(self) -> list[dict[tuple[str, str], Any]]:
        return [
            _copy_of(self.trace.engine, trace_schema.basic_data),
            _copy_of(self.province.engine, province_schema.basic_data),
            _copy_of(self.watch.engine, supervision_schema.basic_data),
        ]

    def registry(self) -> dict[tuple[str, str], Any]:
        """The platform's current registry, as its feed tells it from the start."""
        return {(c["kind"], c["key"]): c["data"] for c in self.hub.changes(0)["changes"]}


def _copy_of(engine: Engine, tables: RegistryCopy) -> dict[tuple[str, str], Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(tables.data.c.kind, tables.data.c.key, tables.data.c.data))
        return {(kind, key): data for kind, key, data in rows}


def _names(engine: Engine, table: Any) -> dict[str, str]:
    with engine.connect() as conn:
        return {uscc: name for uscc, name in conn.execute(select(table.c.uscc, table.c.name))}


def _register(hub: PlatformService, *orgs: Organisation) -> None:
    for org in orgs:
        hub.register_organisation(RegisteredOrganisation.model_validate(org.model_dump()))


def _system(hub: PlatformService, system_id: str, role: SystemRole, *orgs: Organisation) -> None:
    hub.register_system(
        ConnectedSystem(
            system_id=system_id,
            name=system_id,
            role=role,
            operator_uscc=orgs[0].uscc,
            endpoint=f"https://{system_id}.example",
            represents=tuple(o.uscc for o in orgs),
        )
    )


@pytest.fixture
def nodes(role_engines: Callable[[str], Engine]) -> Nodes:
    made = Nodes(role_engines)
    _register(made.hub, MAH, CDC, *SITES, REGULATOR, NEIGHBOUR)
    _system(made.hub, "trace-a", SystemRole.TRACE, MAH)
    _system(made.hub, "province-32", SystemRole.IMMUNIZATION, CDC, SITES[0])
    _system(made.hub, "watch-32", SystemRole.SUPERVISION, REGULATOR)
    hepb = product_for(mahs(1)[0], 0, "HEPB")
    codes = [level.identification_code for level in hepb.levels]
    made.hub.register_coding_rule(
        TRACE_A,
        RegisteredCodingRule(
            mah_uscc=MAH.uscc,
            family=hepb.family,
            entries=codes,
            serial_format="N9",
            check_algorithm="VT-MOD97-10x2",
        ),
    )
    made.hub.register_product(TRACE_A, hepb)
    return made


def test_a_change_reaches_every_node(nodes: Nodes) -> None:
    assert nodes.sync_all() == [10, 10, 10]  # six organisations, three systems, a product
    assert nodes.copies() == [nodes.registry()] * 3
    everyone = {o.uscc for o in (MAH, CDC, *SITES, REGULATOR, NEIGHBOUR)}
    assert set(_names(nodes.trace.engine, trace_schema.organisation)) == everyone
    province_units = _names(nodes.province.engine, province_schema.organisation)
    assert province_units == {CDC.uscc: CDC.name, SITES[0].uscc: SITES[0].name}
    assert _names(nodes.watch.engine, supervision_schema.regulator) == {
        REGULATOR.uscc: REGULATOR.name
    }

    renamed = CDC.model_copy(update={"name": "示例省疾病预防控制与公共卫生中心"})
    _register(
        nodes.hub, renamed, REGULATOR.model_copy(update={"name": "示例省药品监督管理局稽查局"})
    )
    _system(nodes.hub, "province-32", SystemRole.IMMUNIZATION, CDC, *SITES)  # a site joins
    newer = product_for(mahs(1)[0], 0, "HEPB").model_copy(update={"trade_name": "示例乙肝"})
    nodes.hub.register_product(TRACE_A, newer)
    assert nodes.sync_all() == [4, 4, 4]
    assert nodes.copies() == [nodes.registry()] * 3
    assert _names(nodes.trace.engine, trace_schema.organisation)[CDC.uscc] == renamed.name
    assert _names(nodes.province.engine, province_schema.organisation) == {
        CDC.uscc: renamed.name,
        SITES[0].uscc: SITES[0].name,
        SITES[1].uscc: SITES[1].name,
    }
    assert _names(nodes.watch.engine, supervision_schema.regulator) == {
        REGULATOR.uscc: "示例省药品监督管理局稽查局"
    }
    assert nodes.copies()[1][("product", f"{MAH.uscc}/HEPB")]["trade_name"] == "示例乙肝"
    assert nodes.sync_all() == [0, 0, 0]


def test_a_unit_a_province_holds_is_kept_in_step(nodes: Nodes) -> None:
    """A site the province registered itself, though its system does not represent it at the
    platform, still follows the registry's changes."""
    nodes.province.register_organisation(SITES[1])
    nodes.sync_all()
    moved = SITES[1].model_copy(update={"name": "示例市建邺区妇幼保健计划生育服务中心"})
    _register(nodes.hub, moved)
    nodes.sync_all()
    assert _names(nodes.province.engine, province_schema.organisation)[SITES[1].uscc] == moved.name
    assert NEIGHBOUR.uscc not in _names(nodes.province.engine, province_schema.organisation)


def test_a_broken_pull_resumes_after_the_last_page_applied(nodes: Nodes) -> None:
    calls: list[int] = []

    def pages_of_three_then_down(since: int) -> dict[str, Any]:
        calls.append(since)
        if len(calls) == 3:
            raise ConnectionError("the platform went down")
        answer = nodes.hub.changes(since)
        return answer | {"changes": answer["changes"][:3]}

    with pytest.raises(ConnectionError):
        nodes.province.sync_registry("province-32", SOURCE, pages_of_three_then_down)
    assert len(_copy_of(nodes.province.engine, province_schema.basic_data)) == 6
    assert nodes.province.sync_registry("province-32", SOURCE, nodes.hub.changes)["applied"] == 4
    assert _copy_of(nodes.province.engine, province_schema.basic_data) == nodes.registry()
    assert set(_names(nodes.province.engine, province_schema.organisation)) == {
        CDC.uscc,
        SITES[0].uscc,
    }


def test_a_page_is_applied_all_or_none(nodes: Nodes) -> None:
    def refusing(_conn: object, _copy: object, _changes: object) -> None:
        raise RuntimeError("a register refused the page")

    engine = nodes.province.engine
    with pytest.raises(RuntimeError):
        copy = BasicDataStore(province_schema.basic_data)
        follow_registry(engine, copy, SOURCE, nodes.hub.changes, refusing)
    assert _copy_of(engine, province_schema.basic_data) == {}
    with engine.connect() as conn:
        assert applied_version(conn, province_schema.basic_data, SOURCE) == 0
