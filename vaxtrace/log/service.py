"""A role's tamper-evident log as a service: append with every write, sign checkpoints, prove,
verify, and witness other nodes' logs (a fork or a rollback is never countersigned)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.ledger import merkle
from vaxtrace.ledger.checkpoint import (
    COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteError,
    SigningKey,
    TrustedCheckpoint,
    VerifierKey,
)
from vaxtrace.ledger.proofs import b64, unb64
from vaxtrace.log.verify import CHECKS, Check, LogUnderCheck
from vaxtrace.log.verify import verify as verify_checks
from vaxtrace.store.engine import Connection, Engine, read_tx, write_tx
from vaxtrace.store.ledger import Ledger, Verdict

logger = logging.getLogger("vaxtrace")


class WitnessAlert(StrEnum):
    """Why a witness refused to cosign another log's checkpoint (an alert it keeps)."""

    BAD_SIGNATURE = "bad_signature"
    """Not signed by the key the log was pinned with."""
    BAD_ORIGIN = "bad_origin"
    """Signed, but naming another log."""
    ROLLBACK = "rollback"
    """Smaller than a checkpoint of that log seen before."""
    FORK = "fork"
    """Not an extension of a checkpoint of that log seen before: two histories."""


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """Sign a new checkpoint at most every ``seconds``, or once ``events`` have piled up."""

    seconds: float
    events: int

    def due(self, size: int, last_size: int, last_signed: float | None, now: float) -> bool:
        if size <= last_size:
            return False
        if last_signed is None or size - last_size >= self.events:
            return True
        return now - last_signed >= self.seconds


class PeerLog(Protocol):
    """How a witness reads another node's log (over HTTP, or in-process)."""

    def checkpoint(self) -> str: ...

    def consistency(self, old: int, new: int) -> list[bytes]: ...

    def send_cosignature(self, note: str) -> None: ...


class LocalPeerLog:
    """Another role's log in this process, read as a witness reads one over HTTP."""

    def __init__(self, log: LedgerService) -> None:
        self.log = log

    def checkpoint(self) -> str:
        return self.log.checkpoint()

    def consistency(self, old: int, new: int) -> list[bytes]:
        return [unb64(p) for p in self.log.consistency(old, new)["proof"]]

    def send_cosignature(self, note: str) -> None:
        self.log.accept_cosignature(note)


def witness_one_another(logs: list[LedgerService]) -> list[dict[str, Any]]:
    """One round of every log witnessing every other one in this process (signing first
    what each has appended): what each witnessing answered."""
    for log in logs:
        log.checkpoint(force=True)
    return [
        witness.witness(peer.verifier, LocalPeerLog(peer))
        for witness in logs
        for peer in logs
        if peer is not witness
    ]


class EventReaders(Protocol):
    """Who may read an event's document: the role's staff, by their tokens and its rule."""

    def authenticate(self, token: str) -> str | None: ...

    def may_read_event(self, reader: str, document: bytes) -> bool: ...


def names_reader(reader: str, document: bytes) -> bool:
    """A journal entry is read by the organisation it concerns (its ``org_uscc``)."""
    return bool(json.loads(document).get("org_uscc") == reader)


class LedgerService:
    readers: EventReaders | None = None
    """The role's rule of who reads an event's document (None: nobody over HTTP)."""

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        key: SigningKey,
        policy: CheckpointPolicy,
        trusted_witnesses: list[VerifierKey] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.ledger, self.key, self.policy = engine, ledger, key, policy
        self.origin = key.name
        self.witnesses = {w.key_hash: w for w in trusted_witnesses or []}
        self.clock = clock
        self._seen: tuple[int, float] | None = None
        """(tree size, signed at) of the latest committed checkpoint this service has seen."""

    def trust_witness(self, cosigner: VerifierKey) -> None:
        """Keep this witness's cosignatures on our checkpoints from now on."""
        self.witnesses[cosigner.key_hash] = cosigner

    @property
    def verifier(self) -> VerifierKey:
        return self.key.verifier()

    # --- with every write ------------------------------------------------------------------

    def record(self, conn: Connection, first_event_id: int) -> None:
        """Give the events just written their leaves, in their transaction; sign when due."""
        size = self.ledger.append_from(conn, first_event_id)
        self._maybe_sign(conn, size, force=False)

    def sign_if_due(self, size: int | None = None) -> None:
        """Sign a checkpoint over what has been appended, if the policy says it is time.

        Called after every write: the check reads, and only a due signature takes the write
        lock (where the check is made again). ``size``, the tree size the caller's write
        left, spares the read while the latest checkpoint this service has seen says that
        size is not due yet: any checkpoint signed since, by any process, is later and
        covers more, so it can only make it less due.
        """
        seen = self._seen
        if size is not None and seen is not None and not self.policy.due(size, *seen, self.clock()):
            return
        with read_tx(self.engine) as conn:
            size = self.ledger.size(conn)
            last_size, last_signed = self._latest(conn)
        if last_signed is not None:
            self._seen = (last_size, last_signed)
        if self.policy.due(size, last_size, last_signed, self.clock()):
            with write_tx(self.engine) as conn:
                signed = self._maybe_sign(conn, self.ledger.size(conn), force=False)
            if signed is not None:
                self._seen = signed

    def _latest(self, conn: Connection) -> tuple[int, float | None]:
        """(tree size, signed at) of the latest checkpoint; (0, None) before the first."""
        last = self.ledger.latest_checkpoint(conn)
        if last is None:
            return 0, None
        return int(last["tree_size"]), _timestamp(last["signed_at"])

    def _due(self, conn: Connection, size: int, *, force: bool) -> bool:
        last_size, last_signed = self._latest(conn)
        return (force and size > last_size) or self.policy.due(
            size, last_size, last_signed, self.clock()
        )

    def _maybe_sign(self, conn: Connection, size: int, *, force: bool) -> tuple[int, float] | None:
        """Sign a checkpoint of ``size`` in ``conn`` if due; answers (size, signed at) if so."""
        if self._due(conn, size, force=force):
            root = self.ledger.root(conn, size)
            note = self.key.sign(Checkpoint(self.origin, size, root))
            signed_at = datetime.fromtimestamp(self.clock(), UTC)
            self.ledger.save_checkpoint(conn, size, root, note.text(), signed_at)
            return size, _timestamp(signed_at)
        return None

    # --- checkpoints -------------------------------------------------------------------------

    def checkpoint(self, *, sign_pending: bool = True, force: bool = False) -> str:
        """The latest signed checkpoint with every cosignature received for it."""
        if sign_pending:
            with write_tx(self.engine) as conn:
                self._maybe_sign(conn, self.ledger.size(conn), force=force)
        with read_tx(self.engine) as conn:
            latest = self.ledger.latest_checkpoint(conn)
            if latest is None:
                raise DomainError(Reason.NO_CHECKPOINT, "the log is empty: nothing signed yet")
            note = Note.parse(str(latest["note"]))
            for line in self.ledger.cosignatures(conn, int(latest["tree_size"])):
                note = note.with_signature(Note.parse(note.body + "\n" + line).signatures[0])
        return note.text()

    def accept_cosignature(self, text: str) -> dict[str, Any]:
        """Keep a trusted witness's cosignature on one of our checkpoints."""
        try:
            note = Note.parse(text)
            checkpoint = Checkpoint.parse_body(note.body)
        except NoteError as exc:
            raise DomainError(Reason.MALFORMED_NOTE, str(exc), field="note") from exc
        with write_tx(self.engine) as conn:
            ours = self.ledger.checkpoint_at(conn, checkpoint.size)
            if ours is None or Note.parse(str(ours["note"])).body != note.body:
                raise DomainError(
                    Reason.NOT_OUR_CHECKPOINT,
                    "the note cosigns no checkpoint of ours",
                    field="note",
                )
            kept = []
            for signature in note.signatures:
                witness = self.witnesses.get(signature.key_hash)
                if witness is None or witness.name != signature.name:
                    continue
                try:
                    witness.verify(Note(note.body, (signature,)))
                except NoteError as exc:
                    raise DomainError(Reason.BAD_COSIGNATURE, str(exc), field="note") from exc
                self.ledger.save_cosignature(conn, checkpoint.size, witness.name, signature.line())
                kept.append(witness.name)
        if not kept:
            raise DomainError(
                Reason.UNKNOWN_WITNESS, "no cosignature by a witness we trust", field="note"
            )
        return {"tree_size": checkpoint.size, "cosigned_by": kept}

    # --- proofs ------------------------------------------------------------------------------

    def inclusion(self, event_id: int, tree_size: int | None = None) -> dict[str, Any]:
        """Proof that an event is in the log, against a signed checkpoint (a fresh one if the
        event is newer than the latest)."""
        with read_tx(self.engine) as conn:
            index = self.ledger.leaf_of_event(conn, event_id)
            if index is None:
                raise DomainError(
                    Reason.UNKNOWN_EVENT, f"event {event_id} is not in this log", field="event_id"
                )
            latest = self.ledger.latest_checkpoint(conn)
        if tree_size is None and (latest is None or int(latest["tree_size"]) <= index):
            self.checkpoint(force=True)
        with read_tx(self.engine) as conn:
            chosen = (
                self.ledger.checkpoint_at(conn, tree_size)
                if tree_size is not None
                else self.ledger.latest_checkpoint(conn)
            )
            if chosen is None or int(chosen["tree_size"]) <= index:
                raise DomainError(
                    Reason.NO_CHECKPOINT,
                    f"no signed checkpoint of size {tree_size} covers event {event_id}",
                    field="tree_size",
                )
            size = int(chosen["tree_size"])
            document = dict(self.ledger.documents(conn, event_id, event_id + 1))[event_id]
            proof = self.ledger.inclusion(conn, index, size)
        return {
            "origin": self.origin,
            "log_key": self.verifier.text(),
            "checkpoint": str(chosen["note"]),
            "event_id": event_id,
            "leaf_index": index,
            "tree_size": size,
            "document": b64(document),
            "leaf_hash": b64(merkle.leaf_hash(document)),
            "proof": [b64(p) for p in proof],
        }

    def proof_for(
        self, reader: str | None, event_id: int, tree_size: int | None = None
    ) -> dict[str, Any]:
        """:meth:`inclusion` as anyone may have it: the checkpoint, the leaf hash and the audit
        path (the leaf hash is enough to check the path); the event's document only for a
        reader the role entitles to it, else ``document`` is null."""
        bundle = self.inclusion(event_id, tree_size)
        entitled = (
            reader is not None
            and self.readers is not None
            and self.readers.may_read_event(reader, unb64(bundle["document"]))
        )
        return bundle if entitled else bundle | {"document": None}

    def consistency(self, old: int, new: int) -> dict[str, Any]:
        with read_tx(self.engine) as conn:
            size = self.ledger.size(conn)
            if not 0 < old <= new <= size:
                raise DomainError(
                    Reason.BAD_TREE_SIZES, f"need 0 < old <= new <= {size}", field="old"
                )
            proof = self.ledger.consistency(conn, old, new)
        return {"old": old, "new": new, "proof": [b64(p) for p in proof]}

    def verify(self, trusted: TrustedCheckpoint, checks: list[Check] = CHECKS) -> Verdict:
        """Check the log against a checkpoint trusted from outside the node (see log.verify)."""
        with read_tx(self.engine) as conn:
            return verify_checks(LogUnderCheck(self.ledger, conn, trusted, self.verifier), checks)

    # --- witnessing ---------------------------------------------------------------------------

    def witness(self, log_key: VerifierKey, peer: PeerLog) -> dict[str, Any]:
        """Check a peer log's newest checkpoint against the last one we saw; cosign if it only
        grew. A fork or rollback raises an alert and is never cosigned."""
        text = peer.checkpoint()
        try:
            note = Note.parse(text)
            log_key.verify(
                Note(note.body, tuple(s for s in note.signatures if s.key_hash == log_key.key_hash))
            )
            checkpoint = Checkpoint.parse_body(note.body)
        except NoteError as exc:
            return self._alert(log_key.name, WitnessAlert.BAD_SIGNATURE, str(exc), text)
        if checkpoint.origin != log_key.name:
            return self._alert(
                log_key.name,
                WitnessAlert.BAD_ORIGIN,
                f"checkpoint origin {checkpoint.origin!r}",
                text,
            )
        with read_tx(self.engine) as conn:
            seen = self.ledger.witnessed(conn, log_key.name)
        if seen is not None:
            old_size, old_root = int(seen["tree_size"]), bytes(seen["root"])
            if checkpoint.size < old_size:
                return self._alert(
                    log_key.name,
                    WitnessAlert.ROLLBACK,
                    f"size went back from {old_size} to {checkpoint.size}",
                    text,
                )
            if checkpoint.size == old_size and checkpoint.root != old_root:
                return self._alert(
                    log_key.name, WitnessAlert.FORK, f"two roots for size {old_size}", text
                )
            if checkpoint.size > old_size:
                proof = peer.consistency(old_size, checkpoint.size)
                if not merkle.verify_consistency(
                    old_size, checkpoint.size, old_root, checkpoint.root, proof
                ):
                    return self._alert(
                        log_key.name,
                        WitnessAlert.FORK,
                        f"size {checkpoint.size} is not "
                        f"consistent with size {old_size} seen before",
                        text,
                    )
        timestamp = int(self.clock())
        cosigned = note.with_signature(self.key.cosign(note, timestamp)).text()
        with write_tx(self.engine) as conn:
            self.ledger.save_witnessed(
                conn, log_key.name, checkpoint.size, checkpoint.root, cosigned
            )
        peer.send_cosignature(cosigned)
        return {"origin": log_key.name, "tree_size": checkpoint.size, "cosigned": True}

    # --- the checkpoint directory -----------------------------------------------------------

    def directory(self) -> list[dict[str, Any]]:
        """The logs this one witnesses, each with the latest checkpoint it cosigned."""
        with read_tx(self.engine) as conn:
            rows = self.ledger.all_witnessed(conn)
        return [
            {
                "origin": r["origin"],
                "tree_size": int(r["tree_size"]),
                "root": b64(bytes(r["root"])),
                "checked_at": _iso(r["checked_at"]),
                "checkpoint": str(r["note"]),
            }
            for r in rows
        ]

    def witnessed_checkpoint(self, origin: str) -> str:
        """The latest checkpoint of ``origin``'s log this one cosigned (signed-note text, with
        its cosignature): a checkpoint kept outside that node, to verify it against."""
        with read_tx(self.engine) as conn:
            row = self.ledger.witnessed(conn, origin)
        if row is None:
            raise DomainError(
                Reason.UNKNOWN_LOG, f"this log does not witness {origin!r}", field="origin"
            )
        return str(row["note"])

    def _alert(self, origin: str, kind: WitnessAlert, detail: str, note: str) -> dict[str, Any]:
        with write_tx(self.engine) as conn:
            if self.ledger.latest_alert(conn, origin) == (kind.value, note):
                return {"origin": origin, "cosigned": False, "alert": kind.value, "detail": detail}
            self.ledger.raise_alert(conn, origin, kind.value, detail, note)
        logger.error("witnessing %s: %s, not cosigned: %s", origin, kind.value, detail)
        return {"origin": origin, "cosigned": False, "alert": kind.value, "detail": detail}

    def alerts(self) -> list[dict[str, Any]]:
        with read_tx(self.engine) as conn:
            rows = self.ledger.alerts(conn)
        return [
            {
                "id": r["id"],
                "origin": r["origin"],
                "kind": r["kind"],
                "detail": r["detail"],
                "raised_at": _iso(r["raised_at"]),
            }
            for r in rows
        ]

    def cosigner(self) -> VerifierKey:
        """The key others use to check this node's cosignatures."""
        return self.key.verifier(COSIGNATURE_V1)


def _timestamp(value: datetime) -> float:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.timestamp()


def _iso(value: datetime) -> str:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()
