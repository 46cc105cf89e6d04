"""Following the platform's registry: how long a new node takes to copy a national-size
registry and take what its role needs, in-process on SQLite files.

Registers ``--orgs`` organisations at the platform (CDCs and vaccination sites across the
country's provinces, with a province system representing one province's ``--province-units``
units), then times a first pull by a trace node (takes every organisation), a province node
(takes its units) and a supervision node (takes its regulator), and a second pull of the
``--changes`` organisations changed since. The feed is read through the platform's service
(``PlatformService.changes``, pages of 1,000), the HTTP hop left out.

Last line: ``registry: first pull N orgs/s (trace), M orgs/s (province); again X ms``.
Run: ``python bench/registry.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation, SystemRole
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.sim.catalogue import make_uscc, provincial_regulator
from vaxtrace.store.engine import make_engine, write_tx
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.platform import registry

SOURCE = "https://platform.example"
PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"]


def _organisation(n: int) -> RegisteredOrganisation:
    province = PROVINCES[n % len(PROVINCES)]
    kind, name = (OrgKind.CDC, "疾病预防控制中心") if n % 20 == 0 else (OrgKind.POV, "卫生服务中心")
    return RegisteredOrganisation(
        uscc=make_uscc(f"12{province}0100MB{n:07d}"),
        name=f"示例{n}号社区{name}",
        kind=kind,
        division_code=f"{province}0100",
    )


def _register(hub: PlatformService, orgs: list[RegisteredOrganisation]) -> None:
    """Many organisations in one transaction (as a bulk onboarding would), each its own
    change in the feed."""
    with write_tx(hub.engine) as conn:
        for org in orgs:
            data = org.model_dump(mode="json")
            version = registry.record_change(conn, "organisation", org.uscc, data)
            registry.put_organisation(conn, org.uscc, data, version)


def _timed(run: Callable[[], dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    answer = run()
    return time.perf_counter() - start, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=50_000)
    parser.add_argument("--province-units", type=int, default=2_000)
    parser.add_argument("--changes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engines = {}
        for role in ("platform", "trace", "immunization", "supervision"):
            engines[role] = make_engine(f"sqlite:///{Path(folder) / role}.sqlite")
            upgrade(engines[role], role)
        hub = PlatformService(engines["platform"])
        orgs = [_organisation(n) for n in range(args.orgs)]
        regulator = RegisteredOrganisation.model_validate(provincial_regulator().model_dump())
        _register(hub, [*orgs, regulator])
        units = [o for o in orgs if o.division_code.startswith("32")][: args.province_units]
        for system_id, role, served in (
            ("province-32", SystemRole.IMMUNIZATION, units),
            ("watch-32", SystemRole.SUPERVISION, [regulator]),
        ):
            hub.register_system(
                ConnectedSystem(
                    system_id=system_id,
                    name=system_id,
                    role=role,
                    operator_uscc=served[0].uscc,
                    endpoint=f"https://{system_id}.example",
                    represents=tuple(o.uscc for o in served),
                )
            )
        trace = TraceService(engines["trace"])
        province = ImmunizationService(engines["immunization"], "platform", None)
        watch = SupervisionService(engines["supervision"], "platform", None)
        pulls: dict[str, Callable[[], dict[str, Any]]] = {
            "trace": lambda: trace.sync_registry(SOURCE, hub.changes),
            "province": lambda: province.sync_registry("province-32", SOURCE, hub.changes),
            "supervision": lambda: watch.sync_registry("watch-32", SOURCE, hub.changes),
        }
        first = {name: _timed(pull) for name, pull in pulls.items()}
        for name, (seconds, answer) in first.items():
            print(f"first pull, {name}: {answer['applied']:,} changes in {seconds:.2f} s")
        renamed = [o.model_copy(update={"name": o.name + "分中心"}) for o in units[: args.changes]]
        _register(hub, renamed)
        again = {name: _timed(pull) for name, pull in pulls.items()}
        for name, (seconds, answer) in again.items():
            print(f"again, {name}: {answer['applied']:,} changes in {seconds * 1000:.0f} ms")
        for engine in engines.values():
            engine.dispose()
    total = args.orgs + 3
    slowest_again = max(seconds for seconds, _ in again.values())
    print(
        f"registry: first pull {total / first['trace'][0]:,.0f} orgs/s (trace), "
        f"{total / first['province'][0]:,.0f} orgs/s (province); "
        f"again {slowest_again * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
