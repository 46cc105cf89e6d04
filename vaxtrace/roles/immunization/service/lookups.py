"""Small lookups shared by the province's use cases: each refuses in one way, with one reason."""

from __future__ import annotations

from collections.abc import Sequence

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError, examples
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.immunization import Unit
from vaxtrace.core.reasons import Reason
from vaxtrace.store.engine import Connection
from vaxtrace.store.immunization.organisations import find_organisation

parse = codes_.parse_field
"""Parse a trace code, refusing with the code's own reason on a request's field."""


def find_unit(conn: Connection, uscc: str) -> Unit | None:
    """A CDC or vaccination site of the province, if it is one."""
    row = find_organisation(conn, uscc)
    if row is None:
        return None
    return Unit(uscc, OrgKind(row["kind"]), DivisionCode(row["division_code"]))


def unit(conn: Connection, uscc: str, field: str | None = None) -> Unit:
    """A known CDC or vaccination site of the province; unknown ones are refused."""
    return known_unit(find_unit(conn, uscc), uscc, field)


def known_unit(found: Unit | None, uscc: str, field: str | None = None) -> Unit:
    """``found``, the unit ``uscc`` names; refused when it is not one of the province."""
    if found is None:
        raise DomainError(
            Reason.UNKNOWN_ORGANISATION,
            f"{uscc} is not an organisation of this province",
            field=field,
        )
    return found


def require_kind(actor: Unit, kind: OrgKind, doing: str) -> None:
    if actor.kind is not kind:
        raise DomainError(
            Reason.WRONG_ORGANISATION_KIND,
            f"only a {kind.value} may {doing}; {actor.uscc} is a {actor.kind.value}",
        )


def refuse_listed(found: Sequence[str], reason: Reason, what: str, field: str | None) -> None:
    """Refuse with ``reason`` when ``found`` names codes: ``what`` they are, and a few."""
    if found:
        raise DomainError(reason, f"{what}: {examples(found)}", field=field)
