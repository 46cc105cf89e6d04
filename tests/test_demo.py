"""The demo: every role in one process, each on its own database, talking through the
exchange API in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, func, select

from vaxtrace import demo
from vaxtrace.core.recipients.vaccines import vaccine_of
from vaxtrace.core.schedule import national_schedule
from vaxtrace.core.validation.rules import RULES
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


SUPERVISION_ONLY = ("101", "901", "902", "931")
"""The event subtypes of what nodes send the platform for the supervision systems only
(production and batch facts, cold-chain excursions: vaxtrace.core.supervision)."""


def _for_supervision(engine: Engine, table: Table) -> dict[str, int]:
    """Per sender, the envelopes taken that carry a document for the supervision only."""
    with read_tx(engine) as conn:
        rows = conn.execute(select(table.c.sender, table.c.envelope)).all()
    counts: dict[str, int] = {}
    for sender, envelope in rows:
        if envelope.get("event_subtype") in SUPERVISION_ONLY:
            counts[str(sender)] = counts.get(str(sender), 0) + 1
    return counts


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
    # supply and the site's receipt for each of five batches), the vaccination the trace
    # system refuses, and the children's day (the CDC's receipt of each delivery left, its
    # supply to the site and a report per dose given to the children), up; that refusal down
    signals, refused = 2, 1
    reports = 4 + 3 * 5 + 1 + 3 * built.children_deliveries + built.children_doses
    watched = _for_supervision(app.state.platform.engine, platform_exchange.inbox)
    assert watched["local-trace"] > 0  # production, self-inspection and lot release
    assert _senders(app.state.platform.engine, platform_exchange.inbox) == {
        "local-trace": notes + signals + watched["local-trace"],
        "local-province": reports + watched.get("local-province", 0),
        "local-supervision": 1,  # the public notice of the MAH's recall
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
    # that recall is tracked unit by unit there, and announced at the platform's public entry
    (recall,) = app.state.supervision.recalls(regulator)["recalls"]
    notices = app.state.platform.recall_notices()["recalls"]
    assert [(n["mah_uscc"], n["recall_no"], n["state"]) for n in notices] == [
        (recall["mah_uscc"], recall["recall_no"], "open")
    ]
    tracked = app.state.supervision.recall(regulator, recall["id"])
    assert tracked["completion"]["units"] > 0


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


def test_the_sites_register_and_vaccinate_children_and_a_guardian_books_the_next_dose(
    tmp_path: Path,
) -> None:
    built = demo.build(Settings(data_dir=tmp_path), 10_000, 1, lambda _n: None)  # as users run it
    demo.run(built, timeout=60)
    assert built.failures == []
    first, second = (o.uscc for o in demo.cast().province[1:3])
    assert [c["site"] for c in built.children].count(second) == 1
    svc = built.app.state.immunization
    short_names = list(national_schedule().products)
    held = {
        vaccine_of(line["product_code"], line["product_name"], short_names)
        for line in svc.stock_summary(first)["lines"]
        if line["status"] == "usable"
    }
    assert {"IPV", "DTaP", "MMR", "JE-L"} <= held
    given = 0
    for child in built.children:
        record = svc.child_record(child["site"], child["child_id"])
        if child["site"] == second:  # the second site holds no doses
            assert record["doses"] == []
            continue
        for dose in record["doses"]:  # every dose given was due: valid, and judged
            assert dose["evaluation"]["valid"] is True, (child["name"], dose)
        given += len(record["doses"])
        today = record["assessment_date"]
        for series in record["series"]:  # what is still due today, the site holds none of
            if series["status"] in ("due", "overdue") and series["next"]["earliest"] <= today:
                assert not set(series["next"]["products"]) & held, (child["name"], series)
    assert given == built.children_doses >= 12
    eight_months = next(c for c in built.children if c["name"] == "郑浩然")
    doses = svc.child_record(first, eight_months["child_id"])["doses"]
    assert {"IPV", "DTaP", "MMR", "JE-L"} <= {d["vaccine"] for d in doses}
    # the guardian the demo printed logs in over HTTP, chooses a password, sees their child
    # only, and books its next HepB dose at the first slot from its earliest day; an earlier
    # slot is refused, as the site would turn the child away
    g, api = built.guardian, "/immunization/v1"
    with TestClient(built.app) as client:
        login = {"phone": g["phone"], "password": g["initial_password"]}
        token = client.post(f"{api}/guardian/sessions", json=login).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        change = {"current_password": g["initial_password"], "new_password": "zhou-2026-home"}
        assert client.post(f"{api}/guardian/password", json=change, headers=auth).is_success
        mine = client.get(f"{api}/guardian/children", headers=auth).json()
        assert [c["child_id"] for c in mine] == [g["child_id"]]
        record = client.get(f"{api}/guardian/children/{g['child_id']}/record", headers=auth)
        hepb = next(s for s in record.json()["series"] if s["vaccine"] == "HepB")
        earliest = hepb["next"]["earliest"]

        def hepb_slots(**window: Any) -> list[dict[str, Any]]:
            params = {"site_uscc": g["site"], "vaccine": "HepB", **window}
            return list(client.get(f"{api}/public/slots", params=params).json()["slots"])

        early = next(s for s in hepb_slots(days=14) if s["day"] < earliest)
        on_time = hepb_slots(**{"from": earliest, "days": 14})[0]  # the week's 2 vaccination days
        booking = {"child_id": g["child_id"]}
        refused = client.post(
            f"{api}/guardian/appointments",
            json=booking | {"slot_id": early["slot_id"]},
            headers=auth,
        )
        assert (refused.status_code, refused.json()["reason"]) == (409, "dose_not_due")
        booked = client.post(
            f"{api}/guardian/appointments",
            json=booking | {"slot_id": on_time["slot_id"]},
            headers=auth,
        )
        assert booked.status_code == 201, booked.text
    # the sample roster was written and checked: every registered child of the site matched,
    # the child no site registered is no_match
    school = built.school
    assert Path(school["roster"]).read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM
    assert school["counts"]["no_match"] == 1
    matched = school["counts"]["complete"] + school["counts"]["incomplete"]
    assert matched == [c["site"] for c in built.children].count(first)


def test_planted_anomalies_are_found_every_one_and_nothing_else(tmp_path: Path) -> None:
    """``vaxtrace demo --anomalies``: a case of every validation rule, reported by faulty
    systems through the platform, is found by the regulator's next run, and only they; the
    clean chain before them had no finding; the labels stay for ``vaxtrace validate``."""
    built = demo.build(Settings(data_dir=tmp_path), 2000, 1, lambda _n: None, anomalies=True)
    demo.run(built, timeout=60, anomalies=True)
    assert built.failures == []
    assert built.validation["found"] == 0  # the clean chain
    planted = built.anomalies
    assert planted["planted"] == len(RULES) and planted["found"] == len(RULES)
    table = {line.rule: line for line in planted["table"]}
    assert all(table[r.id].recall == 1.0 and table[r.id].precision == 1.0 for r in RULES)
    labels = json.loads((tmp_path / "anomalies.json").read_text(encoding="utf-8"))
    assert {label["rule"] for label in labels} == {r.id for r in RULES}
