"""SQL of the supervision system's regulators (药品监督管理部门), their staff's API tokens,
and the copy of the platform's registry their register follows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from vaxtrace.store.rows import put_row
from vaxtrace.store.supervision.schema import api_token, basic_data, regulator
from vaxtrace.store.tokens import KnownHolder, StaffTokens

REGISTER = regulator
"""The regulators' own register, as the registry feed keeps it (``OwnRegister``'s table)."""

REGISTRY_COPY = basic_data
"""This node's copy of the platform's registry, and how far its feed is applied."""


def put_regulator(conn: Connection, row: Mapping[str, Any]) -> None:
    """Add a regulator, or update it where it differs."""
    put_row(conn, regulator, row)


_DIVISION = select(regulator.c.division_code).where(regulator.c.uscc == bindparam("uscc"))


def division_of(conn: Connection, uscc: str) -> str | None:
    """The division a registered regulator oversees, if it is one."""
    division = conn.execute(_DIVISION, {"uscc": uscc}).scalar_one_or_none()
    return None if division is None else str(division)


def staff_tokens(engine: Engine, known: KnownHolder) -> StaffTokens:
    """The API tokens of the regulators' staff, issued to a regulator ``known`` finds."""
    return StaffTokens(engine, api_token, known)
