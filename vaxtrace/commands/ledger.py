"""``vaxtrace ledger``: verify, sign, prove and check this node's tamper-evident log, and
witness a peer's."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, fail, settings_of, trace_service
from vaxtrace.core.errors import DomainError
from vaxtrace.settings import Settings

ledger_app = typer.Typer(help="The tamper-evident log (RFC 9162).", no_args_is_help=True)


def _ledger(settings: Settings) -> Any:
    svc = trace_service(settings)
    return svc.ledger


@ledger_app.command("verify")
def ledger_verify(data_dir: DataDir = None) -> None:
    """Recompute every leaf from the stored events and check the tree and latest checkpoint."""
    verdict = _ledger(settings_of(data_dir)).verify()
    if not verdict.ok:
        raise fail(f"ledger verification failed after {verdict.leaves} leaves: {verdict.problem}")
    console.print(f"ledger ok: {verdict.leaves} events, every leaf and the signed checkpoint match")


@ledger_app.command("checkpoint")
def ledger_checkpoint(data_dir: DataDir = None) -> None:
    """Sign a checkpoint over everything appended so far and print it (signed-note format)."""
    sys.stdout.write(_ledger(settings_of(data_dir)).checkpoint(force=True))


@ledger_app.command("prove")
def ledger_prove(
    event_id: Annotated[int, typer.Argument(help="the event to prove")],
    data_dir: DataDir = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here")] = None,
) -> None:
    """Print a self-contained inclusion proof that `vaxtrace ledger check-proof` accepts."""
    try:
        bundle = _ledger(settings_of(data_dir)).inclusion(event_id)
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    text = json.dumps(bundle, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"proof of event {event_id} written to {output}")


@ledger_app.command("check-proof")
def ledger_check_proof(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a proof bundle")],
    key: Annotated[str | None, typer.Option(help="pin the log's verifier key")] = None,
) -> None:
    """Check a proof bundle offline: no database, nothing but the file (and a pinned key)."""
    from vaxtrace.ledger.checkpoint import NoteError, VerifierKey
    from vaxtrace.ledger.proofs import check_proof

    try:
        bundle = json.loads(file.read_text())
        pinned = None if key is None else VerifierKey.parse(key)
        checkpoint = check_proof(bundle, pinned)
    except (NoteError, ValueError) as exc:
        raise fail(f"proof rejected: {exc}") from exc
    document = json.loads(base64.b64decode(bundle["document"]))
    console.print(
        f"proof ok: event {bundle['event_id']} ({document.get('bill_type')} "
        f"{document.get('document_no')}) is leaf {bundle['leaf_index']} of "
        f"{checkpoint.origin} at size {checkpoint.size}"
    )
    if key is None:
        console.print(
            f"[yellow]note:[/yellow] checked against the key in the file "
            f"({bundle['log_key']}); pin the log's published key with --key"
        )


@ledger_app.command("witness")
def ledger_witness(
    base_url: Annotated[str, typer.Argument(help="the peer node, e.g. https://host:8000")],
    key: Annotated[str, typer.Option(help="the peer log's published verifier key")],
    role: Annotated[str, typer.Option(help="which of the peer's role logs")] = "trace",
    data_dir: DataDir = None,
) -> None:
    """Witness a peer's log once: check consistency with what we saw before, then cosign."""
    import httpx

    from vaxtrace.exchange.ledger_peer import HttpPeerLog
    from vaxtrace.ledger.checkpoint import NoteError, VerifierKey

    try:
        log_key = VerifierKey.parse(key)
    except NoteError as exc:
        raise fail(str(exc)) from exc
    with httpx.Client(base_url=base_url, timeout=30) as client:
        result = _ledger(settings_of(data_dir)).witness(
            log_key, HttpPeerLog(client, f"/{role}/v1/ledger")
        )
    if not result["cosigned"]:
        raise fail(f"{result['alert']}: {result['detail']} (alert recorded, not cosigned)")
    console.print(f"cosigned {result['origin']} at size {result['tree_size']}")
