"""SQL of the supervision system's regulators (药品监督管理部门), their staff's API tokens,
and the copy of the platform's registry their register follows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, select

from vaxtrace.store import tokens
from vaxtrace.store.rows import put_row
from vaxtrace.store.supervision.schema import api_token, basic_data, regulator

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


def new_token(conn: Connection, org_uscc: str, label: str) -> str:
    """A new API token for a regulator's staff; only its SHA-256 is stored."""
    return tokens.store_new_token(conn, api_token, org_uscc, label)


def token_holder(conn: Connection, token: str) -> str | None:
    """The regulator an API token belongs to, if any."""
    return tokens.token_holder(conn, api_token, token)
