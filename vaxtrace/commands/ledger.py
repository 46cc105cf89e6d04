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
from vaxtrace.ledger.checkpoint import TrustedCheckpoint
from vaxtrace.log.verify import CHECKS, LogUnderCheck
from vaxtrace.settings import Settings
from vaxtrace.store.ledger import Verdict

ledger_app = typer.Typer(help="The tamper-evident log (RFC 9162).", no_args_is_help=True)


Role = Annotated[
    str,
    typer.Option(
        "--role", help="whose log on this node: trace, platform, immunization or supervision"
    ),
]


def _ledger(settings: Settings, role: str) -> Any:
    """A role's log on this node (the trace role's through its service, which says who
    reads an event's document)."""
    from vaxtrace.node import role_ledger

    _known_role(role)
    if role == "trace":
        return trace_service(settings).ledger
    return role_ledger(settings, role)


def _known_role(role: str) -> None:
    from vaxtrace.node import LEDGERS

    if role not in LEDGERS:
        raise fail(f"no log of role {role!r}: one of {', '.join(LEDGERS)}")


def _verify_with_state(settings: Settings, anchor: TrustedCheckpoint) -> Verdict:
    """Every check of the log, then the codes' state replayed from the log and compared with
    the tables (the trace node's: status, holder, parent, existence of each code)."""
    svc = trace_service(settings)

    def state_replayed(log: LogUnderCheck) -> Verdict | None:
        found = svc.check_state()
        if found is None:
            return None
        return log.failed(f"the tables differ from the log: {found.message}", found.event_id)

    verdict: Verdict = svc.ledger.verify(anchor, checks=[*CHECKS, state_replayed])
    return verdict


NO_TRUSTED = (
    "no trusted checkpoint: the node's own tables prove nothing to whoever can rewrite them. "
    "Give a checkpoint kept outside this node, --trusted FILE (saved earlier from "
    "GET /trace/v1/ledger/checkpoint, with its witnesses' cosignatures) or --from URL (a log's "
    "routes, e.g. https://node:8000/trace/v1/ledger, or the platform's checkpoint directory, "
    "https://platform:8000/platform/v1/ledger/witnessed/ORIGIN, with --witness KEY for each "
    "witness that must have cosigned it), and the log's verifier key pinned when the node was "
    "set up, "
    "--trusted-key KEY (what `vaxtrace ledger key` or GET /trace/v1/ledger/key printed, or a "
    "file holding it)"
)


@ledger_app.command("verify")
def ledger_verify(
    trusted: Annotated[
        Path | None,
        typer.Option(
            "--trusted", exists=True, dir_okay=False, help="a checkpoint kept outside this node"
        ),
    ] = None,
    from_url: Annotated[
        str | None, typer.Option("--from", help="fetch it from a log's routes at this URL")
    ] = None,
    trusted_key: Annotated[
        str | None,
        typer.Option("--trusted-key", help="the log's verifier key, or a file holding it"),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option("--witness", help="a witness's cosigning key the checkpoint must carry"),
    ] = None,
    role: Role = "trace",
    data_dir: DataDir = None,
) -> None:
    """Check the log against a checkpoint trusted from outside the node: not rolled back, not
    rewritten, its checkpoints signed by the trusted key and consistent with the trusted one,
    every leaf recomputed from its event; then the tables compared with the log (the trace
    role's codes replayed, a journal role's history rows entry for entry)."""
    settings = settings_of(data_dir)
    anchor = _trusted_checkpoint(trusted, from_url, trusted_key, witness or [], settings)
    _known_role(role)
    key_file = settings.ledger_key_file(role)
    if not key_file.exists():  # never make one here: the node would find two keys
        raise fail(
            f"no signing key at {key_file}: run verify with the node's own settings "
            "(VAXTRACE_SYSTEM_ID, VAXTRACE_LEDGER_KEY_DIR) so that it reads the node's key"
        )
    ledger = _ledger(settings, role) if role != "trace" else None
    compared = "; every code's status, holder and packaging replayed from the log match the tables"
    if ledger is None:
        verdict = _verify_with_state(settings, anchor)
    else:
        from vaxtrace.log.mirrors import mirrored_tables, tables_mirror_journal

        verdict = ledger.verify(anchor, checks=[*CHECKS, tables_mirror_journal(role)])
        compared = f"; the tables {', '.join(mirrored_tables(role))} match the journal row for row"
    if not verdict.ok:
        raise fail(f"ledger verification failed after {verdict.leaves} leaves: {verdict.problem}")
    cosigned = f", cosigned by {', '.join(anchor.cosigned_by)}" if anchor.cosigned_by else ""
    if from_url is not None and not anchor.cosigned_by:
        console.print(
            f"[yellow]note:[/yellow] the checkpoint from {from_url} is trusted on the log's "
            "own signature; require a witness's cosignature with --witness"
        )
    console.print(
        f"ledger ok: {verdict.leaves} events, every leaf, the tree and the node's checkpoints "
        f"match and extend the trusted checkpoint at size {anchor.checkpoint.size} "
        f"(signed by {anchor.key.name}{cosigned})" + compared
    )


def _trusted_checkpoint(
    file: Path | None, url: str | None, key: str | None, witnesses: list[str], settings: Settings
) -> Any:
    """The checkpoint to verify against, its signature (and cosignatures) checked."""
    from vaxtrace.ledger.checkpoint import NoteError, TrustedCheckpoint, VerifierKey

    if (file is None and url is None) or key is None:
        raise fail(NO_TRUSTED)
    if file is not None and url is not None:
        raise fail("give the trusted checkpoint once: --trusted FILE or --from URL")
    try:
        text = file.read_text() if file is not None else _fetch_checkpoint(str(url), settings)
        pinned = VerifierKey.parse(_key_text(key))
        cosigners = tuple(VerifierKey.parse(_key_text(w)) for w in witnesses)
        return TrustedCheckpoint.parse(text, pinned, cosigners)
    except (NoteError, OSError) as exc:
        raise fail(f"trusted checkpoint refused: {exc}") from exc


def _key_text(value: str) -> str:
    """A key given as its text, or as a file whose first line it is (as GET …/key answers)."""
    if "+" in value:
        return value
    lines = Path(value).read_text().splitlines()
    return lines[0] if lines else ""


def _fetch_checkpoint(url: str, settings: Settings) -> str:
    import httpx

    from vaxtrace.exchange.ledger_peer import HttpPeerLog

    try:
        with http_client(settings) as client:
            return HttpPeerLog(client, url).checkpoint()
    except httpx.HTTPError as exc:
        raise OSError(f"{url}: {exc}") from exc


def http_client(settings: Settings) -> Any:
    """The client --from fetches with: presenting this node's certificate and trusting the
    federation's CA once the node has one (a platform's routes are mutual TLS only), else
    plain (tests put an in-process app behind it)."""
    import httpx

    if settings.exchange_cert:
        from vaxtrace.node import mtls_context

        return httpx.Client(timeout=30, follow_redirects=True, verify=mtls_context(settings))
    return httpx.Client(timeout=30, follow_redirects=True)


@ledger_app.command("checkpoint")
def ledger_checkpoint(role: Role = "trace", data_dir: DataDir = None) -> None:
    """Sign a checkpoint over everything appended so far and print it (signed-note format)."""
    try:
        sys.stdout.write(_ledger(settings_of(data_dir), role).checkpoint(force=True))
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc


@ledger_app.command("key")
def ledger_key(role: Role = "trace", data_dir: DataDir = None) -> None:
    """Print the log's verifier key and its cosigning key (as GET …/ledger/key answers): the
    key to publish, and to pin where checkpoints are checked."""
    ledger = _ledger(settings_of(data_dir), role)
    sys.stdout.write(f"{ledger.verifier.text()}\n{ledger.cosigner().text()}\n")


@ledger_app.command("prove")
def ledger_prove(
    event_id: Annotated[int, typer.Argument(help="the event (journal entry) to prove")],
    role: Role = "trace",
    data_dir: DataDir = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here")] = None,
) -> None:
    """Print a self-contained inclusion proof that `vaxtrace ledger check-proof` accepts."""
    try:
        bundle = _ledger(settings_of(data_dir), role).inclusion(event_id)
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
    if bundle.get("document"):
        document = json.loads(base64.b64decode(bundle["document"]))
        what = _named(document)
    else:  # a reader not entitled to the event's document proves its leaf hash only
        what = f"(leaf hash {bundle['leaf_hash']}; the document is its MAH's to read)"
    console.print(
        f"proof ok: event {bundle['event_id']} {what} is leaf {bundle['leaf_index']} of "
        f"{checkpoint.origin} at size {checkpoint.size}"
    )
    if key is None:
        console.print(
            f"[yellow]note:[/yellow] checked against the key in the file "
            f"({bundle['log_key']}); pin the log's published key with --key"
        )


def _named(document: dict[str, Any]) -> str:
    """What a logged document is, for people: a trace event by its bill, a journal entry by
    its kind (and its bill, if it is a write)."""
    bill = " ".join(str(document[k]) for k in ("bill_type", "document_no") if document.get(k))
    if "kind" not in document:
        return f"({bill})"
    return f"({document['kind']} entry{' ' + bill if bill else ''})"


@ledger_app.command("witness")
def ledger_witness(
    base_url: Annotated[str, typer.Argument(help="the peer node, e.g. https://host:8000")],
    key: Annotated[str, typer.Option(help="the peer log's published verifier key")],
    role: Annotated[str, typer.Option(help="which of the peer's role logs")] = "trace",
    by: Annotated[str, typer.Option("--by", help="which of this node's logs witnesses")] = "trace",
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
        result = _ledger(settings_of(data_dir), by).witness(
            log_key, HttpPeerLog(client, f"/{role}/v1/ledger")
        )
    if not result["cosigned"]:
        raise fail(f"{result['alert']}: {result['detail']} (alert recorded, not cosigned)")
    console.print(f"cosigned {result['origin']} at size {result['tree_size']}")
