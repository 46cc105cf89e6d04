"""Lot release certificates (批签发证明) through the platform: a batch's certificate from the
trace system that represents its MAH, for a system the batch's goods were routed to or a
supervision system."""

from __future__ import annotations

import anyio
import anyio.to_thread

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CertificateFile
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.public_client import OwnerAsker
from vaxtrace.store.engine import Engine, read_tx
from vaxtrace.store.platform import registry, routes


async def lot_release_certificate(
    engine: Engine,
    caller: SystemIdentity,
    batch: tuple[str, str],
    asker: OwnerAsker,
    wait: float,
) -> CertificateFile:
    """批签发证明 of a MAH's batch (``batch``: MAH, batch number), from the trace system
    that represents the MAH, for a system the batch's goods were routed to or a
    supervision system. Async like the public query: no worker thread is held while the
    trace system answers."""
    try:
        with anyio.fail_after(wait):
            endpoint = await anyio.to_thread.run_sync(certificate_source, engine, caller, batch)
    except TimeoutError as exc:
        raise DomainError(Reason.BUSY, f"no worker free within {wait:g} s; try again") from exc
    return await asker.certificate(endpoint, *batch)


def certificate_source(engine: Engine, caller: SystemIdentity, batch: tuple[str, str]) -> str:
    """The endpoint of the trace system to ask for a batch's certificate, if ``caller``
    may have it: goods of the batch were routed to it, or it supervises."""
    mah_uscc, batch_no = batch
    with read_tx(engine) as conn:
        holders = {system_id for system_id, _ in routes.routes_of(conn, mah_uscc, [batch_no])}
        asking = registry.find_system(conn, caller.system_id)
        supervises = asking is not None and asking["role"] == "supervision"
        if caller.system_id not in holders and not supervises:
            raise DomainError(
                Reason.NOT_A_HOLDER,
                f"no goods of batch {batch_no} were sent to {caller.system_id}",
                field="batch_no",
            )
        source = registry.system_representing(conn, "trace", mah_uscc)
        found = None if source is None else registry.find_system(conn, source)
    if found is None:
        raise DomainError(
            Reason.UNKNOWN_MAH, f"no trace system represents {mah_uscc}", field="mah_uscc"
        )
    return str(found["data"]["endpoint"])
