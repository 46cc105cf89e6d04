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
    assert settings.in_federation
    assert ledger_key_file(settings, "trace") == tmp_path / "data-keys" / "ledger" / "trace.key"
    chosen = Settings(data_dir=tmp_path / "data", system_id="trace-a", ledger_key_dir=tmp_path)
    assert ledger_key_file(chosen, "trace") == tmp_path / "trace.key"


def test_a_federation_node_refuses_a_key_in_its_data_directory(tmp_path: Path) -> None:
    inside = Settings(data_dir=tmp_path, system_id="trace-a", ledger_key_dir=tmp_path / "keys")
    with pytest.raises(ValueError, match="inside the data directory"):
        ledger_key_file(inside, "trace")


def test_a_key_left_in_the_data_directory_is_moved_out(tmp_path: Path) -> None:
    """A demo's data directory that joins a federation keeps its log's key, out of it."""
    earlier = tmp_path / "data" / "ledger" / "trace.key"
    made = SigningKey.load_or_create(ORIGIN, earlier)
    settings = Settings(data_dir=tmp_path / "data", system_id="a", ledger_key_dir=tmp_path / "k")
    path = ledger_key_file(settings, "trace")
    assert path == tmp_path / "k" / "trace.key" and not earlier.exists()
    assert SigningKey.load_or_create(ORIGIN, path).verifier() == made.verifier()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    SigningKey.load_or_create(ORIGIN, earlier)  # and a second key put back there
    with pytest.raises(ValueError, match="two signing keys"):
        ledger_key_file(settings, "trace")
