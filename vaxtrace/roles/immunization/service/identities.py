"""The province's organisations (CDCs and vaccination sites) and their staff's API tokens."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.immunization import PROVINCE_KINDS, Unit
from vaxtrace.core.reasons import Reason
from vaxtrace.core.registry import check_served
from vaxtrace.roles.immunization.service.lookups import find_unit, unit
from vaxtrace.store.engine import Engine, read_tx, write_tx
from vaxtrace.store.immunization import organisations
from vaxtrace.store.tokens import StaffTokens


def register_organisation(engine: Engine, org: Organisation) -> dict[str, Any]:
    """Add or update a CDC or vaccination site of the province."""
    serves = "the province serves CDCs and vaccination sites"
    check_served(org, PROVINCE_KINDS, Reason.NOT_A_PROVINCE_UNIT, serves)
    with write_tx(engine) as conn:
        return organisations.UNITS.put_one(conn, org)


def staff_tokens(engine: Engine) -> StaffTokens:
    """The API tokens of the units' staff: only a known unit's staff get one."""
    return organisations.staff_tokens(engine, unit)


def find(engine: Engine, uscc: str) -> Unit | None:
    """A CDC or vaccination site of the province, if it is one."""
    with read_tx(engine) as conn:
        return find_unit(conn, uscc)
