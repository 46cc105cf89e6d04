"""One settings object: arguments over environment over a TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

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
