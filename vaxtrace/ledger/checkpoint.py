"""Signed checkpoints in the plain-text signed-note format of transparency logs.

A checkpoint body is three lines, ``origin``, tree size in decimal, root hash in base64, each
ending in a newline. A signed note is the body, a blank line, then one line per signature:
``— <key name> <base64(4-byte key hash || signature)>``. Log signatures are Ed25519 (key
type 0x01) over the body; witness cosignatures (key type 0x04) sign
``cosignature/v1\\ntime <unix seconds>\\n`` followed by the body, and carry the time as 8
big-endian bytes between key hash and signature. Existing transparency-log tooling reads both.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014"


class NoteError(ValueError):
    """A note or checkpoint that is malformed or whose signature does not verify."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _key_hash(name: str, key_type: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r}: no spaces and no '+'")
    return name


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"

    @classmethod
    def parse_body(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint body is origin, size and root hash, one per line")
        if not lines[1].isdigit() or (lines[1].startswith("0") and lines[1] != "0"):
            raise NoteError(f"checkpoint size {lines[1]!r} is not a decimal number")
        try:
            root = base64.b64decode(lines[2], validate=True)
        except ValueError as exc:
            raise NoteError("checkpoint root hash is not base64") from exc
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(lines[0], int(lines[1]), root)


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    key_hash: bytes
    blob: bytes  # what follows the key hash: signature, or timestamp + signature

    def line(self) -> str:
        return f"{DASH} {self.name} {_b64(self.key_hash + self.blob)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    body: str
    signatures: tuple[Signature, ...]

    def text(self) -> str:
        return self.body + "\n" + "".join(s.line() for s in self.signatures)

    @classmethod
    def parse(cls, text: str) -> Note:
        body, sep, rest = text.partition("\n\n")
        if not sep or not rest.endswith("\n"):
            raise NoteError("a signed note is a body, a blank line and signature lines")
        signatures = []
        for line in rest[:-1].split("\n"):
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != DASH:
                raise NoteError(f"not a signature line: {line!r}")
            try:
                raw = base64.b64decode(parts[2], validate=True)
            except ValueError as exc:
                raise NoteError("signature is not base64") from exc
            if len(raw) < 5:
                raise NoteError("signature too short")
            signatures.append(Signature(parts[1], raw[:4], raw[4:]))
        return cls(body + "\n", tuple(signatures))

    def with_signature(self, signature: Signature) -> Note:
        kept = tuple(s for s in self.signatures if s.key_hash != signature.key_hash)
        return Note(self.body, (*kept, signature))


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key with its name, as published: ``name+hexkeyhash+base64(type || key)``."""

    name: str
    key_type: int
    public: bytes

    @property
    def key_hash(self) -> bytes:
        return _key_hash(self.name, self.key_type, self.public)

    def text(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}+{_b64(bytes([self.key_type]) + self.public)}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        try:
            name, hex_hash, encoded = text.strip().split("+", 2)  # base64 may hold "+"
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise NoteError("a verifier key is name+keyhash+base64key") from exc
        key = cls(_check_name(name), raw[0], raw[1:])
        if key.key_type not in (ED25519, COSIGNATURE_V1) or len(key.public) != 32:
            raise NoteError("only Ed25519 keys (types 0x01 and 0x04) are supported")
        if key.key_hash.hex() != hex_hash:
            raise NoteError("verifier key hash does not match its name and key")
        return key

    def _find(self, note: Note) -> Signature:
        for s in note.signatures:
            if s.name == self.name and s.key_hash == self.key_hash:
                return s
        raise NoteError(f"no signature by {self.name}")

    def verify(self, note: Note) -> int | None:
        """Check this key's signature on the note; a cosignature's time is returned."""
        signature = self._find(note)
        public = Ed25519PublicKey.from_public_bytes(self.public)
        try:
            if self.key_type == ED25519:
                public.verify(signature.blob, note.body.encode())
                return None
            if len(signature.blob) != 72:
                raise NoteError("a cosignature is 8 bytes of time and 64 of signature")
            timestamp = int.from_bytes(signature.blob[:8], "big")
            public.verify(signature.blob[8:], cosigned_message(note.body, timestamp))
            return timestamp
        except InvalidSignature as exc:
            raise NoteError(f"signature by {self.name} does not verify") from exc


def ed25519_key_at(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key kept at ``path`` (PKCS#8 PEM); made, mode 0600, if missing.

    Made whole or not at all: written aside, then linked into place, so a process starting
    at the same moment reads the key another one made, never half of it."""
    if path.exists():
        return _read_key(path)
    private = Ed25519PrivateKey.generate()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(aside, path)
    except FileExistsError:
        return _read_key(path)
    finally:
        aside.unlink()
    return private


def _read_key(path: Path) -> Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise NoteError(f"{path} is not an Ed25519 private key")
    return loaded


def private_key_at(path: Path) -> Ed25519PrivateKey:
    """:func:`ed25519_key_at`, refused if anyone but its owner may read or write the file."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise NoteError(
                f"{path} is readable or writable by others (mode {mode:04o}); "
                f"a signing key must be mode 0600: chmod 600 {path}"
            )
    return ed25519_key_at(path)


def cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


class SigningKey:
    """An Ed25519 key that signs checkpoints (as a log) or cosigns them (as a witness)."""

    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        self.name = _check_name(name)
        self._private = private
        self._public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def load_or_create(cls, name: str, path: Path) -> SigningKey:
        """Read the key at ``path``; create it (mode 0600) on first start. A key file others
        may read or write is refused."""
        return cls(name, private_key_at(path))

    def verifier(self, key_type: int = ED25519) -> VerifierKey:
        return VerifierKey(self.name, key_type, self._public)

    def sign(self, checkpoint: Checkpoint) -> Note:
        body = checkpoint.body()
        blob = self._private.sign(body.encode())
        return Note(body, (Signature(self.name, self.verifier().key_hash, blob),))

    def cosign(self, note: Note, timestamp: int) -> Signature:
        blob = timestamp.to_bytes(8, "big") + self._private.sign(
            cosigned_message(note.body, timestamp)
        )
        return Signature(self.name, self.verifier(COSIGNATURE_V1).key_hash, blob)


@dataclass(frozen=True, slots=True)
class TrustedCheckpoint:
    """A checkpoint of a log, from outside the node, checked against the log's pinned key (and
    cosigned by every witness asked for): what the node's own log is verified against."""

    key: VerifierKey
    checkpoint: Checkpoint
    cosigned_by: tuple[str, ...]

    @classmethod
    def parse(
        cls, text: str, key: VerifierKey, witnesses: tuple[VerifierKey, ...] = ()
    ) -> TrustedCheckpoint:
        """Refuses a note not signed by ``key``, of another origin, or missing a cosignature."""
        note = Note.parse(text)
        key.verify(note)
        checkpoint = Checkpoint.parse_body(note.body)
        if checkpoint.origin != key.name:
            raise NoteError(f"the checkpoint is of {checkpoint.origin!r}, not of {key.name!r}")
        if checkpoint.size == 0:
            raise NoteError("the checkpoint covers no event")
        for witness in witnesses:
            witness.verify(note)
        return cls(key, checkpoint, tuple(w.name for w in witnesses))

    def signed_by_key(self, text: str) -> Checkpoint:
        """A checkpoint note of the same log, checked against the same pinned key."""
        note = Note.parse(text)
        self.key.verify(note)
        return Checkpoint.parse_body(note.body)
