"""``vaxtrace alerts``: the supervision system's alerts (supervision role): a round of
escalation and notices, a division's named contacts, and the divisions short of them."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from vaxtrace.commands.common import DataDir, console, fail, staff_service

alerts_app = typer.Typer(help="Supervision alerts (supervision role).", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _print(found: Any, as_json: bool) -> bool:
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
    return as_json


@alerts_app.command("tick")
def alerts_tick(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """One round of what the node does every ``alert_tick_seconds``: raise the alerts of
    excursions kept before alerts existed, climb the alerts unhandled too long a tier, send
    the notices due on the configured channels (exit 1 when a send failed)."""
    svc = staff_service("supervision", data_dir)
    try:
        raised = svc.alerts_from_excursions()
        done = svc.alert_tick() | {"excursion_alerts": raised}
    finally:
        svc.close()
    if not _print(done, as_json):
        notices = done["notices"]
        console.print(
            f"{raised} excursion alert(s) raised; {done['escalation']['escalated']} escalated; "
            f"notices sent {notices['sent']}, failed {notices['failed']}, "
            f"waiting for a channel {notices['waiting']}"
        )
    if done["notices"]["failed"]:
        raise typer.Exit(1)


@alerts_app.command("contacts")
def alerts_contacts(
    division: Annotated[
        str, typer.Option("--division", help="the division code (national: 000000)")
    ],
    contact: Annotated[
        list[str] | None,
        typer.Option(
            "--contact",
            help="NAME,ADDRESS[,CHANNEL] (channel smtp or webhook); repeat for each; the list "
            "replaces the division's; none: show it",
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """告警联系人: the named people of a division whom its alerts go to (drug GSP asks for at
    least 3); a regulator's staff set their own division's through the API."""
    from vaxtrace.core.alerts.contacts import Contact
    from vaxtrace.core.errors import DomainError

    svc = staff_service("supervision", data_dir)
    try:
        if contact:
            people = [Contact.model_validate(_contact(text)) for text in contact]
            found = svc.put_division_contacts(division, people)
        else:
            found = svc.division_contacts(division)
    except ValidationError as exc:
        raise fail(f"--contact: {exc.errors()[0]['msg']}") from exc
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        svc.close()
    if _print(found, as_json):
        return
    console.print(f"division {found['division_code']}: {len(found['contacts'])} contact(s)")
    for c in found["contacts"]:
        console.print(f"  {c['name']}  {c['address']}  ({c['channel']})")
    for warning in found.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {warning['detail']}")


def _contact(text: str) -> dict[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise fail(f"--contact {text!r}: NAME,ADDRESS[,CHANNEL]")
    return dict(zip(("name", "address", "channel"), parts, strict=False))


@alerts_app.command("gaps")
def alerts_gaps(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Regulators' divisions with fewer alert contacts than drug GSP asks for (exit 1 when
    any)."""
    svc = staff_service("supervision", data_dir)
    try:
        gaps = svc.contact_gaps()
    finally:
        svc.close()
    if not _print(gaps, as_json):
        for gap in gaps:
            console.print(f"{gap['division_code']}: {gap['detail']}")
        if not gaps:
            console.print("every regulator's division has enough alert contacts")
    if gaps:
        raise typer.Exit(1)
