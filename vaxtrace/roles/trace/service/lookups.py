"""Small lookups shared by the trace use cases: each refuses in one way, with one reason code."""

from __future__ import annotations

from collections.abc import Sequence

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.status import Status
from vaxtrace.store.engine import Connection, RowMapping
from vaxtrace.store.trace.batches import batch_by_no
from vaxtrace.store.trace.codes import code_detail
from vaxtrace.store.trace.registry import find_organisation

parse = codes_.parse_field
"""Parse a trace code, refusing with the code's own reason on a request's field."""


def known_organisation(conn: Connection, uscc: str) -> RowMapping:
    """An organisation of the local registry; unknown ones are refused."""
    row = find_organisation(conn, uscc)
    if row is None:
        raise DomainError(Reason.UNKNOWN_ORGANISATION, f"{uscc} is not registered here")
    return row


def require_kind(conn: Connection, uscc: str, kind: OrgKind) -> None:
    if known_organisation(conn, uscc)["kind"] != kind.value:
        raise DomainError(Reason.WRONG_ORGANISATION_KIND, f"only a {kind.value} may do this")


def own_batch(conn: Connection, actor: str, batch_no: str, field: str = "batch_no") -> RowMapping:
    found = batch_by_no(conn, actor, batch_no)
    if found is None:
        raise DomainError(Reason.UNKNOWN_BATCH, f"no batch {batch_no} of yours", field=field)
    return found


def own_batch_ids(conn: Connection, actor: str, batch_nos: Sequence[str]) -> list[int]:
    """The ids of a document's ``batch_nos``, each one the actor's own."""
    return [
        own_batch(conn, actor, b, field=f"batch_nos[{i}]")["id"] for i, b in enumerate(batch_nos)
    ]


def held_code(conn: Connection, actor: str, value: str, field: str) -> RowMapping:
    """A code of the actor's that the actor holds and that is not used up or destroyed."""
    code = parse(value, field)
    row = code_detail(conn, code.value)
    if row is None:
        raise DomainError(Reason.UNKNOWN_CODE, f"{code.value} is not commissioned", field=field)
    if row["mah_uscc"] != actor or row["holder_uscc"] != actor:
        raise DomainError(Reason.NOT_HELD, f"{code.value} is not held by {actor}", field=field)
    if Status(row["status"]) in (Status.USED, Status.DESTROYED):
        raise DomainError(Reason.TERMINAL_STATUS, f"{code.value} is {row['status']}", field=field)
    return row
