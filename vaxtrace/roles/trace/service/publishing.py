"""What a trace system tells the platform: a coding rule per MAH and code family with every
identification code it issues, so resolution finds the codes here, and its MAHs' products,
for every node's basic data."""

from __future__ import annotations

from collections import defaultdict

from vaxtrace.core.datasets.basic_data import CodeFamilyName, VaccineProduct
from vaxtrace.core.registry import RegisteredCodingRule
from vaxtrace.store.engine import Engine, read_tx
from vaxtrace.store.trace.registry import identification_codes_by_mah, products_data

SERIALS = {
    CodeFamilyName.NMPA20: ("N9", "VT-MOD97-10x2"),
    CodeFamilyName.GS1: ("X..20", "GS1-MOD10"),
}
"""Serial format and check of the codes this system issues, per family."""


def platform_coding_rules(engine: Engine) -> list[RegisteredCodingRule]:
    """One rule per MAH and family, listing every identification code of its products."""
    entries: dict[tuple[str, str], list[str]] = defaultdict(list)
    with read_tx(engine) as conn:
        for mah, family, code in identification_codes_by_mah(conn):
            entries[(mah, family)].append(code)
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
    with read_tx(engine) as conn:
        return [VaccineProduct.model_validate(data) for data in products_data(conn)]
