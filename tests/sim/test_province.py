"""The synthetic province: deterministic, both code families, real checks passed."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from vaxtrace.core.codes import CodeFamily, has_vt_check, split_canonical
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.sim.province import build_province, sample_codes
from vaxtrace.store.engine import make_engine, read_tx
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.trace.schema import shipping_note, trace_code


def _codes(engine: Engine) -> list[str]:
    with read_tx(engine) as conn:
        return [r[0] for r in conn.execute(select(trace_code.c.code).order_by(trace_code.c.id))]


def test_same_seed_same_province(tmp_path: object) -> None:
    built = []
    for name in ("a", "b"):
        engine = make_engine(f"sqlite:///{tmp_path}/{name}.sqlite")
        upgrade(engine, "trace")
        province = build_province(TraceService(engine), units=3000, seed=5)
        built.append(([b.batch_no for b in province.batches], _codes(engine)))
        engine.dispose()
    assert built[0] == built[1]
    assert len(built[0][1]) > 3000


def test_province_on_both_backends(trace_engine: Engine) -> None:
    svc = TraceService(trace_engine)
    progressed: list[int] = []
    province = build_province(svc, units=8000, seed=1, progress=progressed.append)
    assert sum(progressed) == sum(b.doses for b in province.batches)
    assert 6000 <= sum(progressed) <= 10000  # whole cases, every product line at least one
    with read_tx(trace_engine) as conn:
        by_level = dict(
            conn.execute(
                select(trace_code.c.level, func.count()).group_by(trace_code.c.level)
            ).all()
        )
        statuses = {r[0] for r in conn.execute(select(trace_code.c.status).distinct())}
        notes = conn.execute(select(func.count()).select_from(shipping_note)).scalar_one()
    assert set(by_level) == {1, 2, 3} and by_level[1] > by_level[2] > by_level[3]
    assert statuses == {"normal"}  # released and stocked or shipped
    shipped = [b for b in province.batches if b.shipped_notes]
    assert shipped and notes == sum(len(b.shipped_notes) for b in shipped)
    samples = sample_codes(svc)
    families = {split_canonical(s).family for s in samples}
    assert families == {CodeFamily.NMPA20, CodeFamily.GS1}
    assert all(has_vt_check(s) for s in samples if s.startswith("8"))
    summary = svc.batch_summary(shipped[0].mah_uscc, shipped[0].batch_no)
    holders = {row["holder_uscc"] for row in summary["by_holder_and_status"]}
    assert holders == {shipped[0].mah_uscc, province.cdc.uscc}
