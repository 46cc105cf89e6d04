"""The request digest (请求摘要): what a retry under the same client document id must repeat.

A write log keeps each write's digest and compares a retry's with it, so a digest's value must
never change for the same request (a retry after an upgrade must still match). Two ways of
digesting were stored, so two are kept: the trace node hashes the hashes of the parts, the
immunization node hashes the parts joined by a zero byte after their head.
"""

from __future__ import annotations

import hashlib

from vaxtrace.core.datasets.elements import Write


def digest(*parts: bytes) -> str:
    """The digest of the parts' digests (the trace node's write log)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def request_digest(operation: str, request: Write, extra: bytes = b"") -> str:
    """What a retry must repeat: the operation, the body and any extra part (a file)."""
    return digest(operation.encode(), request.model_dump_json().encode(), extra)


def joined_digest(head: str, *parts: bytes) -> str:
    """The digest of ``head`` and each part after a zero byte (the immunization node's write
    log and temperature records)."""
    h = hashlib.sha256(head.encode())
    for part in parts:
        h.update(b"\0")
        h.update(part)
    return h.hexdigest()


def order_number(prefix: str, actor: str, client_document_id: str, length: int) -> str:
    """A node-made document number that is the same for every retry of one caller's order
    (its own client document id): ``prefix``, a dash and ``length`` hex digits of a digest."""
    pair = f"{actor}\n{client_document_id}".encode()
    return f"{prefix}-{hashlib.sha256(pair).hexdigest()[:length].upper()}"
