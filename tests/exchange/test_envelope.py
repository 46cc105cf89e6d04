"""Signed, compressed exchange envelopes: what a receiver accepts and what it refuses."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.envelope import Ed25519Signer, Verifier, open_envelope, seal

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
PAYLOAD = {
    "shipping_note": {
        "document_no": "FH2026001",
        "codes": ["80000000000000008574"],
        "expected_quantity": 500,
        "temperature_max": 7.5,
    }
}


def keys(system_id: str, alg: str, key_id: str) -> Verifier | None:
    ok = system_id == "trace-a" and alg == "Ed25519" and key_id == SIGNER.key_id
    return SIGNER.verifier() if ok else None


def sealed(**extra: Any) -> dict[str, Any]:
    return seal(
        SIGNER,
        system_id="trace-a",
        event_type="20",
        event_subtype="201",
        data_owner="91320100MA1X000009",
        sequence=1,
        payload=PAYLOAD,
        **extra,
    )


def refused(envelope: Any, reason: str) -> None:
    with pytest.raises(DomainError) as caught:
        open_envelope(envelope, keys)
    assert caught.value.reason == reason, caught.value.message


def test_round_trip_over_json() -> None:
    envelope = json.loads(json.dumps(sealed()))
    opened = open_envelope(envelope, keys)
    assert opened.payload == PAYLOAD
    assert opened.header["event_subtype"] == "201" and "payload" not in opened.header


def test_tampering_anywhere_is_refused() -> None:
    envelope = sealed()
    refused(dict(envelope, data_owner="91320200MA1X000021"), "bad_signature")
    refused(dict(envelope, sequence=2), "bad_signature")
    other = base64.b64encode(gzip.compress(b'{"forged":true}')).decode()
    refused(dict(envelope, payload=other), "bad_signature")


def test_unsigned_unknown_keys_and_malformed_envelopes_are_refused() -> None:
    envelope = sealed()
    refused({k: v for k, v in envelope.items() if k != "signature"}, "unsigned_envelope")
    refused(dict(envelope, system_id="trace-b"), "unknown_key")
    stranger = Ed25519Signer(Ed25519PrivateKey.generate())
    forged = seal(
        stranger,
        system_id="trace-a",
        event_type="20",
        event_subtype="201",
        data_owner="91320100MA1X000009",
        sequence=1,
        payload=PAYLOAD,
    )
    refused(forged, "unknown_key")
    forged["signature"]["key_id"] = SIGNER.key_id  # claims the registered key
    refused(forged, "bad_signature")
    refused(dict(envelope, extra=1), "malformed_envelope")
    refused({k: v for k, v in envelope.items() if k != "event_id"}, "malformed_envelope")
    refused(dict(envelope, envelope_version=2), "unsupported_version")
    refused([1, 2], "malformed_envelope")
    with pytest.raises(DomainError) as bad_type:
        seal(
            SIGNER,
            system_id="trace-a",
            event_type="30",
            event_subtype="x",
            data_owner="x",
            sequence=1,
            payload={},
        )
    assert bad_type.value.reason == "bad_event_type"
