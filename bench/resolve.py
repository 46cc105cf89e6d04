"""Address resolution with 100,000 coding rules registered, in-process on SQLite.

Rules are loaded through the platform store in one transaction (half 20-digit identification
codes, half GS1: GTINs and company prefixes), then random codes of every family are resolved.
Last line: ``resolve p95: X ms``. Run: ``python bench/resolve.py``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vaxtrace.core.codes import gs1_canonical, issue_nmpa20
from vaxtrace.core.registry import (
    ConnectedSystem,
    RegisteredCodingRule,
    RegisteredOrganisation,
    RuleEntryKind,
)
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.sim.catalogue import make_gtin, make_uscc
from vaxtrace.store.engine import make_engine, write_tx
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.platform import registry


def load(svc: PlatformService, rules: int) -> list[str]:
    """Register ``rules`` rules of one entry each; return a code each rule covers."""
    mah = make_uscc("91320100MA1X00001")
    svc.register_organisation(
        RegisteredOrganisation(
            uscc=mah, name="华东示例生物制品股份有限公司", kind="mah", division_code="320100"
        )
    )
    svc.register_system(
        ConnectedSystem(
            system_id="trace-a",
            name="trace-a",
            role="trace",
            operator_uscc=mah,
            endpoint="https://trace-a.example",
            represents=(mah,),
        )
    )
    samples = []
    with write_tx(svc.engine) as conn:
        for i in range(rules):
            if i % 3 == 0:
                entry, kind, family = f"8{i:06d}", RuleEntryKind.IDENTIFICATION_CODE, "nmpa20"
                samples.append(issue_nmpa20(entry, i))
            elif i % 3 == 1:
                entry = make_gtin(f"06{i:011d}")
                kind, family = RuleEntryKind.IDENTIFICATION_CODE, "gs1"
                samples.append(gs1_canonical(entry, str(i)))
            else:
                entry, kind, family = f"7{i:08d}", RuleEntryKind.GS1_COMPANY_PREFIX, "gs1"
                samples.append(gs1_canonical(make_gtin(f"1{entry}123"), str(i)))
            rule = RegisteredCodingRule(
                mah_uscc=mah,
                family=family,
                kind=kind,
                entries=(entry,),
                serial_format="N9",
                check_algorithm="VT-MOD97-10x2",
            )
            rule_id = registry.add_rule(conn, "trace-a", mah, rule.model_dump(mode="json"))
            registry.add_entries(conn, rule_id, kind.value, [entry], mah, "trace-a")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'platform.sqlite'}")
        upgrade(engine, "platform")
        svc = PlatformService(engine)
        start = time.perf_counter()
        samples = load(svc, args.rules)
        print(
            f"loaded {args.rules} rules in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        rng = random.Random(5)
        timings = []
        for code in rng.choices(samples, k=args.queries):
            begin = time.perf_counter()
            svc.resolve(code)
            timings.append((time.perf_counter() - begin) * 1000)
        engine.dispose()
    print(
        f"resolved {args.queries} codes; median {statistics.median(timings):.3f} ms",
        file=sys.stderr,
        flush=True,
    )
    print(f"resolve p95: {statistics.quantiles(timings, n=100)[94]:.3f} ms")


if __name__ == "__main__":
    main()
