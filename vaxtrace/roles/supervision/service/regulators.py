"""The regulators (药品监督管理部门) whose staff use the supervision system, as registered
here or taken from the platform's registry, and their staff's API tokens."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.registry import check_served
from vaxtrace.exchange import registry_feed
from vaxtrace.exchange.registry_feed import Fetch
from vaxtrace.store.engine import Connection, Engine, write_tx
from vaxtrace.store.supervision import regulators as store
from vaxtrace.store.tokens import StaffTokens


def register_organisation(engine: Engine, org: Organisation) -> dict[str, Any]:
    """Add or update a regulator (药品监督管理部门) whose staff use this system."""
    serves = "the supervision system serves regulators"
    check_served(org, store.REGULATORS.kinds, Reason.NOT_A_REGULATOR, serves)
    with write_tx(engine) as conn:
        return store.REGULATORS.put_one(conn, org)


def sync_registry(engine: Engine, system_id: str, source: str, fetch: Fetch) -> dict[str, Any]:
    """Apply the platform's basic-data changes since the last sync, taking the regulators
    system ``system_id`` represents there and every later change of one it serves."""
    take = registry_feed.represented_organisations(system_id, store.REGULATORS)
    return registry_feed.follow_registry(engine, store.BASIC_DATA, source, fetch, take)


def staff_tokens(engine: Engine) -> StaffTokens:
    """The API tokens of the regulators' staff: only a registered regulator's staff get
    one."""
    return store.staff_tokens(engine, division)


def division(conn: Connection, uscc: str) -> str:
    """The division a regulator oversees; an unknown regulator is not found."""
    found = store.division_of(conn, uscc)
    if found is None:
        raise DomainError(
            Reason.UNKNOWN_REGULATOR, f"{uscc} is not a registered regulator", field="uscc"
        )
    return found
