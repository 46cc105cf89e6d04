"""One settings object: arguments over environment over a TOML file over defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from vaxtrace.node import trace_downstream, trace_service
from vaxtrace.settings import Settings


def test_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-toml"}"\nsqlite_busy_timeout_ms = 1234\n')
    monkeypatch.setenv("VAXTRACE_CONFIG", str(config))
    monkeypatch.delenv("VAXTRACE_DATA_DIR", raising=False)
    from_toml = Settings()
    assert from_toml.data_dir == tmp_path / "from-toml"
    assert from_toml.sqlite_busy_timeout_ms == 1234
    assert from_toml.trace_url == f"sqlite:///{tmp_path / 'from-toml' / 'trace.sqlite'}"
    monkeypatch.setenv("VAXTRACE_DATA_DIR", str(tmp_path / "from-env"))
    assert Settings().data_dir == tmp_path / "from-env"
    assert Settings(data_dir=tmp_path / "arg").data_dir == tmp_path / "arg"
    monkeypatch.setenv("VAXTRACE_TRACE_DATABASE_URL", "postgresql+psycopg://x@h/db")
    assert Settings().trace_url == "postgresql+psycopg://x@h/db"


def test_the_clock_skew_reaches_the_trace_nodes_writes_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings(data_dir=tmp_path).clock_skew_seconds == 300
    monkeypatch.setenv("VAXTRACE_CLOCK_SKEW_SECONDS", "60")
    settings = Settings(data_dir=tmp_path)
    trace = trace_service(settings)
    assert trace.clock.skew == timedelta(seconds=60)
    assert trace_downstream(settings, trace, local=False).clock is trace.clock
    trace.engine.dispose()
    for bad in (-1, 86_401):
        with pytest.raises(ValidationError):
            Settings(data_dir=tmp_path, clock_skew_seconds=bad)
