"""A regulator's lock or unlock (监管锁定) taken from a supervision system: sent by the system
that represents the regulator (checked with the envelope), by a registered regulator whose
division covers the goods (the MAH, or a consignee the goods were routed to, inside it;
national covers all); forwarded on the path of the MAH's own locks, and to the MAH's trace
system so that its own record of the goods agrees."""

from __future__ import annotations

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.registry import SystemRole
from vaxtrace.core.signals import SafetySignal
from vaxtrace.core.supervision import NATIONAL, sees
from vaxtrace.store.engine import Connection
from vaxtrace.store.platform import registry, routes


def check_order(conn: Connection, signal: SafetySignal) -> None:
    """Refuse a regulator's signal from one that is not a registered regulator, or about
    goods with neither their MAH nor a consignee inside its division."""
    assert signal.issued_by is not None
    found = registry.find_organisation(conn, signal.issued_by)
    if found is None or found["data"].get("kind") != OrgKind.REGULATOR.value:
        raise DomainError(
            Reason.NOT_A_REGULATOR,
            f"{signal.issued_by} is not a registered regulator",
            field="payload.safety_signal.issued_by",
        )
    area = str(found["data"]["division_code"])
    if area == NATIONAL:
        return
    consignees = {c for _, c in routes.routes_of(conn, signal.mah_uscc, signal.batch_nos)}
    places = {registry.division_of(conn, uscc) for uscc in {signal.mah_uscc, *consignees}}
    if not any(place and sees(area, place) for place in places):
        raise DomainError(
            Reason.OUTSIDE_JURISDICTION,
            f"no goods of {signal.mah_uscc}'s batches {', '.join(signal.batch_nos[:5])} went "
            f"to division {area}, nor is the MAH there",
            field="payload.safety_signal.batch_nos",
        )


def mah_system(conn: Connection, signal: SafetySignal) -> list[str]:
    """The trace system of the MAH whose goods a regulator's signal concerns (none for the
    MAH's own: it sent it)."""
    if signal.issued_by is None:
        return []
    found = registry.system_representing(conn, SystemRole.TRACE.value, signal.mah_uscc)
    return [] if found is None else [found]
