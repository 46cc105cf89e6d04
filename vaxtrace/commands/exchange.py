"""``vaxtrace exchange``: this node's side of the data exchange: its envelope key, its
outboxes' dead letters, its copy of the platform's registry, and what went wrong."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, fail, settings_of
from vaxtrace.core.errors import DomainError
from vaxtrace.settings import Settings

exchange_app = typer.Typer(help="The data exchange with the platform.", no_args_is_help=True)


@exchange_app.command("key")
def exchange_key_command(data_dir: DataDir = None) -> None:
    """Print this node's envelope-signing public key (made on first use), for registration."""
    from vaxtrace.exchange.envelope import Ed25519Signer
    from vaxtrace.ledger.checkpoint import ed25519_key_at

    key = ed25519_key_at(settings_of(data_dir).exchange_signing_key)
    sys.stdout.write(Ed25519Signer(key).public_text() + "\n")


ExchangeRole = Annotated[
    str | None,
    typer.Option(
        "--role", help="whose outbox: trace, platform or immunization (default: every one here)"
    ),
]
SENDERS = ("trace", "platform", "immunization")
"""The roles that send through an outbox."""


def _outboxes(role: str | None, data_dir: Path | None) -> dict[str, Any]:
    """The outboxes of this node (``--role all`` and the demo included), or of ``role``."""
    from vaxtrace.node import outbox_of, roles_here

    settings = settings_of(data_dir)
    if role is not None and role not in SENDERS:
        raise fail(f"--role is one of {', '.join(SENDERS)}, not {role!r}")
    roles = (role,) if role is not None else tuple(r for r in roles_here(settings) if r in SENDERS)
    found = {r: outbox for r in roles if (outbox := outbox_of(settings, r)) is not None}
    if not found:
        raise fail("this node has no system id (VAXTRACE_SYSTEM_ID): no exchange")
    return found


@exchange_app.command("dead-letters")
def exchange_dead_letters(data_dir: DataDir = None, role: ExchangeRole = None) -> None:
    """Messages the outbox gave up on after its retries, or that their receiver refused
    (requeue one with `exchange requeue ID --role R`)."""
    for name, outbox in _outboxes(role, data_dir).items():
        letters = outbox.dead_letters()
        count = f"{len(letters)} dead letter(s)" if letters else "no dead letters"
        console.print(f"{name} ({outbox.system_id}): {count}")
        for letter in letters:
            console.print(
                f"{letter['id']:>6}  {letter['state']:<7}  to {letter['receiver']}  "
                f"#{letter['sequence']}  {letter['event_id']}  after {letter['attempts']} "
                f"attempt(s): {letter['last_error']}"
            )


@exchange_app.command("requeue")
def exchange_requeue(
    message_id: Annotated[int | None, typer.Argument(help="the dead letter's id")] = None,
    every: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
    data_dir: DataDir = None,
    role: ExchangeRole = None,
) -> None:
    """Send dead letters again, at the end of their queue (after mending what made them
    fail: the receiver's record, a registration, a certificate)."""
    if (message_id is None) == (not every):
        raise fail("give a message id or --all")
    outboxes = _outboxes(role, data_dir)
    if message_id is not None and len(outboxes) > 1:
        raise fail(f"name the outbox the message is in: --role {' | '.join(outboxes)}")
    for name, outbox in outboxes.items():
        ids = [message_id] if message_id is not None else [d["id"] for d in outbox.dead_letters()]
        for one in ids:
            try:
                sequence = outbox.requeue(int(one))
            except DomainError as exc:
                raise fail(f"{exc.reason}: {exc.message}") from exc
            console.print(f"{name}: message {one} requeued as #{sequence}")
        if not ids:
            console.print(f"{name}: no dead letters")


@exchange_app.command("registry")
def exchange_registry(
    data_dir: DataDir = None,
    role: Annotated[
        str, typer.Option("--role", help="whose copy: trace, immunization or supervision")
    ] = "trace",
) -> None:
    """How far this node follows the platform's registry: the change-feed version applied,
    and the copies it holds of organisations, systems and products."""
    from vaxtrace.node import REGISTRY_COPIES, migrated
    from vaxtrace.store.basic_data import summary
    from vaxtrace.store.engine import read_tx

    if role not in REGISTRY_COPIES:
        raise fail(f"--role is one of {', '.join(REGISTRY_COPIES)}, not {role!r}")
    engine = migrated(settings_of(data_dir), role)
    with read_tx(engine) as conn:
        state = summary(conn, REGISTRY_COPIES[role])
    engine.dispose()
    if not state["applied"]:
        console.print("this node has not pulled the platform's registry yet")
    for source, version in state["applied"].items():
        console.print(f"{source}: applied up to version {version}")
    copies = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(state["copies"].items()))
    console.print(f"copies: {copies or 'none'}")


@exchange_app.command("alerts")
def exchange_alerts(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, help="how many per role, newest first")] = 50,
    role: Annotated[
        str | None,
        typer.Option("--role", help="platform, immunization or trace (default: every one here)"),
    ] = None,
) -> None:
    """What went wrong in the exchange: at the platform, what it took but could not route and
    what the systems it forwarded to refused; at a province, the open alerts of its units'
    refused reports; at a trace system, what the platform refused of it."""
    from vaxtrace.node import roles_here

    shown = ("platform", "immunization", "trace")
    if role is not None and role not in shown:
        raise fail(f"--role is one of {', '.join(shown)}, not {role!r}")
    settings = settings_of(data_dir)
    roles = [role] if role else [r for r in roles_here(settings) if r in shown]
    lines = [line for r in roles for line in _alert_lines(r, settings, limit)]
    for line in lines:
        console.print(line)
    if not lines:
        console.print("no exchange alerts")


def _alert_lines(role: str, settings: Settings, limit: int) -> list[str]:
    from vaxtrace.node import SERVICES, outbox_of

    if role == "platform":
        return [
            f"platform {a['id']:>6}  {a['raised_at']}  {a['reason']}  from {a['sender']}"
            f"  event {a['event_id']}  {json.dumps(a['detail'], ensure_ascii=False)}"
            for a in SERVICES["platform"](settings).exchange_alerts(limit)
        ]
    if role == "immunization":
        return [
            f"immunization {a['id']:>6}  {a['raised_at']}  {a['org_uscc']}  "
            f"{a['bill_type']} {a['document_no']}  refused by {a['refused_by']}: {a['reason']}"
            f" ({a['code_count']} code(s), e.g. {', '.join(a['codes'][:3])}): {a['detail']}"
            f"  → {a['what_to_do']}"
            for a in SERVICES["immunization"](settings).open_alerts(limit)
        ]
    outbox = outbox_of(settings, role)
    refused = [d for d in outbox.dead_letters() if d["state"] == "refused"] if outbox else []
    return [
        f"{role} {d['id']:>6}  to {d['receiver']}  #{d['sequence']}  {d['event_id']}  "
        f"{d['last_error']}"
        for d in refused[-limit:][::-1]
    ]
