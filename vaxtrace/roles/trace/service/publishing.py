"""What a trace system tells the platform: a coding rule per MAH and code family with every
identification code it issues, so resolution finds the codes here, and its MAHs' products,
for every node's basic data."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, select

from vaxtrace.core.datasets.basic_data import CodeFamilyName, VaccineProduct
from vaxtrace.core.registry import RegisteredCodingRule
from vaxtrace.store.engine import read_tx
from vaxtrace.store.trace.schema import identification_code, product

SERIALS = {
    CodeFamilyName.NMPA20: ("N9", "VT-MOD97-10x2"),
    CodeFamilyName.GS1: ("X..20", "GS1-MOD10"),
}
"""Serial format and check of the codes this system issues, per family."""


def platform_coding_rules(engine: Engine) -> list[RegisteredCodingRule]:
    """One rule per MAH and family, listing every identification code of its products."""
    query = (
        select(product.c.mah_uscc, product.c.family, identification_code.c.code)
        .join(product, product.c.id == identification_code.c.product_id)
        .order_by(product.c.mah_uscc, product.c.family, identification_code.c.code)
    )
    entries: dict[tuple[str, str], list[str]] = defaultdict(list)
    with read_tx(engine) as conn:
        for mah, family, code in conn.execute(query):
            entries[(str(mah), str(family))].append(str(code))
    rules = []
    for (mah, family), codes in entries.items():
        serial_format, check = SERIALS[CodeFamilyName(family)]
        rules.append(
            RegisteredCodingRule(
                mah_uscc=mah,
                family=CodeFamilyName(family),
                entries=tuple(codes),
                serial_format=serial_format,
                check_algorithm=check,
            )
        )
    return rules


def platform_products(engine: Engine) -> list[VaccineProduct]:
    """Every product this system registered, by MAH and product code."""
    query = select(product.c.data).order_by(product.c.mah_uscc, product.c.product_code)
    with read_tx(engine) as conn:
        return [VaccineProduct.model_validate(data) for data in conn.execute(query).scalars()]
