"""``vaxtrace platform``: register organisations and connected systems with the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, fail, settings_of
from vaxtrace.commands.pki import ca_of
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError

platform_app = typer.Typer(help="The collaborative platform's registry.", no_args_is_help=True)


def _platform(data_dir: Path | None) -> Any:
    from vaxtrace.node import platform_service

    return platform_service(settings_of(data_dir))


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
        raise fail(str(exc)) from exc
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
    log_key: Annotated[
        str | None,
        typer.Option(help="its log's verifier key (`vaxtrace ledger key` prints it): witnessed"),
    ] = None,
    out: Annotated[Path, typer.Option(help="where its certificate and key go")] = Path("."),
    data_dir: DataDir = None,
) -> None:
    """Register a connected system and issue its client certificate and key."""
    from vaxtrace.core.registry import ConnectedSystem

    try:
        item = ConnectedSystem.named_by_id(
            system_id, role, operator, endpoint, tuple(represents), exchange_key, log_key
        )
        _platform(data_dir).register_system(item)
        ca_of(data_dir).issue_system(system_id, item.operator_uscc, out)
    except (DomainError, ValueError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"registered {system_id}; certificate {out / (system_id + '.pem')}")
