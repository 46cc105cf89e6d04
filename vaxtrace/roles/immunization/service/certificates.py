"""批签发证明: a CDC or site looks at the lot release certificate of a batch it holds or
expects, fetched through the platform from the MAH's trace system and checked against the
SHA-256 the batch data carried (a certificate that differs is refused, never shown)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio.to_thread

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CertificateFile
from vaxtrace.store.engine import Engine, read_tx
from vaxtrace.store.immunization import safety

FetchCertificate = Callable[[str, str], Awaitable[CertificateFile]]
"""``await fetch(mah_uscc, batch_no)``: the certificate as the platform passes it on."""


def filed_sha256(engine: Engine, mah_uscc: str, batch_no: str) -> str:
    """The SHA-256 of a batch's certificate as the MAH's batch data gave it."""
    with read_tx(engine) as conn:
        found = safety.batch_of(conn, mah_uscc, batch_no)
    if found is None:
        raise DomainError(
            Reason.UNKNOWN_BATCH,
            f"the province holds and expects no goods of {mah_uscc}'s batch {batch_no}",
            field="batch_no",
        )
    if found["lot_release_sha256"] is None:
        raise DomainError(
            Reason.NO_LOT_RELEASE,
            f"the MAH's data on batch {batch_no} names no lot release",
            field="batch_no",
        )
    return str(found["lot_release_sha256"])


async def lot_release_certificate(
    engine: Engine, mah_uscc: str, batch_no: str, fetch: FetchCertificate
) -> CertificateFile:
    """The certificate of a batch, once it is the one on record. Async: no worker thread is
    held while the platform and the trace system answer (in one process they need one)."""
    filed = await anyio.to_thread.run_sync(filed_sha256, engine, mah_uscc, batch_no)
    found = await fetch(mah_uscc, batch_no)
    return found.check(filed)
