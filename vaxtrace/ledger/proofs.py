"""A proof bundle: one event's inclusion in a signed checkpoint, self-contained, and its
offline check (no database, nothing but the bundle and, if pinned, the log's key)."""

from __future__ import annotations

import base64
from typing import Any

from vaxtrace.ledger import merkle
from vaxtrace.ledger.checkpoint import Checkpoint, Note, NoteError, VerifierKey


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def check_proof(bundle: dict[str, Any], pinned_key: VerifierKey | None = None) -> Checkpoint:
    """Verify a proof bundle offline: the checkpoint's signature, then the event's inclusion.

    Returns the checkpoint proven against; raises :class:`NoteError` saying what failed.
    """
    try:
        key = pinned_key or VerifierKey.parse(bundle["log_key"])
        note = Note.parse(bundle["checkpoint"])
        key.verify(Note(note.body, tuple(s for s in note.signatures if s.key_hash == key.key_hash)))
        checkpoint = Checkpoint.parse_body(note.body)
        document, given = bundle.get("document"), bundle.get("leaf_hash")
        # the document's own hash when the bundle carries it; a reader not entitled to the
        # document gets the leaf hash alone
        leaf = merkle.leaf_hash(unb64(document)) if document else unb64(bundle["leaf_hash"])
        proof = [unb64(p) for p in bundle["proof"]]
        index, size = int(bundle["leaf_index"]), int(bundle["tree_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise NoteError(f"not a proof bundle: {exc}") from exc
    if size != checkpoint.size:
        raise NoteError(f"proof is for size {size}, checkpoint is size {checkpoint.size}")
    if not merkle.verify_inclusion(index, size, leaf, proof, checkpoint.root):
        raise NoteError("the inclusion proof does not lead to the checkpoint's root")
    if given is not None and unb64(given) != leaf:
        raise NoteError("the bundle's leaf_hash is not its document's")
    return checkpoint
