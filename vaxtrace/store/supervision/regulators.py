"""SQL of the supervision system's regulators (药品监督管理部门), their staff's API tokens,
and the copy of the platform's registry their register follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.store.basic_data import BasicDataStore, OwnRegister
from vaxtrace.store.supervision.schema import api_token, basic_data, regulator
from vaxtrace.store.tokens import KnownHolder, StaffTokens


def regulator_row(org: Organisation) -> dict[str, Any]:
    """The row a regulator is kept as."""
    return {"uscc": org.uscc, "name": org.name, "division_code": org.division_code}


REGULATORS = OwnRegister(regulator, frozenset({OrgKind.REGULATOR}), regulator_row)
"""The regulators whose staff use this system, as the platform's registry has them."""

BASIC_DATA = BasicDataStore(basic_data)
"""This node's copy of the platform's registry, and how far its feed is applied."""


_DIVISION = select(regulator.c.division_code).where(regulator.c.uscc == bindparam("uscc"))


def division_of(conn: Connection, uscc: str) -> str | None:
    """The division a registered regulator oversees, if it is one."""
    division = conn.execute(_DIVISION, {"uscc": uscc}).scalar_one_or_none()
    return None if division is None else str(division)


def staff_tokens(engine: Engine, known: KnownHolder) -> StaffTokens:
    """The API tokens of the regulators' staff, issued to a regulator ``known`` finds."""
    return StaffTokens(engine, api_token, known)
