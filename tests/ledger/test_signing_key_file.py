"""The log's signing key: made mode 0600, refused when others may read it, kept outside the
data directory on a node of a federation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vaxtrace.ledger.checkpoint import NoteError, SigningKey
from vaxtrace.node import ledger_key_file
from vaxtrace.settings import Settings

ORIGIN = "vaxtrace/n/trace"


def test_a_new_key_is_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "trace.key"
    made = SigningKey.load_or_create(ORIGIN, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert SigningKey.load_or_create(ORIGIN, path).verifier() == made.verifier()
    assert [p.name for p in path.parent.iterdir()] == ["trace.key"]  # nothing left aside


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_key_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "trace.key"
    SigningKey.load_or_create(ORIGIN, path)
    path.chmod(mode)
    with pytest.raises(NoteError, match=f"mode {mode:04o}.*chmod 600"):
        SigningKey.load_or_create(ORIGIN, path)


def test_the_demo_keeps_its_key_beside_its_data(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert not settings.in_federation
    assert ledger_key_file(settings, "trace") == tmp_path / "ledger" / "trace.key"


def test_a_federation_node_keeps_its_key_outside_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", system_id="trace-a")
    path = ledger_key_file(settings, "trace")
    assert settings.in_federation and path.name == "trace.key"
    assert not path.is_relative_to(tmp_path) and "trace-a" in path.parts
    chosen = Settings(data_dir=tmp_path / "data", system_id="trace-a", ledger_key_dir=tmp_path)
    assert ledger_key_file(chosen, "trace") == tmp_path / "trace.key"


def test_a_federation_node_refuses_a_key_in_its_data_directory(tmp_path: Path) -> None:
    inside = Settings(data_dir=tmp_path, system_id="trace-a", ledger_key_dir=tmp_path / "keys")
    with pytest.raises(ValueError, match="inside the data directory"):
        ledger_key_file(inside, "trace")


def test_a_key_left_in_the_data_directory_must_be_moved(tmp_path: Path) -> None:
    SigningKey.load_or_create(ORIGIN, tmp_path / "data" / "ledger" / "trace.key")
    settings = Settings(data_dir=tmp_path / "data", system_id="a", ledger_key_dir=tmp_path / "k")
    with pytest.raises(ValueError, match=f"move it to {tmp_path / 'k' / 'trace.key'}"):
        ledger_key_file(settings, "trace")
