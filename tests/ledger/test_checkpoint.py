"""Signed-note checkpoints and witness cosignatures."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from vaxtrace.ledger.checkpoint import (
    COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteError,
    SigningKey,
    VerifierKey,
)

ROOT = bytes(range(32))


def test_checkpoint_body_is_three_lines() -> None:
    cp = Checkpoint("vaxtrace.example/trace/node-1", 42, ROOT)
    assert cp.body() == f"vaxtrace.example/trace/node-1\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert Checkpoint.parse_body(cp.body()) == cp


@pytest.mark.parametrize("body", ["o\n42\n", "o\n4x2\nAA==\n", "o\n042\nAA==\n", "o\n1\nAAAA\n"])
def test_malformed_bodies_are_refused(body: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse_body(body)


def test_key_is_created_once_and_signs(tmp_path: Path) -> None:
    path = tmp_path / "ledger" / "trace.key"
    key = SigningKey.load_or_create("vaxtrace.example/trace", path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = SigningKey.load_or_create("vaxtrace.example/trace", path)
    assert again.verifier().text() == key.verifier().text()
    note = key.sign(Checkpoint("vaxtrace.example/trace", 7, ROOT))
    text = note.text()
    assert text.count("\n\n") == 1 and text.splitlines()[-1].startswith("\u2014 vaxtrace")
    parsed = Note.parse(text)
    vkey = VerifierKey.parse(key.verifier().text())
    assert vkey.verify(parsed) is None
    assert Checkpoint.parse_body(parsed.body).size == 7


def test_tampered_notes_fail(tmp_path: Path) -> None:
    key = SigningKey.load_or_create("log", tmp_path / "k")
    text = key.sign(Checkpoint("log", 7, ROOT)).text()
    forged = Note.parse(text.replace("\n7\n", "\n8\n"))
    with pytest.raises(NoteError, match="does not verify"):
        key.verifier().verify(forged)
    stranger = SigningKey.load_or_create("log", tmp_path / "other")
    with pytest.raises(NoteError, match="no signature"):
        stranger.verifier().verify(Note.parse(text))


def test_cosignature_round_trip(tmp_path: Path) -> None:
    log = SigningKey.load_or_create("log", tmp_path / "log.key")
    witness = SigningKey.load_or_create("witness", tmp_path / "w.key")
    note = log.sign(Checkpoint("log", 9, ROOT))
    cosigned = Note.parse(note.with_signature(witness.cosign(note, 1_790_000_000)).text())
    assert log.verifier().verify(cosigned) is None
    assert witness.verifier(COSIGNATURE_V1).verify(cosigned) == 1_790_000_000
    with pytest.raises(NoteError):
        witness.verifier().verify(cosigned)  # a log key type does not verify a cosignature


def test_verifier_key_text_is_checked() -> None:
    with pytest.raises(NoteError):
        VerifierKey.parse("name+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode())
