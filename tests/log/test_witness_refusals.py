"""A witness refuses, and records an alert for, a checkpoint signed by another key and a
fork of a log it watched (tests/log/test_service.py covers a rewritten history and a
rollback)."""

from __future__ import annotations

from pathlib import Path

from tests.log.test_service import pair, write_events
from vaxtrace.ledger.checkpoint import Checkpoint, Note, SigningKey
from vaxtrace.log.service import LedgerService, LocalPeerLog

__all__ = ["pair"]  # the fixture


class ForgingPeer(LocalPeerLog):
    """A log whose checkpoint someone re-signed with a key of the same name."""

    def __init__(self, log: LedgerService, key: SigningKey) -> None:
        super().__init__(log)
        self.key = key

    def checkpoint(self) -> str:
        body = Note.parse(self.log.checkpoint()).body
        return self.key.sign(Checkpoint.parse_body(body)).text()


def test_a_checkpoint_signed_by_another_key_is_not_cosigned(
    pair: tuple[LedgerService, LedgerService], tmp_path: Path
) -> None:
    log, witness = pair
    write_events(log, 3)
    forger = SigningKey.load_or_create(log.origin, tmp_path / "forger.key")
    result = witness.witness(log.verifier, ForgingPeer(log, forger))
    assert result["cosigned"] is False and result["alert"] == "bad_signature"
    assert [a["kind"] for a in witness.alerts()] == ["bad_signature"]
    assert len(Note.parse(log.checkpoint(sign_pending=False)).signatures) == 1  # no cosignature


def test_two_roots_for_one_size_is_a_fork(
    pair: tuple[LedgerService, LedgerService], tmp_path: Path
) -> None:
    log, witness = pair
    write_events(log, 3)
    seen = witness.witness(log.verifier, LocalPeerLog(log))["tree_size"]

    class SameSizeOtherRoot(LocalPeerLog):
        def checkpoint(self) -> str:
            size = Checkpoint.parse_body(Note.parse(self.log.checkpoint()).body).size
            return self.log.key.sign(Checkpoint(self.log.origin, size, bytes(32))).text()

    result = witness.witness(log.verifier, SameSizeOtherRoot(log))
    assert result == {
        "origin": log.origin,
        "cosigned": False,
        "alert": "fork",
        "detail": f"two roots for size {seen}",
    }
    assert [a["kind"] for a in witness.alerts()] == ["fork"]
