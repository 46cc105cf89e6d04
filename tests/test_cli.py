"""The command line, run as a user would: real data directory, real exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.datasets.production import Batch
from vaxtrace.node import trace_service
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc

runner = CliRunner()


def _demo(data_dir: Path) -> dict[str, object]:
    result = runner.invoke(
        app, ["demo", "--no-serve", "--units", "2000", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "self-check passed" in result.output
    info: dict[str, object] = json.loads((data_dir / "demo.json").read_text())
    return info


def test_demo_then_trace(tmp_path: Path) -> None:
    info = _demo(tmp_path)
    samples = info["codes"]
    assert isinstance(samples, list)
    assert any(s.startswith("8") for s in samples) and any(s.startswith("01") for s in samples)
    result = runner.invoke(app, ["trace", samples[0], "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["code"] == samples[0]
    assert [e["bill_type"] for e in answer["history"]][:3] == [
        "commission",
        "self_inspection",
        "lot_release",
    ]
    # a GS1 sample found through its Digital Link form
    gs1 = next(s for s in samples if s.startswith("01"))
    link = f"https://id.example.com/01/{gs1[2:16]}/21/{gs1[18:]}"
    result = runner.invoke(app, ["trace", link, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and gs1 in result.output


def test_the_demo_keeps_its_checkpoint_outside_and_verify_uses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    _demo(data_dir)
    kept = tmp_path / "demo-kept"
    trusted = ["--trusted", str(kept / "trace-checkpoint.txt")]
    trusted += ["--trusted-key", str(kept / "trace-key.txt")]
    result = runner.invoke(app, ["ledger", "verify", *trusted, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "ledger ok" in result.output


def test_demo_rebuilds_its_own_data_but_not_foreign_data(tmp_path: Path) -> None:
    _demo(tmp_path)
    _demo(tmp_path)  # a second run starts afresh
    other = tmp_path / "other"
    other.mkdir()
    (other / "trace.sqlite").write_bytes(b"")
    result = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(other)])
    assert result.exit_code == 1
    assert "not made by the demo" in result.output


def test_trace_errors_exit_1(tmp_path: Path) -> None:
    runner.invoke(app, ["db", "upgrade", "--data-dir", str(tmp_path)])
    bad = runner.invoke(app, ["trace", "12345", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 1 and "bad_length" in bad.output
    missing = runner.invoke(app, ["trace", issue_nmpa20("8123456", 1), "--data-dir", str(tmp_path)])
    assert missing.exit_code == 1 and "not_commissioned" in missing.output


def test_import_relations_all_or_nothing(tmp_path: Path) -> None:
    info = _demo(tmp_path)
    tokens = info["tokens"]
    assert isinstance(tokens, dict)
    mah = next(iter(tokens))
    codes = info["codes"]
    assert isinstance(codes, list)
    answers = [
        json.loads(
            runner.invoke(app, ["trace", str(c), "--json", "--data-dir", str(tmp_path)]).output
        )
        for c in codes
    ]
    # a dose still in its box (the demo uses one of the samples at a site, out of its box)
    answer = next(a for a in answers if a["containers"] and a["code"].startswith("8"))
    batch = "IMPORT01"
    svc = trace_service(Settings(data_dir=tmp_path))
    product_code = answer["product"]["product_code"]
    svc.register_batch(
        mah,
        Batch(
            product_code=product_code,
            batch_no=batch,
            production_date=date(2026, 5, 1),
            expiry_date=date(2028, 5, 1),
            quantity=10,
        ),
    )
    dose_ident = answer["code"][:7]
    box_ident = answer["containers"][0][:7]
    case_ident = answer["containers"][1][:7]
    case = issue_nmpa20(case_ident, 900_000_001)
    box = issue_nmpa20(box_ident, 900_000_001)
    doses = [issue_nmpa20(dose_ident, 900_000_001 + i) for i in range(3)]
    good = tmp_path / "relations.csv"
    good.write_text(
        "code,level,parent\n"
        + f"{case},3,\n{box},2,{case}\n"
        + "".join(f"{d},1,{box}\n" for d in doses)
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("code,level,parent\n" + f"{doses[0]},1,{box}\n{doses[0]},1,{case}\n")
    refused = runner.invoke(
        app, ["import", str(bad), "--org", mah, "--batch", batch, "--data-dir", str(tmp_path)]
    )
    assert refused.exit_code == 1 and "two_parents" in refused.output
    first = runner.invoke(
        app, ["import", str(good), "--org", mah, "--batch", batch, "--data-dir", str(tmp_path)]
    )
    assert first.exit_code == 0, first.output
    assert "imported" in first.output
    again = runner.invoke(
        app, ["import", str(good), "--org", mah, "--batch", batch, "--data-dir", str(tmp_path)]
    )
    assert again.exit_code == 0 and "already imported" in again.output
    traced = json.loads(
        runner.invoke(app, ["trace", doses[1], "--json", "--data-dir", str(tmp_path)]).output
    )
    assert traced["containers"] == [box, case]


def test_exchange_alerts_and_dead_letters_per_role(tmp_path: Path) -> None:
    from vaxtrace.node import platform_service
    from vaxtrace.store.engine import write_tx
    from vaxtrace.store.platform.alerts import raise_alert

    d = ["--data-dir", str(tmp_path)]
    quiet = runner.invoke(app, ["exchange", "alerts", *d])
    assert quiet.exit_code == 0 and "no exchange alerts" in quiet.output
    hub = platform_service(Settings(data_dir=tmp_path))
    with write_tx(hub.engine) as conn:
        raise_alert(conn, "no_rule", "e-1", "province-32", {"codes": ["80000010000000017"]})
    hub.engine.dispose()
    loud = runner.invoke(app, ["exchange", "alerts", *d])
    assert loud.exit_code == 0
    assert "no_rule" in loud.output and "province-32" in loud.output
    no_id = runner.invoke(app, ["exchange", "dead-letters", "--role", "platform", *d])
    assert no_id.exit_code == 1 and "no system id" in no_id.output
    bogus = runner.invoke(app, ["exchange", "dead-letters", "--role", "bogus", *d])
    assert bogus.exit_code == 1 and "--role is one of" in bogus.output


def test_each_node_tells_how_far_it_follows_the_registry(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    fresh = runner.invoke(app, ["exchange", "registry", "--role", "immunization", *d])
    assert fresh.exit_code == 0, fresh.output
    assert (
        "not pulled the platform's registry yet" in fresh.output and "copies: none" in fresh.output
    )
    _demo(tmp_path)
    for role in ("trace", "immunization", "supervision"):
        shown = runner.invoke(app, ["exchange", "registry", "--role", role, *d])
        assert shown.exit_code == 0, shown.output
        # the operator, three MAHs, the CDC, two sites, the regulator; three local systems
        assert "applied up to version" in shown.output
        assert "8 organisation(s)" in shown.output and "3 system(s)" in shown.output
    traced = runner.invoke(app, ["exchange", "registry", "--role", "trace", *d]).output
    assert "8 product(s)" in traced  # it published its products before it pulled
    hub = runner.invoke(app, ["exchange", "registry", "--role", "platform", *d])
    assert hub.exit_code == 1 and "--role is one of trace, immunization, supervision" in hub.output


def test_province_staff_are_registered_and_get_tokens(tmp_path: Path) -> None:
    from vaxtrace.node import immunization_service

    d = ["--data-dir", str(tmp_path), "--role", "immunization"]
    pov = "12320102MB0000011G"
    added = runner.invoke(
        app,
        [
            "org",
            "add",
            pov,
            "示例市玄武区社区卫生服务中心",
            "--kind",
            "pov",
            "--division",
            "320102",
            *d,
        ],
    )
    assert added.exit_code == 0, added.output
    issued = runner.invoke(app, ["token", "issue", pov, *d])
    assert issued.exit_code == 0
    province = immunization_service(Settings(data_dir=tmp_path))
    assert province.authenticate(issued.output.strip()) == pov
    assert _service_knows_nothing_of(tmp_path, pov)
    bogus = runner.invoke(app, ["token", "issue", pov, "--data-dir", str(tmp_path), "--role", "x"])
    assert bogus.exit_code == 1 and "--role is trace, immunization or supervision" in bogus.output


def test_regulators_are_registered_in_the_supervision_system_and_get_tokens(
    tmp_path: Path,
) -> None:
    from vaxtrace.node import supervision_service

    d = ["--data-dir", str(tmp_path), "--role", "supervision"]
    regulator = make_uscc("11320100MB0000012")
    args = ["org", "add", regulator, "示例市市场监督管理局", "--division", "320100", *d]
    added = runner.invoke(app, [*args, "--kind", "regulator"])
    assert added.exit_code == 0, added.output
    issued = runner.invoke(app, ["token", "issue", regulator, *d])
    assert issued.exit_code == 0, issued.output
    watch = supervision_service(Settings(data_dir=tmp_path))
    assert watch.authenticate(issued.output.strip()) == regulator
    assert watch.steps(regulator)["division_code"] == "320100"
    cdc = runner.invoke(
        app, [*args[:2], make_uscc("12320100MB0000013"), *args[3:], "--kind", "cdc"]
    )
    assert cdc.exit_code == 1 and "serves regulators, not a cdc" in cdc.output


def _service_knows_nothing_of(folder: Path, uscc: str) -> bool:
    """The trace role's register is its own: the province's sites are not in it."""
    result = runner.invoke(app, ["token", "issue", uscc, "--data-dir", str(folder)])
    return result.exit_code == 1 and "unknown_organisation" in result.output


def test_the_demos_dose_gate_from_the_command_line(tmp_path: Path) -> None:
    """demo.json names the site and a dose of each kind; dose-check refuses each stopped dose
    for its reason (exit 3) and lets the good one pass (exit 0)."""
    samples = _demo(tmp_path)["samples"]
    assert isinstance(samples, dict)
    expected = {
        "good": None,
        "locked": "locked",
        "recalled": "recalled",
        "expired": "expired",
        "excursion": "cold_chain_excursion",
    }
    for kind, reason in expected.items():
        result = runner.invoke(
            app,
            [
                "dose-check",
                samples[f"{kind}_dose"],
                "--org",
                samples["site"],
                "--json",
                "--data-dir",
                str(tmp_path),
            ],
        )
        answer = json.loads(result.output)
        assert answer["allowed"] is (reason is None), (kind, answer)
        assert result.exit_code == (0 if reason is None else 3), result.output
        if reason is not None:
            assert reason in answer["reasons"], (kind, answer)
    refused = runner.invoke(
        app, ["dose-check", "not-a-code", "--org", samples["site"], "--data-dir", str(tmp_path)]
    )
    assert refused.exit_code == 1 and "unparseable" in refused.output


def test_exchange_commands_work_on_a_role_all_data_dir(tmp_path: Path) -> None:
    """The demo's data directory (every role in one process, no system id of its own): the
    dead letters and alerts of every role, and a requeue that sends a refusal again."""
    from fastapi.testclient import TestClient

    from tests.test_refusals import alerts_at_the_site, refused_vaccination
    from vaxtrace import demo
    from vaxtrace.app import build_app

    d = ["--data-dir", str(tmp_path)]
    settings = Settings(data_dir=tmp_path)
    built = demo.build(settings, 2000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    demos = built.gate["refused_dose"]  # the demo shows a refused report of its own
    quiet = runner.invoke(app, ["exchange", "dead-letters", *d])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output.count("no dead letters") == 2  # the trace and province outboxes
    assert "platform (local-platform): 1 dead letter(s)" in quiet.output
    assert demos in runner.invoke(app, ["exchange", "alerts", *d]).output
    with TestClient(built.app) as client:
        refusal = refused_vaccination(built, client)
        assert len(alerts_at_the_site(client, refusal)) == 1

    letters = runner.invoke(app, ["exchange", "dead-letters", *d])
    assert letters.exit_code == 0, letters.output
    assert "platform (local-platform): 2 dead letter(s)" in letters.output
    (line,) = [x for x in letters.output.splitlines() if "refused" in x and demos not in x]
    assert "to local-trace" in line and "409 locked (codes)" in line
    message_id = line.split()[0]

    shown = runner.invoke(app, ["exchange", "alerts", *d])
    assert shown.exit_code == 0, shown.output
    assert "delivery_refused  from local-province" in shown.output  # the platform's
    site = demo.cast().province[1].uscc
    (alert,) = [
        x for x in shown.output.splitlines() if x.startswith("immunization") and demos not in x
    ]
    assert site in alert and "322" in alert and "refused by local-trace: locked" in alert
    only = runner.invoke(app, ["exchange", "alerts", "--role", "immunization", *d])
    assert "delivery_refused" not in only.output and site in only.output

    ambiguous = runner.invoke(app, ["exchange", "requeue", message_id, *d])
    assert ambiguous.exit_code == 1 and "--role trace | platform | immunization" in ambiguous.output
    requeue = runner.invoke(app, ["exchange", "requeue", message_id, "--role", "platform", *d])
    assert requeue.exit_code == 0, requeue.output
    assert f"platform: message {message_id} requeued as #" in requeue.output
    again = runner.invoke(app, ["exchange", "requeue", message_id, "--role", "platform", *d])
    assert again.exit_code == 1 and "not_a_dead_letter" in again.output
    nothing = runner.invoke(app, ["exchange", "requeue", *d])
    assert nothing.exit_code == 1 and "give a message id or --all" in nothing.output
    assert "0 dead" not in runner.invoke(app, ["exchange", "dead-letters", *d]).output
    assert (
        "platform (local-platform): 1 dead letter(s)"
        in runner.invoke(app, ["exchange", "dead-letters", *d]).output
    )  # only the demo's own is left

    # served again, the requeued report goes and (the dose still locked) is refused again
    with TestClient(build_app(settings)) as client:
        assert len(alerts_at_the_site(client, refusal, 2)) == 2
    everything = runner.invoke(app, ["exchange", "requeue", "--all", "--role", "platform", *d])
    assert everything.exit_code == 0 and "requeued as #" in everything.output
    # a trace node's own messages the platform refused are its alerts
    from vaxtrace.exchange.delivery import Refused
    from vaxtrace.node import outbox_of
    from vaxtrace.store.engine import write_tx

    outbox = outbox_of(settings, "trace")
    assert outbox is not None
    with write_tx(outbox.engine) as conn:
        outbox.post(
            conn, "platform", event_type="20", event_subtype="201", data_owner="x", payload={}
        )

    def platform(_receiver: str, _batch: object) -> None:
        raise Refused("refused", {"reason": "unknown_document", "field": "envelopes[0].payload"})

    outbox.deliver_due(platform)
    traced = runner.invoke(app, ["exchange", "alerts", "--role", "trace", *d])
    assert traced.exit_code == 0 and "refused: unknown_document (payload)" in traced.output
