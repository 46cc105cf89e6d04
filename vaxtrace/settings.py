"""All configuration in one place: environment variables ``VAXTRACE_*`` or a TOML file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(user_data_dir("vaxtrace", appauthor=False))


class Settings(BaseSettings):
    """Settings of one VaxTrace process (any set of roles)."""

    model_config = SettingsConfigDict(env_prefix="VAXTRACE_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="where databases live")
    trace_database_url: str | None = Field(
        default=None, description="trace role database; default: SQLite file in data_dir"
    )
    sqlite_busy_timeout_ms: int = 10_000
    lot_release_file_max_bytes: int = 20 * 1024 * 1024
    public_base_url: str = "http://127.0.0.1:8000"
    gs1_resolver_base: str = "https://id.vaxtrace.example"

    @cached_property
    def trace_url(self) -> str:
        if self.trace_database_url:
            return self.trace_database_url
        return f"sqlite:///{self.data_dir / 'trace.sqlite'}"
