"""What every command shares: the consoles, the ``--data-dir`` option and the settings it
gives, failing with a message, the progress bar, and this node's services of the roles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from vaxtrace.settings import Settings

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="data directory (default: $VAXTRACE_DATA_DIR or per-user)"),
]


def settings_of(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def trace_service(settings: Settings) -> Any:
    from vaxtrace import node

    return node.trace_service(settings)


def staff_service(role: str, data_dir: Path | None) -> Any:
    from vaxtrace.node import SERVICES

    if role not in ("trace", "immunization", "supervision"):  # the roles that have staff
        raise fail(f"--role is trace, immunization or supervision, not {role!r}")
    return SERVICES[role](settings_of(data_dir))


def progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
