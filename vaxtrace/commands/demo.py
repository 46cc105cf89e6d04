"""``vaxtrace demo``: build the synthetic province, run the chain through every role, print
what to try (sample codes, the dose gate's doses, the exchange's figures, the log's
checkpoint), then serve it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, err, fail, progress, settings_of
from vaxtrace.commands.serve import serve_app
from vaxtrace.commands.validate import print_table
from vaxtrace.core import codes as codes_
from vaxtrace.log.service import LedgerService
from vaxtrace.settings import Settings

DEMO_MARKER = "demo.json"


def demo(
    data_dir: DataDir = None,
    units: Annotated[int, typer.Option(min=1, help="doses to make")] = 10_000,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 1,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="build, self-check, exit")] = False,
    anomalies: Annotated[
        bool,
        typer.Option(
            "--anomalies",
            help="plant labelled anomalies of every validation rule; print the detection table",
        ),
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Build a synthetic province, run every role in this process through the exchange, print
    codes to try, then serve until Ctrl-C."""
    from vaxtrace import demo as demo_

    settings = settings_of(data_dir)
    _fresh_demo_dir(settings)
    with progress() as bar:
        task = bar.add_task("making and shipping doses", total=units)
        built = demo_.build(
            settings, units, seed, lambda n: bar.advance(task, n), anomalies=anomalies
        )
    _write_demo_marker(settings, units, seed, built)
    base = f"http://{host}:{port}"
    _print_samples(built.samples, base, built.token, settings)
    demo_.run(built, anomalies=anomalies, seed=seed)
    _write_demo_marker(settings, units, seed, built)  # now with the gate's samples
    _print_gate(built.gate, settings)
    for failure in built.failures:
        err.print(f"[red]self-check failed:[/red] {failure}")
    if built.failures:
        raise typer.Exit(1)
    console.print(
        "\n[bold]Exchange[/bold] (trace → platform → province and supervision, in-process): "
        + ", ".join(f"{n} {what}" for what, n in built.exchanged.items())
    )
    if built.vaccinated:
        console.print(
            f"  a dose the province received, supplied and used: vaxtrace trace "
            f"{built.vaccinated} --data-dir {settings.data_dir}"
        )
    if built.certificate:
        console.print(
            "  its batch's lot release certificate, fetched through the platform from the "
            f"MAH's trace system (SHA-256 checked): GET {built.certificate['path']}"
        )
    _print_children(built, base)
    _print_validation(built, base)
    console.print(f"[green]self-check passed[/green] ({len(built.samples)} sample codes)")
    _show_logs(settings, built.app.state.logs)
    if not no_serve:
        serve_app(settings, host, port, asgi=built.app)


def _print_children(built: Any, base: str) -> None:
    """The children the sites registered and vaccinated, and how staff read their records."""
    if not built.children:
        return
    first = built.children[0]
    token = built.staff[first["site"]]
    console.print(
        f"\n[bold]Children[/bold] registered at the sites ({len(built.children)}), "
        "vaccinated along the schedule with the doses the first site holds:"
    )
    for child in built.children:
        console.print(f"  {child['child_id']}  {child['name']}  (site {child['site']})")
    api = f"{base}/immunization/v1/children/{first['child_id']}"
    auth = f"-H 'Authorization: Bearer {token}'"
    console.print(f"  curl {auth} '{api}/record'   (接种记录: doses judged, next doses)")
    console.print(f"  curl {auth} '{api}/fhir'     (the same as FHIR R4)")
    _print_public(built, base)
    _print_school(built, base)


def _print_validation(built: Any, base: str) -> None:
    """The regulator's validation of the whole chain, and how to run and read it."""
    from vaxtrace.demo import cast

    if not built.validation:
        return
    v = built.validation
    console.print(
        f"\n[bold]Validation[/bold] (校验) of the whole chain by the supervision system: "
        f"{v['codes']} code rows judged, {v['found']} finding(s)"
    )
    console.print(f"  vaxtrace validate --report --data-dir {built.settings.data_dir}")
    if built.anomalies:
        a = built.anomalies
        console.print(
            f"  planted: {a['planted']} labelled anomalies ({a['steps']} steps, reported by a "
            f"faulty province and trace system); the next run found {a['found']}:"
        )
        print_table(a["table"], labelled=True)
    token = built.staff.get(cast().regulators[0].uscc)
    if token is not None:
        auth = f"-H 'Authorization: Bearer {token}'"
        console.print(
            f"  curl {auth} '{base}/supervision/v1/validation/findings'   (the regulator)"
        )


def _print_school(built: Any, base: str) -> None:
    """The sample roster, its check, and where the PDFs are."""
    if not built.school:
        return
    s = built.school
    check = f"{base}/immunization/v1/school-entry/checks/{s['check_id']}"
    counts = ", ".join(f"{n} {status}" for status, n in s["counts"].items() if n)
    console.print(
        f"\n[bold]School-entry check[/bold] (入托查验) of a sample roster: {s['roster']} "
        f"({counts}):"
    )
    auth = f"-H 'Authorization: Bearer {built.staff[s['site']]}'"
    console.print(f"  curl {auth} '{check}'")
    console.print(f"  curl {auth} -o catch-up.pdf '{check}/catch-up.pdf'   (补种通知单)")
    console.print(
        f"  vaxtrace school-entry check {s['roster']} --school 示例幼儿园 --division 320102 "
        f"--level kindergarten --pdf-dir pdfs --data-dir {built.settings.data_dir}"
    )


def _print_public(built: Any, base: str) -> None:
    """What a parent uses: sites near, the booking link, the guardian's login."""
    if not built.guardian:
        return
    g, api = built.guardian, f"{base}/immunization/v1"
    console.print("\n[bold]For parents[/bold] (no login):")
    console.print(f"  {api}/public/sites?division=320102      (sites near, hours, doses in stock)")
    console.print(
        f"  {api}/public/slots?site_uscc={g['site']}&vaccine=HepB   (booking: open slots)"
    )
    console.print(
        f"[bold]Guardian login[/bold] of {g['name']}'s guardian: phone {g['phone']}, one-time "
        f"password {g['initial_password']} (choose your own at first login):"
    )
    login = {"phone": g["phone"], "password": g["initial_password"]}
    console.print(
        f"  curl -X POST {api}/guardian/sessions -H 'Content-Type: application/json' "
        f"-d '{json.dumps(login)}'",
        highlight=False,
    )
    console.print(
        "  then POST /guardian/password, GET /guardian/children, POST /guardian/appointments "
        '{"slot_id", "child_id"} (README: Public services)'
    )


def _show_logs(settings: Settings, logs: dict[str, LedgerService]) -> None:
    """Every role's log signs, each witnesses the others once, and each cosigned checkpoint
    is printed and kept outside the node (see :func:`_keep_outside`)."""
    from vaxtrace.log.service import witness_one_another

    witness_one_another(list(logs.values()))
    console.print(
        "\n[bold]Latest signed checkpoint[/bold] of each role's log, cosigned by the others:"
    )
    for role, log in logs.items():
        checkpoint = log.checkpoint()
        console.print(f"[dim]{role}[/dim]\n{checkpoint}", highlight=False)
        _keep_outside(settings, role, checkpoint, log.verifier.text())
    kept = _kept_dir(settings)
    console.print(
        f"Kept outside the node, in {kept}; check a role's log against them at any time:\n"
        f"  vaxtrace ledger verify --role trace --trusted {kept / 'trace-checkpoint.txt'} "
        f"--trusted-key {kept / 'trace-key.txt'} --data-dir {settings.data_dir}\n"
        "  (the same with platform, immunization or supervision)",
        highlight=False,
    )


def _kept_dir(settings: Settings) -> Path:
    return settings.data_dir.parent / f"{settings.data_dir.name}-kept"


def _keep_outside(settings: Settings, role: str, checkpoint: str, key: str) -> None:
    """Keep a log's checkpoint and verifier key beside the data directory, as an operator
    keeps them away from the node."""
    kept = _kept_dir(settings)
    kept.mkdir(exist_ok=True)
    (kept / f"{role}-checkpoint.txt").write_text(checkpoint)
    (kept / f"{role}-key.txt").write_text(key + "\n")


def _write_demo_marker(settings: Settings, units: int, seed: int, built: Any) -> None:
    """DATA_DIR/demo.json: what the demo made, for people and tests to try (see README)."""
    (settings.data_dir / DEMO_MARKER).write_text(
        json.dumps(
            {
                "units": units,
                "seed": seed,
                "codes": built.samples,
                "samples": built.gate,
                "tokens": built.province.tokens,
            },
            indent=2,
        )
    )


def _print_gate(gate: dict[str, str], settings: Settings) -> None:
    if not gate:
        return
    console.print("\n[bold]The dose gate[/bold] at the vaccination site " + gate["site"] + ":")
    for kind in ("good_dose", "locked_dose", "recalled_dose", "expired_dose", "excursion_dose"):
        if kind in gate:
            console.print(
                f"  vaxtrace dose-check {gate[kind]} --org {gate['site']} --json "
                f"--data-dir {settings.data_dir}   # {kind.replace('_', ' ')}"
            )


def _fresh_demo_dir(settings: Settings) -> None:
    from vaxtrace.demo import wipe

    database = settings.data_dir / "trace.sqlite"
    if settings.trace_database_url is None and database.exists():
        if not (settings.data_dir / DEMO_MARKER).exists():
            raise fail(f"{database} holds data not made by the demo; use another --data-dir")
        wipe(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)


def _print_samples(samples: list[str], base: str, token: str, settings: Settings) -> None:
    console.print(f"\n[bold]Demo data[/bold] in {settings.data_dir}")
    console.print("[bold]Sample dose codes[/bold] (20-digit and GS1):")
    for value in samples:
        code = codes_.split_canonical(value)
        line = f"  {codes_.format_human(code)}"
        if code.family is codes_.CodeFamily.GS1:
            line += f"   Digital Link: {codes_.digital_link(code, settings.gs1_resolver_base)}"
        console.print(line)
    first = samples[0] if samples else ""
    console.print("\n[bold]Try[/bold]:")
    console.print(f"  vaxtrace trace {first} --data-dir {settings.data_dir}")
    console.print(f"  {base}/docs                       (OpenAPI)")
    console.print(f"  {base}/trace/v1/public/codes?code={first}")
    console.print(f"  curl -H 'Authorization: Bearer {token}' '{base}/trace/v1/codes?code={first}'")
