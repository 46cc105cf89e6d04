"""The demo: every role in one process, each on its own database, talking through the
exchange API in-process."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, Table, func, select

from vaxtrace import demo
from vaxtrace.node import ROLES
from vaxtrace.settings import Settings
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization.schema import exchange as province_exchange
from vaxtrace.store.platform.schema import exchange as platform_exchange
from vaxtrace.store.trace.schema import exchange as trace_exchange
from vaxtrace.store.trace.schema import shipping_note


def _senders(engine: Engine, table: Table) -> dict[str, int]:
    with read_tx(engine) as conn:
        rows = conn.execute(select(table.c.sender, func.count()).group_by(table.c.sender))
        return {str(sender): int(n) for sender, n in rows}


def test_shipping_notes_travel_trace_to_platform_to_province(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    built = demo.build(settings, 6000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    assert built.failures == []
    app = built.app
    with read_tx(app.state.trace.engine) as conn:
        notes = int(conn.execute(select(func.count()).select_from(shipping_note)).scalar_one())
    assert notes >= 2 and built.exchanged["shipping notes"] == notes
    # each hop went through the receiving role's API, under the sender's certificate: the
    # notes and the MAHs' two safety signals (a lock, a recall) down, the province's day
    # (receipt, supply, the site's receipt, vaccination) and the gate's day (a receipt, a
    # supply and the site's receipt for each of five batches), and the vaccination the trace
    # system refuses, up; that refusal down
    signals, reports, refused = 2, 4 + 3 * 5 + 1, 1
    assert _senders(app.state.platform.engine, platform_exchange.inbox) == {
        "local-trace": notes + signals,
        "local-province": reports,
    }
    assert _senders(app.state.immunization.engine, province_exchange.inbox) == {
        "local-platform": notes + signals + refused
    }
    assert app.state.immunization.count() == notes
    # the trace node learnt the province's CDC and two sites, the province node the same
    # three, the supervision node its regulator
    assert built.exchanged["organisations learnt from the registry"] == 7
    # and back: the province's receipt, supply and vaccination reach the dose's owner
    assert built.vaccinated is not None
    dose = app.state.trace.trace(built.vaccinated)
    assert dose["status"] == "used"
    assert [e["bill_type"] for e in dose["history"]][-4:] == ["107", "209", "107", "322"]
    # the CDC saw the lot release certificate of that dose's batch, fetched through the
    # platform from the MAH's trace system: the file the trace system filed, hash checked
    assert built.certificate["path"].startswith("/immunization/v1/lot-release-certificates/")
    mah_uscc, batch_no = built.certificate["path"].rsplit("/", 2)[-2:]
    filed = app.state.trace.lot_release_certificate(mah_uscc, batch_no)
    assert built.certificate["sha256"] == filed.sha256
    assert _senders(app.state.trace.engine, trace_exchange.inbox) == {
        "local-platform": reports - refused
    }
    # the MAHs' lock and recall also reached the province's regulator
    regulator = demo.cast().regulators[0].uscc
    seen = app.state.supervision.findings(regulator)["findings"]
    assert sorted(f["kind"] for f in seen if f["kind"].startswith("mah_")) == [
        "mah_lock",
        "mah_recall",
    ]


def test_a_rebuilt_demo_starts_from_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = demo.build(settings, 2000, 1, lambda _n: None)
    for svc in (first.app.state.trace, first.app.state.platform, first.app.state.immunization):
        svc.engine.dispose()
    key = (tmp_path / "exchange" / "local-trace.key").read_bytes()
    demo.wipe(settings)
    assert not any((tmp_path / f"{role}.sqlite").exists() for role in ROLES)
    again = demo.build(settings, 2000, 1, lambda _n: None)
    demo.run(again, timeout=60)
    assert again.failures == []
    assert (tmp_path / "exchange" / "local-trace.key").read_bytes() != key
