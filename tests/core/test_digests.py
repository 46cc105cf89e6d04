"""The request digests keep the values the write logs stored: a retry after an upgrade still
matches its first request."""

from __future__ import annotations

import hashlib

from vaxtrace.core.datasets.elements import Write
from vaxtrace.core.digests import joined_digest, request_digest

REQUEST = Write.model_validate(
    {
        "client_document_id": "doc-1",
        "business_time": "2026-03-01T08:00:00+08:00",
        "document_no": "N-1",
    }
)


def test_the_trace_digest_hashes_the_hashes_of_its_parts() -> None:
    body = REQUEST.model_dump_json().encode()
    h = hashlib.sha256()
    for part in (b"lot_release", body, b"file"):
        h.update(hashlib.sha256(part).digest())
    assert request_digest("lot_release", REQUEST, b"file") == h.hexdigest()
    assert request_digest("lot_release", REQUEST) != h.hexdigest()


def test_the_immunization_digest_joins_its_parts_by_a_zero_byte() -> None:
    body = REQUEST.model_dump_json().encode()
    expected = hashlib.sha256(b"distribution\0" + body).hexdigest()
    assert joined_digest("distribution", body) == expected
    csv = hashlib.sha256(b"temperature_record:csv\0head\0file").hexdigest()
    assert joined_digest("temperature_record:csv", b"head", b"file") == csv
