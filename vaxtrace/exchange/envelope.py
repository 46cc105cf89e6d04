"""The exchange envelope (after NMPAB/T 1005): event-typed batches, compressed and signed.

Wire format (JSON, UTF-8), schema version 1::

    {
      "envelope_version": 1,
      "system_id":  "trace-a",                 # platform-assigned id of the sending system
      "transfer_id": "<uuid>",                 # one per transmission attempt group
      "event_id":   "<uuid>",                  # one per business message; receivers dedupe on it
      "event_type": "20",                      # 10 basic data, 20 application data
      "event_subtype": "201",                  # e.g. the bill type (201 sale, 107 receipt …)
      "data_owner": "<USCC>",                  # the organisation whose data this is
      "created_at": "2026-11-22T01:00:00.000000Z",
      "sequence":   42,                        # per sender → receiver, for ordered delivery
      "payload_encoding": "gzip+base64",
      "payload":    "<base64 of gzip of RFC 8785 JSON>",
      "payload_sha256": "<hex of the uncompressed JSON>",
      "signature": {"alg": "Ed25519", "key_id": "<hex>", "value": "<base64>"}
    }

The signature covers the RFC 8785 canonical JSON of every field but ``signature``. The algorithm
is named, so SM2/SM3 signers can be added beside Ed25519 without a format change.

Envelopes travel in batches, ``POST …/exchange/batches`` with ``{"envelopes": [...]}`` (one
queue's, in sequence order, at most 1000); the receiver takes all or none and answers
``{"results": [{"event_id", "accepted", "duplicate", …}, …]}`` in the same order. A refusal is
an RFC 9457 problem naming the envelope at fault (``envelopes[3].signature``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.ledger.canonical import canonical_json

VERSION = 1
MAX_PAYLOAD = 64 * 1024 * 1024
EVENT_TYPES = ("10", "20")
_FIELDS = (
    "envelope_version",
    "system_id",
    "transfer_id",
    "event_id",
    "event_type",
    "event_subtype",
    "data_owner",
    "created_at",
    "sequence",
    "payload_encoding",
    "payload",
    "payload_sha256",
    "signature",
)


class Signer(Protocol):
    @property
    def alg(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class Verifier(Protocol):
    @property
    def alg(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    def verify(self, signature: bytes, message: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    private: Ed25519PrivateKey
    alg: str = "Ed25519"

    @property
    def key_id(self) -> str:
        return key_id_of(self.private.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.private.public_key())

    def public_text(self) -> str:
        """The public key as registered with the platform: base64 of its 32 raw bytes."""
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class Ed25519Verifier:
    public: Ed25519PublicKey
    alg: str = "Ed25519"

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)

    @classmethod
    def from_text(cls, text: str) -> Ed25519Verifier:
        """The key a system registered (see :meth:`Ed25519Signer.public_text`)."""
        return cls(Ed25519PublicKey.from_public_bytes(base64.b64decode(text)))

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Opened:
    """A verified envelope and its payload."""

    header: dict[str, Any]
    payload: Any


def seal(
    signer: Signer,
    *,
    system_id: str,
    event_type: str,
    event_subtype: str,
    data_owner: str,
    sequence: int,
    payload: Any,
    event_id: str | None = None,
    transfer_id: str | None = None,
) -> dict[str, Any]:
    """Build and sign an envelope around ``payload``."""
    if event_type not in EVENT_TYPES:
        raise DomainError(
            Reason.BAD_EVENT_TYPE, f"event_type is one of {EVENT_TYPES}", field="event_type"
        )
    body = canonical_json(payload)
    envelope: dict[str, Any] = {
        "envelope_version": VERSION,
        "system_id": system_id,
        "transfer_id": transfer_id or str(uuid.uuid4()),
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "event_subtype": event_subtype,
        "data_owner": data_owner,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "sequence": sequence,
        "payload_encoding": "gzip+base64",
        "payload": base64.b64encode(gzip.compress(body, mtime=0)).decode(),
        "payload_sha256": hashlib.sha256(body).hexdigest(),
    }
    signature = signer.sign(canonical_json(envelope))
    envelope["signature"] = {
        "alg": signer.alg,
        "key_id": signer.key_id,
        "value": base64.b64encode(signature).decode(),
    }
    return envelope


def open_envelope(
    envelope: Mapping[str, Any], verifier_for: Callable[[str, str, str], Verifier | None]
) -> Opened:
    """Check an envelope's shape, signature and payload; ``verifier_for(system_id, alg,
    key_id)`` answers the sender's registered key, or None."""
    if not isinstance(envelope, Mapping):
        raise DomainError(Reason.MALFORMED_ENVELOPE, "an envelope is a JSON object")
    missing = [f for f in _FIELDS if f not in envelope]
    if "signature" in missing:
        raise DomainError(
            Reason.UNSIGNED_ENVELOPE, "the envelope carries no signature", field="signature"
        )
    if missing:
        raise DomainError(
            Reason.MALFORMED_ENVELOPE, f"missing field(s) {', '.join(missing)}", field=missing[0]
        )
    extra = sorted(set(envelope) - set(_FIELDS))
    if extra:
        raise DomainError(
            Reason.MALFORMED_ENVELOPE, f"unknown field(s) {', '.join(extra)}", field=extra[0]
        )
    if envelope["envelope_version"] != VERSION:
        raise DomainError(
            Reason.UNSUPPORTED_VERSION,
            f"envelope_version {VERSION} expected",
            field="envelope_version",
        )
    signature = envelope["signature"]
    if not isinstance(signature, Mapping) or set(signature) != {"alg", "key_id", "value"}:
        raise DomainError(
            Reason.MALFORMED_ENVELOPE, "signature is {alg, key_id, value}", field="signature"
        )
    verifier = verifier_for(
        str(envelope["system_id"]), str(signature["alg"]), str(signature["key_id"])
    )
    if verifier is None:
        raise DomainError(
            Reason.UNKNOWN_KEY,
            f"no {signature['alg']} key {signature['key_id']} "
            f"registered for {envelope['system_id']}",
            field="signature",
        )
    header = {k: v for k, v in envelope.items() if k != "signature"}
    try:
        raw_signature = base64.b64decode(str(signature["value"]), validate=True)
    except ValueError as exc:
        raise DomainError(
            Reason.BAD_SIGNATURE, "signature value is not base64", field="signature"
        ) from exc
    if not verifier.verify(raw_signature, canonical_json(header)):
        raise DomainError(
            Reason.BAD_SIGNATURE, "the signature does not match the envelope", field="signature"
        )
    payload = _unpack(header)
    return Opened({k: v for k, v in header.items() if k != "payload"}, payload)


def payload_of(envelope: Mapping[str, Any]) -> Any:
    """The payload of an envelope this node sealed itself (its own outbox: no signature to
    check)."""
    return _unpack(envelope)


def _unpack(header: Mapping[str, Any]) -> Any:
    if header["payload_encoding"] != "gzip+base64":
        raise DomainError(
            Reason.UNSUPPORTED_ENCODING, "payload_encoding is gzip+base64", field="payload_encoding"
        )
    try:
        compressed = base64.b64decode(str(header["payload"]), validate=True)
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            body = stream.read(MAX_PAYLOAD + 1)
    except (ValueError, OSError, EOFError) as exc:
        raise DomainError(
            Reason.MALFORMED_PAYLOAD, f"payload does not decompress: {exc}", field="payload"
        ) from exc
    if len(body) > MAX_PAYLOAD:
        raise DomainError(
            Reason.PAYLOAD_TOO_LARGE, f"payload over {MAX_PAYLOAD} bytes", field="payload"
        )
    if hashlib.sha256(body).hexdigest() != header["payload_sha256"]:
        raise DomainError(
            Reason.PAYLOAD_MISMATCH, "payload does not match payload_sha256", field="payload"
        )
    return json.loads(body)


class EnvelopeBatch(BaseModel):
    """The body of ``POST …/exchange/batches``: one queue's envelopes in sequence order."""

    envelopes: list[dict[str, Any]]
