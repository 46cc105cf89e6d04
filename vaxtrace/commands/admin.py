"""A node's upkeep: ``db`` (its databases), ``org`` (a role's own register of organisations)
and ``token`` (API tokens of that register's organisations)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vaxtrace.commands.common import DataDir, console, fail, settings_of, staff_service
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.errors import DomainError

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
org_app = typer.Typer(help="The local organisation registry.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Create or migrate every role's database to the current schema."""
    from vaxtrace.node import SERVICES

    settings = settings_of(data_dir)
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
        staff_service(role, data_dir).register_organisation(org)
    except (ValueError, DomainError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from exc
    console.print(f"registered {org.uscc} {org.name}")


@token_app.command("issue")
def token_issue(
    uscc: str, label: str = "api", data_dir: DataDir = None, role: StaffRole = "trace"
) -> None:
    """Issue an API token for an organisation of a role's register (shown once; only its
    hash is kept)."""
    try:
        token = staff_service(role, data_dir).issue_token(uscc, label)
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    sys.stdout.write(token + "\n")
