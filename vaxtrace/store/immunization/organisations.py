"""SQL of the province's organisations (its CDCs and vaccination sites), their staff's API
tokens, and the copy of the platform's registry their register follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, select

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.immunization import PROVINCE_KINDS
from vaxtrace.store.basic_data import BasicDataStore, OwnRegister
from vaxtrace.store.immunization.schema import api_token, basic_data, organisation
from vaxtrace.store.tokens import KnownHolder, StaffTokens


def unit_row(org: Organisation) -> dict[str, Any]:
    """The row a CDC or vaccination site is kept as."""
    return org.model_dump(mode="json", include={"uscc", "name", "kind", "division_code"})


UNITS = OwnRegister(organisation, frozenset(PROVINCE_KINDS), unit_row)
"""The province's CDCs and vaccination sites, as the platform's registry has them."""

BASIC_DATA = BasicDataStore(basic_data)
"""Basic data copied from the platform's registry, and how far its feed is applied."""


def find_organisation(conn: Connection, uscc: str) -> RowMapping | None:
    query = select(organisation).where(organisation.c.uscc == uscc)
    return conn.execute(query).mappings().first()


def staff_tokens(engine: Engine, known: KnownHolder) -> StaffTokens:
    """The API tokens of the units' staff, issued to a unit ``known`` finds."""
    return StaffTokens(engine, api_token, known)
