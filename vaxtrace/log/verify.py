"""Verifying a node's log against a checkpoint trusted from outside the node.

The log's own tables prove nothing to whoever can rewrite them: an operator with file access
can roll the log back, or rewrite it whole and sign it again. So ``verify`` starts from a
checkpoint someone outside the node kept (a witness, the platform, an earlier download), under
the log's pinned verifier key, and runs :data:`CHECKS` in order; the first failure is the
answer. A check takes the log under check and answers a failing :class:`Verdict` or None, so
another check is one more function in the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vaxtrace.ledger import merkle
from vaxtrace.ledger.checkpoint import NoteError, TrustedCheckpoint, VerifierKey
from vaxtrace.store.engine import Connection
from vaxtrace.store.ledger import Ledger, Verdict, verify_log


@dataclass(frozen=True, slots=True)
class LogUnderCheck:
    ledger: Ledger
    conn: Connection
    trusted: TrustedCheckpoint
    signer: VerifierKey
    """The key the node is configured to sign with."""

    def size(self) -> int:
        return self.ledger.size(self.conn)

    def failed(self, problem: str, event_id: int | None = None) -> Verdict:
        return Verdict(False, self.size(), problem, event_id)


Check = Callable[[LogUnderCheck], Verdict | None]


def same_key(log: LogUnderCheck) -> Verdict | None:
    """The node still signs with the trusted key (a replaced key file signs a forged log)."""
    if log.signer == log.trusted.key:
        return None
    return log.failed(
        f"forged key: the node signs with {log.signer.text()}, not the trusted key "
        f"{log.trusted.key.text()}"
    )


def not_rolled_back(log: LogUnderCheck) -> Verdict | None:
    """The log holds at least what the trusted checkpoint covers."""
    size, trusted = log.size(), log.trusted.checkpoint.size
    if size >= trusted:
        return None
    return log.failed(
        f"rollback: the log holds {size} events but the trusted checkpoint covers {trusted}: "
        f"the last {trusted - size} were removed"
    )


def same_history(log: LogUnderCheck) -> Verdict | None:
    """The log's tree at the trusted size has the trusted root."""
    trusted = log.trusted.checkpoint
    try:
        root = log.ledger.root(log.conn, trusted.size)
    except LookupError as exc:
        return log.failed(f"rewrite: the tree at size {trusted.size} is incomplete ({exc})")
    if root == trusted.root:
        return None
    return log.failed(
        f"rewrite: the log's root at size {trusted.size} differs from the trusted "
        "checkpoint's: its history was rewritten"
    )


def checkpoint_kept(log: LogUnderCheck) -> Verdict | None:
    """The node still keeps the checkpoint it signed at the trusted size, unchanged."""
    trusted = log.trusted.checkpoint
    row = log.ledger.checkpoint_at(log.conn, trusted.size)
    if row is None:
        return log.failed(
            f"checkpoints deleted: the node no longer keeps the checkpoint it signed at size "
            f"{trusted.size}"
        )
    if bytes(row["root"]) != trusted.root or not str(row["note"]).startswith(trusted.body()):
        return log.failed(f"rewrite: the node's checkpoint at size {trusted.size} was replaced")
    return None


def latest_signed(log: LogUnderCheck) -> Verdict | None:
    """The node's latest checkpoint is signed by the trusted key and says what its row says."""
    row = log.ledger.latest_checkpoint(log.conn)
    try:
        checkpoint = log.trusted.signed_by_key(str(row["note"]))
    except NoteError as exc:
        return log.failed(
            f"forged checkpoint: the node's latest checkpoint (size {row['tree_size']}) is "
            f"refused under the trusted key: {exc}"
        )
    if (checkpoint.size, checkpoint.root) != (int(row["tree_size"]), bytes(row["root"])):
        return log.failed(
            f"forged checkpoint: the row of size {row['tree_size']} holds another note"
        )
    return None


def consistent_with_trusted(log: LogUnderCheck) -> Verdict | None:
    """A later local checkpoint extends the trusted one (RFC 9162 consistency proof, made from
    the log's own tree)."""
    trusted = log.trusted.checkpoint
    row = log.ledger.latest_checkpoint(log.conn)
    size, root = int(row["tree_size"]), bytes(row["root"])
    if size == trusted.size:
        return None
    proof = log.ledger.consistency(log.conn, trusted.size, size)
    if merkle.verify_consistency(trusted.size, size, trusted.root, root, proof):
        return None
    return log.failed(
        f"fork: the node's checkpoint at size {size} is not consistent with the trusted "
        f"checkpoint at size {trusted.size}"
    )


def leaves_and_tree(log: LogUnderCheck) -> Verdict | None:
    """Every leaf recomputed from its event, the tree from the leaves, the latest root."""
    verdict = verify_log(log.ledger, log.conn)
    return None if verdict.ok else verdict


CHECKS: list[Check] = [
    same_key,
    not_rolled_back,
    same_history,
    checkpoint_kept,
    latest_signed,
    consistent_with_trusted,
    leaves_and_tree,
]
"""In order: cheap anchoring first, then the full recomputation."""


def verify(log: LogUnderCheck, checks: list[Check] = CHECKS) -> Verdict:
    for check in checks:
        failed = check(log)
        if failed is not None:
            return failed
    return Verdict(True, log.size())
