"""Identities and basic data: organisations, API tokens, products, coding rules, batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.datasets.basic_data import CodingRule, Organisation, OrgKind, VaccineProduct
from vaxtrace.core.datasets.production import Batch
from vaxtrace.core.errors import DomainError, examples
from vaxtrace.core.reasons import Reason
from vaxtrace.roles.trace.service.lookups import (
    known_organisation,
    require_kind,
)
from vaxtrace.store.engine import Connection, Engine, write_tx
from vaxtrace.store.tokens import StaffTokens
from vaxtrace.store.trace import registry as register
from vaxtrace.store.trace.batches import add_batch, batch_by_no


def register_organisation(engine: Engine, org: Organisation) -> dict[str, Any]:
    """Add an organisation to the local registry (same data again is a no-op)."""
    with write_tx(engine) as conn:
        return put_organisation(conn, org)


def put_organisation(conn: Connection, org: Organisation) -> dict[str, Any]:
    """Insert or update one organisation row, in the caller's transaction."""
    row = org.model_dump(mode="json")
    register.put_organisation(conn, row)
    return row


def put_organisations(conn: Connection, orgs: list[Organisation]) -> None:
    """Insert or update organisation rows as the platform's registry says them."""
    register.put_organisations(conn, [org.model_dump(mode="json") for org in orgs])


def staff_tokens(engine: Engine) -> StaffTokens:
    """The API tokens of the organisations' staff: any organisation registered here may
    have them."""
    return register.staff_tokens(engine, known_organisation)


def register_product(engine: Engine, actor: str, item: VaccineProduct) -> dict[str, Any]:
    """Register a product with its identification code and pack ratio per level."""
    if item.mah_uscc != actor:
        raise DomainError(
            Reason.NOT_YOUR_PRODUCT, "a MAH registers only its own products", field="mah_uscc"
        )
    data = item.model_dump(mode="json")
    with write_tx(engine) as conn:
        require_kind(conn, actor, OrgKind.MAH)
        found = register.product_by_code(conn, actor, item.product_code)
        if found is not None:
            if found["data"] != data:
                raise DomainError(
                    Reason.PRODUCT_EXISTS,
                    f"product {item.product_code} is registered with other data",
                    field="product_code",
                )
            return data
        taken = register.identification_owners(conn, [s.identification_code for s in item.levels])
        if taken:
            raise DomainError(
                Reason.IDENTIFICATION_CODE_TAKEN,
                f"identification code(s) {examples(sorted(taken))} belong to another product",
                field="levels",
            )
        register.add_product(conn, item, data)
    return data


def register_coding_rule(engine: Engine, actor: str, rule: CodingRule) -> dict[str, Any]:
    """Record a coding rule (编码规则) over identification codes of this MAH's products.

    The same rule again is a no-op that answers the first rule's id.
    """
    answer = rule.model_dump(mode="json")
    with write_tx(engine) as conn:
        require_kind(conn, actor, OrgKind.MAH)
        families = register.families_of(conn, actor, rule.identification_codes)
        missing = [c for c in rule.identification_codes if c not in families]
        if missing:
            raise DomainError(
                Reason.UNKNOWN_IDENTIFICATION_CODE,
                f"not identification codes of your products: {examples(missing)}",
                field="identification_codes",
            )
        other = [c for c in rule.identification_codes if families[c] != rule.family.value]
        if other:
            raise DomainError(
                Reason.FAMILY_MISMATCH,
                f"identification code(s) {examples(other)} are of products whose codes "
                f"are not of the {rule.family.value} family",
                field="identification_codes",
            )
        for found in register.coding_rules_of(conn, actor):
            same = {k: found[k] for k in answer} | {
                "identification_codes": list(found["identification_codes"])
            }
            if same == answer:
                return {"rule_id": found["id"]} | answer
        rule_id = register.add_coding_rule(conn, actor, rule, datetime.now(UTC))
    return {"rule_id": rule_id} | answer


def register_batch(engine: Engine, actor: str, item: Batch) -> dict[str, Any]:
    """Register a production batch (生产批次); the same batch again is a no-op."""
    data = item.model_dump(mode="json")
    with write_tx(engine) as conn:
        prod = register.product_by_code(conn, actor, item.product_code)
        if prod is None:
            raise DomainError(
                Reason.UNKNOWN_PRODUCT,
                f"no product {item.product_code} of yours",
                field="product_code",
            )
        if prod["imported"] and not item.customs_clearance_no:
            raise DomainError(
                Reason.MISSING_CUSTOMS_CLEARANCE,
                "an imported batch needs its customs clearance form number (进口药品通关单)",
                field="customs_clearance_no",
            )
        found = batch_by_no(conn, actor, item.batch_no)
        if found is not None:
            same = (
                found["product_id"] == prod["id"]
                and found["production_date"] == item.production_date
                and found["expiry_date"] == item.expiry_date
                and found["quantity"] == item.quantity
            )
            if not same:
                raise DomainError(
                    Reason.BATCH_EXISTS,
                    f"batch {item.batch_no} exists with other data",
                    field="batch_no",
                )
            return data
        add_batch(conn, actor, prod["id"], item)
    return data
