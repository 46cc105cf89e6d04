"""The trace system's registry: organisations (kept as the platform's registry says them, from
its copy of that registry), API tokens, products with their identification codes, and coding
rules (编码规则)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, bindparam, insert, select

from vaxtrace.core.datasets.basic_data import CodingRule, VaccineProduct
from vaxtrace.store.basic_data import BasicDataStore
from vaxtrace.store.rows import put_row, put_rows
from vaxtrace.store.tokens import KnownHolder, StaffTokens
from vaxtrace.store.trace.schema import (
    api_token,
    basic_data,
    coding_rule,
    identification_code,
    organisation,
    product,
)

# --- organisations and tokens -----------------------------------------------------------

BASIC_DATA = BasicDataStore(basic_data)
"""Basic data copied from the platform's registry, and how far its feed is applied."""

_ORGANISATION = select(organisation).where(organisation.c.uscc == bindparam("uscc"))


def find_organisation(conn: Connection, uscc: str) -> RowMapping | None:
    return conn.execute(_ORGANISATION, {"uscc": uscc}).mappings().first()


def organisation_name(conn: Connection, uscc: str) -> str | None:
    query = select(organisation.c.name).where(organisation.c.uscc == uscc)
    name = conn.execute(query).scalar_one_or_none()
    return None if name is None else str(name)


def put_organisation(conn: Connection, row: Mapping[str, Any]) -> None:
    """Insert or update one organisation row."""
    put_row(conn, organisation, row)


def put_organisations(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or update organisation rows."""
    put_rows(conn, organisation, rows)


def staff_tokens(engine: Engine, known: KnownHolder) -> StaffTokens:
    """The API tokens of the organisations' staff, issued to an organisation ``known``
    finds."""
    return StaffTokens(engine, api_token, known)


# --- products and their identification codes --------------------------------------------


def product_by_code(conn: Connection, mah_uscc: str, product_code: str) -> RowMapping | None:
    return (
        conn.execute(
            select(product).where(
                product.c.mah_uscc == mah_uscc, product.c.product_code == product_code
            )
        )
        .mappings()
        .first()
    )


def identification_codes_of(conn: Connection, product_id: int) -> dict[int, RowMapping]:
    rows = conn.execute(
        select(identification_code).where(identification_code.c.product_id == product_id)
    ).mappings()
    return {int(r["level"]): r for r in rows}


def identification_owners(conn: Connection, codes: Iterable[str]) -> dict[str, RowMapping]:
    query = select(identification_code).where(identification_code.c.code.in_(list(codes)))
    return {r["code"]: r for r in conn.execute(query).mappings()}


def add_product(conn: Connection, item: VaccineProduct, data: dict[str, Any]) -> int:
    """Insert a product (``data``: the product as registered) with the identification code
    and pack ratio of each of its levels; answers its id."""
    product_id = conn.execute(
        insert(product)
        .values(
            mah_uscc=item.mah_uscc,
            product_code=item.product_code,
            family=item.family.value,
            imported=item.imported,
            data=data,
        )
        .returning(product.c.id)
    ).scalar_one()
    conn.execute(
        insert(identification_code),
        [
            {
                "code": s.identification_code,
                "product_id": product_id,
                "level": int(s.level),
                "children": s.children,
            }
            for s in item.levels
        ],
    )
    return int(product_id)


def identification_codes_by_mah(conn: Connection) -> Iterator[tuple[str, str, str]]:
    """(MAH, code family, identification code) of every product, in that order."""
    query = (
        select(product.c.mah_uscc, product.c.family, identification_code.c.code)
        .join(product, product.c.id == identification_code.c.product_id)
        .order_by(product.c.mah_uscc, product.c.family, identification_code.c.code)
    )
    for mah, family, code in conn.execute(query):
        yield str(mah), str(family), str(code)


def products_data(conn: Connection) -> list[Any]:
    """The data of every product as registered, by MAH and product code."""
    query = select(product.c.data).order_by(product.c.mah_uscc, product.c.product_code)
    return list(conn.execute(query).scalars())


# --- coding rules -----------------------------------------------------------------------


def families_of(conn: Connection, mah_uscc: str, codes: Sequence[str]) -> dict[str, str]:
    """The code family of each of ``codes`` that is an identification code of the MAH's."""
    query = (
        select(identification_code.c.code, product.c.family)
        .join(product, product.c.id == identification_code.c.product_id)
        .where(
            identification_code.c.code.in_(codes),
            product.c.mah_uscc == mah_uscc,
        )
    )
    return {str(code): str(family) for code, family in conn.execute(query)}


def coding_rules_of(conn: Connection, mah_uscc: str) -> Iterable[RowMapping]:
    """The MAH's coding rules, as recorded."""
    return conn.execute(select(coding_rule).where(coding_rule.c.mah_uscc == mah_uscc)).mappings()


def add_coding_rule(
    conn: Connection, mah_uscc: str, rule: CodingRule, registered_at: datetime
) -> int:
    """Record a coding rule of the MAH's; answers its id."""
    rule_id = conn.execute(
        insert(coding_rule)
        .values(
            mah_uscc=mah_uscc,
            family=rule.family.value,
            identification_codes=list(rule.identification_codes),
            serial_format=rule.serial_format,
            check_algorithm=rule.check_algorithm,
            registered_at=registered_at,
        )
        .returning(coding_rule.c.id)
    ).scalar_one()
    return int(rule_id)
