"""The ``vaxtrace`` command line: demo, serve, trace, import, db, org, token."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.datasets.production import CodeRelation, Commission
from vaxtrace.core.errors import DomainError
from vaxtrace.settings import Settings

app = typer.Typer(
    help="VaxTrace: vaccine information traceability (疫苗信息化追溯体系).", no_args_is_help=True
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
org_app = typer.Typer(help="The local organisation registry.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
ledger_app = typer.Typer(help="The tamper-evident log (RFC 9162).", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(ledger_app, name="ledger")
pki_app = typer.Typer(help="The platform CA: certificates for mutual TLS.", no_args_is_help=True)
app.add_typer(pki_app, name="pki")

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="data directory (default: $VAXTRACE_DATA_DIR or per-user)"),
]
DEMO_MARKER = "demo.json"


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def _service(settings: Settings) -> Any:
    from vaxtrace.node import trace_service

    return trace_service(settings)


@app.command()
def demo(
    data_dir: DataDir = None,
    units: Annotated[int, typer.Option(min=1, help="doses to make")] = 10_000,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 1,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="build, self-check, exit")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Build a synthetic province, run every role in this process through the exchange, print
    codes to try, then serve until Ctrl-C."""
    from vaxtrace import demo as demo_

    settings = _settings(data_dir)
    _fresh_demo_dir(settings)
    with _progress() as bar:
        task = bar.add_task("making and shipping doses", total=units)
        built = demo_.build(settings, units, seed, lambda n: bar.advance(task, n))
    _write_demo_marker(settings, units, seed, built)
    base = f"http://{host}:{port}"
    _print_samples(built.samples, base, built.token, settings)
    demo_.run(built)
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
    console.print(f"[green]self-check passed[/green] ({len(built.samples)} sample codes)")
    console.print("\n[bold]Latest signed checkpoint[/bold] of each role's log:")
    trace_log = built.app.state.trace.ledger.checkpoint(force=True)
    console.print(f"[dim]trace[/dim]\n{trace_log}", highlight=False)
    if not no_serve:
        _serve(settings, host, port, asgi=built.app)


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
            raise _fail(f"{database} holds data not made by the demo; use another --data-dir")
        wipe(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


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


def _serve(
    settings: Settings,
    host: str,
    port: int,
    asgi: Any = None,
    roles: tuple[str, ...] | None = None,
    tls: tuple[Path, Path, Path] | None = None,
) -> None:
    import uvicorn

    from vaxtrace.app import build_app
    from vaxtrace.node import ROLES
    from vaxtrace.web.tls import mtls_config

    asgi = asgi or build_app(settings, roles=roles or ROLES)
    if tls is None:
        console.print(f"\nserving on http://{host}:{port} (Ctrl-C to stop)")
        uvicorn.run(asgi, host=host, port=port, log_level="info")
        return
    cert, key, ca = tls
    console.print(f"\nserving on https://{host}:{port}, client certificates of {ca} required")
    uvicorn.Server(
        mtls_config(
            asgi, host=host, port=port, certfile=str(cert), keyfile=str(key), ca_file=str(ca)
        )
    ).run()


@app.command()
def serve(
    data_dir: DataDir = None,
    role: Annotated[
        str, typer.Option(help="role(s) to run: trace, platform, immunization, supervision, or all")
    ] = "all",
    host: str = "127.0.0.1",
    port: int = 8000,
    tls_cert: Annotated[Path | None, typer.Option(help="server certificate (PEM)")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="server key (PEM)")] = None,
    tls_ca: Annotated[
        Path | None, typer.Option(help="CA whose client certificates to accept")
    ] = None,
) -> None:
    """Serve the API of this node (OpenAPI at /docs); with --tls-*, mutual TLS only."""
    from vaxtrace.node import ROLES

    roles = ROLES if role == "all" else tuple(role.split(","))
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise _fail(
            f"role(s) {', '.join(sorted(unknown))} not built yet; available: "
            f"{', '.join(ROLES)}, all"
        )
    given = [tls_cert, tls_key, tls_ca]
    if any(given) and not all(given):
        raise _fail("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca")
    tls = (tls_cert, tls_key, tls_ca) if all(given) else None
    _serve(_settings(data_dir), host, port, roles=roles, tls=tls)  # type: ignore[arg-type]


@app.command()
def trace(
    code: Annotated[str, typer.Argument(help="a code as typed, scanned or a Digital Link URI")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show a code's product, batch, status, holder, packaging and full history."""
    svc = _service(_settings(data_dir))
    try:
        answer = svc.trace(code)
    except DomainError as exc:
        raise _fail(f"{exc.reason}: {exc.message}") from exc
    if as_json:
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
        return
    p = answer["product"]
    console.print(f"[bold]{answer['code']}[/bold]  level {answer['level']}  {answer['status']}")
    console.print(
        f"  {p['generic_name']} {p['strength']}  batch {answer['batch_no']}  "
        f"expires {answer['expiry_date']}"
    )
    console.print(
        f"  held by {answer['holder_uscc']}  inside {answer['containers'] or '-'}  "
        f"children {len(answer['children'])}"
    )
    for e in answer["history"]:
        console.print(
            f"  {e['business_time'][:19]}  {e['bill_type']:<16} {e['document_no']:<22} "
            f"{e['org_uscc']}"
        )


REFUSED_EXIT = 3
"""Exit status of ``dose-check`` when the dose may not be given (1 is an error, 2 usage)."""


@app.command("dose-check")
def dose_check(
    code: Annotated[str, typer.Argument(help="the dose's code as typed, scanned or a URI")],
    org: Annotated[str, typer.Option("--org", help="the vaccination site's USCC")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """接种前核验: may this vaccination site give this dose now? Every reason why not, from the
    province's records; audited. Exits 0 when allowed, 3 when not."""
    svc = _staff_service("immunization", data_dir)
    try:
        answer = svc.check_dose(org, code)
    except DomainError as exc:
        raise _fail(f"{exc.reason}: {exc.message}") from exc
    if as_json:
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
    elif answer["allowed"]:
        warnings = f"  ({', '.join(answer['warnings'])})" if answer["warnings"] else ""
        console.print(f"[green]ALLOWED[/green] {answer['code']}{warnings}")
    else:
        console.print(f"[red]REFUSED[/red] {answer['code']}: {', '.join(answer['reasons'])}")
        for message in answer["messages"]:
            console.print(f"  {message}")
    if not answer["allowed"]:
        raise typer.Exit(REFUSED_EXIT)


def _relations(path: Path) -> Iterator[CodeRelation]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"code", "level"} - set(reader.fieldnames or ())
        if missing:
            raise _fail(
                f"{path}: missing column(s) {', '.join(sorted(missing))} "
                "(expected: code,level,parent)"
            )
        for line, row in enumerate(reader, start=2):
            try:
                yield CodeRelation(
                    code=row["code"], level=int(row["level"]), parent=row.get("parent") or None
                )
            except ValueError as exc:
                raise _fail(f"{path}:{line}: {exc}") from exc


@app.command("import")
def import_relations(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV packaging relations: code,level,parent"
        ),
    ],
    org: Annotated[str, typer.Option(help="USCC of the MAH the codes belong to")],
    batch: Annotated[str, typer.Option(help="batch number (registered)")],
    document_no: Annotated[str | None, typer.Option(help="document number")] = None,
    data_dir: DataDir = None,
) -> None:
    """Commission uploaded codes with their packaging hierarchy (all or nothing)."""
    svc = _service(_settings(data_dir))
    with _progress() as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        relations = []
        for relation in _relations(file):
            relations.append(relation)
            bar.advance(task)
    doc = document_no or f"IMPORT-{file.stem}"
    # A retried import of the same file is the same document: id from content, time from mtime.
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:40]
    packed_at = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
    try:
        request = Commission(
            client_document_id=f"import-{digest}",
            business_time=packed_at,
            document_no=doc[:60],
            batch_no=batch,
            relations=tuple(relations),
        )
        result = svc.commission(org, request)
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise _fail(f"{exc.reason}{where}: {exc.message}") from exc
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    verb = "already imported" if result.replayed else "imported"
    console.print(f"{verb}: {result.body['codes_by_level']} codes by level, batch {batch}")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Create or migrate every role's database to the current schema."""
    from vaxtrace.node import SERVICES

    settings = _settings(data_dir)
    for role, make in SERVICES.items():
        make(settings).engine.dispose()
        console.print(f"{role} database up to date: {settings.database_url(role)}")


StaffRole = Annotated[
    str,
    typer.Option(
        "--role",
        help="whose register: trace, immunization (the province) or supervision (regulators)",
    ),
]


@org_app.command("add")
def org_add(
    uscc: str,
    name: str,
    kind: Annotated[OrgKind, typer.Option()],
    division: Annotated[str, typer.Option(help="GB/T 2260 division code")],
    address: str = "",
    data_dir: DataDir = None,
    role: StaffRole = "trace",
) -> None:
    """Register an organisation (MAH, CDC, POV, distributor, regulator) in a role's own
    register: the trace system's, or the province's (its CDCs and vaccination sites)."""
    try:
        org = Organisation(uscc=uscc, name=name, kind=kind, division_code=division, address=address)
        _staff_service(role, data_dir).register_organisation(org)
    except (ValueError, DomainError) as exc:
        raise _fail(getattr(exc, "message", str(exc))) from exc
    console.print(f"registered {org.uscc} {org.name}")


@token_app.command("issue")
def token_issue(
    uscc: str, label: str = "api", data_dir: DataDir = None, role: StaffRole = "trace"
) -> None:
    """Issue an API token for an organisation of a role's register (shown once; only its
    hash is kept)."""
    try:
        token = _staff_service(role, data_dir).issue_token(uscc, label)
    except DomainError as exc:
        raise _fail(f"{exc.reason}: {exc.message}") from exc
    sys.stdout.write(token + "\n")


def _staff_service(role: str, data_dir: Path | None) -> Any:
    from vaxtrace.node import SERVICES

    if role not in ("trace", "immunization", "supervision"):  # the roles that have staff
        raise _fail(f"--role is trace, immunization or supervision, not {role!r}")
    return SERVICES[role](_settings(data_dir))


def _ledger(settings: Settings) -> Any:
    svc = _service(settings)
    return svc.ledger


@ledger_app.command("verify")
def ledger_verify(data_dir: DataDir = None) -> None:
    """Recompute every leaf from the stored events and check the tree and latest checkpoint."""
    verdict = _ledger(_settings(data_dir)).verify()
    if not verdict.ok:
        raise _fail(f"ledger verification failed after {verdict.leaves} leaves: {verdict.problem}")
    console.print(f"ledger ok: {verdict.leaves} events, every leaf and the signed checkpoint match")


@ledger_app.command("checkpoint")
def ledger_checkpoint(data_dir: DataDir = None) -> None:
    """Sign a checkpoint over everything appended so far and print it (signed-note format)."""
    sys.stdout.write(_ledger(_settings(data_dir)).checkpoint(force=True))


@ledger_app.command("prove")
def ledger_prove(
    event_id: Annotated[int, typer.Argument(help="the event to prove")],
    data_dir: DataDir = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here")] = None,
) -> None:
    """Print a self-contained inclusion proof that `vaxtrace ledger check-proof` accepts."""
    try:
        bundle = _ledger(_settings(data_dir)).inclusion(event_id)
    except DomainError as exc:
        raise _fail(f"{exc.reason}: {exc.message}") from exc
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
        raise _fail(f"proof rejected: {exc}") from exc
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
        raise _fail(str(exc)) from exc
    with httpx.Client(base_url=base_url, timeout=30) as client:
        result = _ledger(_settings(data_dir)).witness(
            log_key, HttpPeerLog(client, f"/{role}/v1/ledger")
        )
    if not result["cosigned"]:
        raise _fail(f"{result['alert']}: {result['detail']} (alert recorded, not cosigned)")
    console.print(f"cosigned {result['origin']} at size {result['tree_size']}")


def _ca(data_dir: Path | None) -> Any:
    from vaxtrace.exchange.pki import CertificateAuthority

    return CertificateAuthority(_settings(data_dir).data_dir / "pki")


@pki_app.command("init")
def pki_init(data_dir: DataDir = None, name: str = "VaxTrace Platform CA") -> None:
    """Create the CA (once): DATA_DIR/pki/ca.pem, ca.key (0600), crl.pem."""
    ca = _ca(data_dir)
    try:
        ca.create(name)
    except DomainError as exc:
        raise _fail(f"{exc.reason}: {exc.message}") from exc
    console.print(f"CA created: {ca.cert_path}")


@pki_app.command("issue-system")
def pki_issue_system(
    system_id: Annotated[str, typer.Argument(help="the connected system's id")],
    org: Annotated[str, typer.Option(help="USCC of the organisation running it")],
    out: Annotated[Path, typer.Option(help="folder for SYSTEM_ID.pem and .key")] = Path("."),
    data_dir: DataDir = None,
) -> None:
    """Issue a client certificate and key for a connected system."""
    from vaxtrace.core.identifiers import IdentifierError, validate_uscc

    try:
        cert = _ca(data_dir).issue_system(system_id, validate_uscc(org), out)
    except (DomainError, IdentifierError) as exc:
        raise _fail(f"{exc.reason}: {exc.message}") from exc
    console.print(f"issued {out / (system_id + '.pem')} (serial {cert.serial_number:x})")


@pki_app.command("issue-server")
def pki_issue_server(
    hosts: Annotated[list[str], typer.Argument(help="host names and IP addresses")],
    out: Annotated[Path, typer.Option(help="folder for server.pem and .key")] = Path("."),
    data_dir: DataDir = None,
) -> None:
    """Issue a server certificate for a node."""
    try:
        cert = _ca(data_dir).issue_server(hosts, out)
    except DomainError as exc:
        raise _fail(f"{exc.reason}: {exc.message}") from exc
    console.print(f"issued {out / 'server.pem'} (serial {cert.serial_number:x})")


@pki_app.command("revoke")
def pki_revoke(
    certificate: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    data_dir: DataDir = None,
) -> None:
    """Revoke a certificate: servers refuse it from now on; the CRL is rewritten."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(certificate.read_bytes())
        _ca(data_dir).revoke(cert)
    except (DomainError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    console.print(f"revoked serial {cert.serial_number:x}")


platform_app = typer.Typer(help="The collaborative platform's registry.", no_args_is_help=True)
app.add_typer(platform_app, name="platform")


def _platform(data_dir: Path | None) -> Any:
    from vaxtrace.node import platform_service

    return platform_service(_settings(data_dir))


@platform_app.command("add-org")
def platform_add_org(
    uscc: str,
    name: Annotated[str, typer.Argument(help="full legal name (全称), not an abbreviation")],
    kind: Annotated[OrgKind, typer.Option()],
    division: Annotated[str, typer.Option(help="GB/T 2260 division code")],
    data_dir: DataDir = None,
) -> None:
    """Register an organisation with the platform (it reaches every node through the feed)."""
    from vaxtrace.core.registry import RegisteredOrganisation

    try:
        org = RegisteredOrganisation(uscc=uscc, name=name, kind=kind, division_code=division)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    result = _platform(data_dir).register_organisation(org)
    console.print(f"{org.uscc} {org.name}: registry version {result['version']}")


@platform_app.command("add-system")
def platform_add_system(
    system_id: str,
    role: Annotated[str, typer.Option(help="trace | immunization | supervision")],
    operator: Annotated[str, typer.Option(help="USCC of the organisation running it")],
    endpoint: Annotated[str, typer.Option(help="base URL of its API")],
    represents: Annotated[list[str], typer.Option(help="USCC it may submit data for")],
    exchange_key: Annotated[
        str | None, typer.Option(help="its envelope key (`vaxtrace exchange key` prints it)")
    ] = None,
    out: Annotated[Path, typer.Option(help="where its certificate and key go")] = Path("."),
    data_dir: DataDir = None,
) -> None:
    """Register a connected system and issue its client certificate and key."""
    from vaxtrace.core.registry import ConnectedSystem

    try:
        item = ConnectedSystem(
            system_id=system_id,
            name=system_id,
            role=role,
            operator_uscc=operator,
            endpoint=endpoint,
            represents=tuple(represents),
            exchange_key=exchange_key,
        )
        _platform(data_dir).register_system(item)
        _ca(data_dir).issue_system(system_id, item.operator_uscc, out)
    except (DomainError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    console.print(f"registered {system_id}; certificate {out / (system_id + '.pem')}")


exchange_app = typer.Typer(help="The data exchange with the platform.", no_args_is_help=True)
app.add_typer(exchange_app, name="exchange")


@exchange_app.command("key")
def exchange_key_command(data_dir: DataDir = None) -> None:
    """Print this node's envelope-signing public key (made on first use), for registration."""
    from vaxtrace.exchange.envelope import Ed25519Signer
    from vaxtrace.ledger.checkpoint import ed25519_key_at

    key = ed25519_key_at(_settings(data_dir).exchange_signing_key)
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

    settings = _settings(data_dir)
    if role is not None and role not in SENDERS:
        raise _fail(f"--role is one of {', '.join(SENDERS)}, not {role!r}")
    roles = (role,) if role is not None else tuple(r for r in roles_here(settings) if r in SENDERS)
    found = {r: outbox for r in roles if (outbox := outbox_of(settings, r)) is not None}
    if not found:
        raise _fail("this node has no system id (VAXTRACE_SYSTEM_ID): no exchange")
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
        raise _fail("give a message id or --all")
    outboxes = _outboxes(role, data_dir)
    if message_id is not None and len(outboxes) > 1:
        raise _fail(f"name the outbox the message is in: --role {' | '.join(outboxes)}")
    for name, outbox in outboxes.items():
        ids = [message_id] if message_id is not None else [d["id"] for d in outbox.dead_letters()]
        for one in ids:
            try:
                sequence = outbox.requeue(int(one))
            except DomainError as exc:
                raise _fail(f"{exc.reason}: {exc.message}") from exc
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
        raise _fail(f"--role is one of {', '.join(REGISTRY_COPIES)}, not {role!r}")
    engine = migrated(_settings(data_dir), role)
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
        raise _fail(f"--role is one of {', '.join(shown)}, not {role!r}")
    settings = _settings(data_dir)
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


stock_app = typer.Typer(help="The province's stock (immunization role).", no_args_is_help=True)
app.add_typer(stock_app, name="stock")


@stock_app.command("expire")
def stock_expire(
    data_dir: DataDir = None,
    on: Annotated[
        str | None,
        typer.Option("--on", help="judge expiry on this China date, YYYY-MM-DD (default: today)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """过期处理: the batches the province holds doses of that expired since the last run, with
    their doses and units; each is kept once, so running again reports nothing new. The node
    runs this itself at start and every night."""
    try:
        day = None if on is None else date.fromisoformat(on)
    except ValueError as exc:
        raise _fail(f"--on: not a date (YYYY-MM-DD): {on!r}") from exc
    found = _staff_service("immunization", data_dir).expire_stock(day, source="command")
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
        return
    since = f" since the run of {found['previous_run_on']}" if found["previous_run_on"] else ""
    if not found["batches"]:
        console.print(f"expiry run {found['run_id']} on {found['run_on']}: nothing expired{since}")
        return
    console.print(
        f"expiry run {found['run_id']} on {found['run_on']}: {len(found['batches'])} batch(es), "
        f"{found['doses']} dose(s) held expired{since}"
    )
    for b in found["batches"]:
        name = f" {b['product_name']}" if b["product_name"] else ""
        console.print(
            f"  {b['mah_uscc']}  {b['batch_no']}  {b['product_code'] or '-'}{name}  "
            f"expired after {b['expiry_date']}  {b['doses']} dose(s) at {b['units']} unit(s)"
        )


if __name__ == "__main__":
    app()
