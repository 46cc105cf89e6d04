"""The registry of basic data (基础数据): organisations, connected systems and vaccine products,
each change entered once in the versioned feed every node pulls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from vaxtrace.core.datasets.basic_data import CodeFamilyName, VaccineProduct
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.registry import ConnectedSystem, FeedKind, RegisteredOrganisation
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.platform.service.coding_rules import check_caller, entry_covering
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx, write_tx
from vaxtrace.store.platform import registry

CHANGES_PAGE = 1000


@contextmanager
def _registry_tx(engine: Engine) -> Iterator[Connection]:
    """A write of the registry, its writers taking turns (see registry.lock_feed)."""
    with write_tx(engine) as conn:
        registry.lock_feed(conn)
        yield conn


def _record(
    conn: Connection,
    kind: str,
    key: str,
    data: dict[str, Any],
    found: RowMapping | None,
    put: Callable[[int], None],
) -> tuple[int, bool]:
    """Enter ``data`` in the feed as the latest of ``kind`` ``key`` and ``put`` it with its
    version, unless it is what ``found`` already says: every change enters the feed once.
    Answers the version and whether it changed."""
    if found is not None and found["data"] == data:
        return int(found["version"]), False
    version = registry.record_change(conn, kind, key, data)
    put(version)
    return version, True


def register_organisation(engine: Engine, org: RegisteredOrganisation) -> dict[str, Any]:
    """Add or update an organisation; every change enters the feed once."""
    data = org.model_dump(mode="json")
    with _registry_tx(engine) as conn:
        found = registry.find_organisation(conn, org.uscc)
        put = partial(registry.put_organisation, conn, org.uscc, data)
        version, changed = _record(conn, FeedKind.ORGANISATION, org.uscc, data, found, put)
    return {"uscc": org.uscc, "version": version, "changed": changed}


def register_system(engine: Engine, item: ConnectedSystem) -> dict[str, Any]:
    """Register a connected system and the organisations it may submit data for."""
    data = item.model_dump(mode="json")
    with _registry_tx(engine) as conn:
        for i, uscc in enumerate((item.operator_uscc, *item.represents)):
            if registry.find_organisation(conn, uscc) is None:
                field = "operator_uscc" if i == 0 else f"represents[{i - 1}]"
                raise DomainError(
                    Reason.UNKNOWN_ORGANISATION, f"{uscc} is not registered", field=field
                )
        found = registry.find_system(conn, item.system_id)
        put = partial(registry.put_system, conn, data)
        version, changed = _record(conn, FeedKind.SYSTEM, item.system_id, data, found, put)
    return {"system_id": item.system_id, "version": version, "changed": changed}


def registered_system(conn: Connection, caller: SystemIdentity) -> RowMapping:
    """The registry's record of the calling system: a system is answered only when it is
    registered and run by the organisation its certificate names (a certificate the CA
    issued is not enough; a revoked one never gets this far)."""
    found = registry.find_system(conn, caller.system_id)
    if found is None:
        raise DomainError(Reason.UNKNOWN_SYSTEM, f"{caller.system_id} is not registered")
    if found["operator_uscc"] != caller.org_uscc:
        raise DomainError(
            Reason.CERTIFICATE_MISMATCH,
            "the certificate's organisation does not run this system",
        )
    return found


def changes_for(engine: Engine, caller: SystemIdentity, since: int) -> dict[str, Any]:
    """:func:`changes` for a connected system: the feed names every system's endpoint and
    exchange key, so only a registered system reads it (see :func:`registered_system`)."""
    with read_tx(engine) as conn:
        registered_system(conn, caller)
    return changes(engine, since)


def changes(engine: Engine, since: int) -> dict[str, Any]:
    """Basic-data changes after ``since``, oldest first, a page at a time."""
    with read_tx(engine) as conn:
        rows = registry.changes_since(conn, since, CHANGES_PAGE)
        latest = registry.current_version(conn)
    return {
        "since": since,
        "latest": latest,
        "changes": [
            {
                "version": int(r["version"]),
                "kind": r["kind"],
                "key": r["key"],
                "data": r["data"],
            }
            for r in rows
        ],
    }


# --- products (疫苗产品) -------------------------------------------------------------------


def register_product(
    engine: Engine, caller: SystemIdentity, product: VaccineProduct
) -> dict[str, Any]:
    """A trace system registers a product of a MAH it represents, for every node's basic
    data; every change enters the feed once. Each identification code must be in a coding
    rule of that MAH (registered first), so no two MAHs' products share one."""
    data = product.model_dump(mode="json")
    key = f"{product.mah_uscc}/{product.product_code}"
    with _registry_tx(engine) as conn:
        check_caller(conn, caller, product.mah_uscc)
        _refuse_unclaimed(conn, product)
        found = registry.find_product(conn, product.mah_uscc, product.product_code)
        put = partial(registry.put_product, conn, data)
        version, changed = _record(conn, FeedKind.PRODUCT, key, data, found, put)
    return {"key": key, "version": version, "changed": changed}


def _refuse_unclaimed(conn: Connection, product: VaccineProduct) -> None:
    gs1 = product.family is CodeFamilyName.GS1
    for i, level in enumerate(product.levels):
        code = level.identification_code
        entry = entry_covering(conn, code, gs1=gs1)
        owner = None if entry is None else entry["mah_uscc"]
        field = f"levels[{i}].identification_code"
        if owner is None:
            raise DomainError(
                Reason.NOT_IN_CODING_RULE,
                f"{code} is in no coding rule: register the MAH's coding rule first",
                field=field,
            )
        if owner != product.mah_uscc:
            raise DomainError(
                Reason.IDENTIFICATION_CODE_TAKEN,
                f"{code} is in a coding rule of {owner}",
                field=field,
            )
