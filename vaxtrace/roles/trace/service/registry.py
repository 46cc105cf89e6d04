"""Identities and basic data: organisations, API tokens, products, coding rules, batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from vaxtrace.core.datasets.basic_data import CodingRule, Organisation, OrgKind, VaccineProduct
from vaxtrace.core.datasets.production import Batch
from vaxtrace.core.errors import Conflict, DomainError, NotFound, examples
from vaxtrace.roles.trace.service.lookups import (
    known_organisation,
    require_kind,
)
from vaxtrace.store import tokens
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.rows import put_row, put_rows
from vaxtrace.store.trace import repo
from vaxtrace.store.trace.schema import (
    api_token,
    batch,
    coding_rule,
    identification_code,
    organisation,
    product,
)


def register_organisation(engine: Engine, org: Organisation) -> dict[str, Any]:
    """Add an organisation to the local registry (same data again is a no-op)."""
    with write_tx(engine) as conn:
        return put_organisation(conn, org)


def put_organisation(conn: Connection, org: Organisation) -> dict[str, Any]:
    """Insert or update one organisation row, in the caller's transaction."""
    row = org.model_dump(mode="json")
    put_row(conn, organisation, row)
    return row


def put_organisations(conn: Connection, orgs: list[Organisation]) -> None:
    """Insert or update organisation rows as the platform's registry says them."""
    put_rows(conn, organisation, [org.model_dump(mode="json") for org in orgs])


def issue_token(engine: Engine, org_uscc: str, label: str = "api") -> str:
    """Create an API token for an organisation; only its SHA-256 is stored."""
    with write_tx(engine) as conn:
        known_organisation(conn, org_uscc)
        return tokens.store_new_token(conn, api_token, org_uscc, label)


def authenticate(engine: Engine, token: str) -> str | None:
    """The organisation an API token belongs to, if any."""
    with read_tx(engine) as conn:
        return tokens.token_holder(conn, api_token, token)


def register_product(engine: Engine, actor: str, item: VaccineProduct) -> dict[str, Any]:
    """Register a product with its identification code and pack ratio per level."""
    if item.mah_uscc != actor:
        raise DomainError(
            "not_your_product", "a MAH registers only its own products", field="mah_uscc"
        )
    data = item.model_dump(mode="json")
    with write_tx(engine) as conn:
        require_kind(conn, actor, OrgKind.MAH)
        found = repo.product_by_code(conn, actor, item.product_code)
        if found is not None:
            if found["data"] != data:
                raise Conflict(
                    "product_exists",
                    f"product {item.product_code} is registered with other data",
                    field="product_code",
                )
            return data
        taken = repo.identification_owners(conn, [s.identification_code for s in item.levels])
        if taken:
            raise Conflict(
                "identification_code_taken",
                f"identification code(s) {examples(sorted(taken))} belong to another product",
                field="levels",
            )
        product_id = conn.execute(
            insert(product)
            .values(
                mah_uscc=actor,
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
    return data


def register_coding_rule(engine: Engine, actor: str, rule: CodingRule) -> dict[str, Any]:
    """Record a coding rule (编码规则) over identification codes of this MAH's products.

    The same rule again is a no-op that answers the first rule's id.
    """
    answer = rule.model_dump(mode="json")
    with write_tx(engine) as conn:
        require_kind(conn, actor, OrgKind.MAH)
        query = (
            select(identification_code.c.code, product.c.family)
            .join(product, product.c.id == identification_code.c.product_id)
            .where(
                identification_code.c.code.in_(rule.identification_codes),
                product.c.mah_uscc == actor,
            )
        )
        families = {str(code): str(family) for code, family in conn.execute(query)}
        missing = [c for c in rule.identification_codes if c not in families]
        if missing:
            raise DomainError(
                "unknown_identification_code",
                f"not identification codes of your products: {examples(missing)}",
                field="identification_codes",
            )
        other = [c for c in rule.identification_codes if families[c] != rule.family.value]
        if other:
            raise DomainError(
                "family_mismatch",
                f"identification code(s) {examples(other)} are of products whose codes "
                f"are not of the {rule.family.value} family",
                field="identification_codes",
            )
        for found in conn.execute(
            select(coding_rule).where(coding_rule.c.mah_uscc == actor)
        ).mappings():
            same = {k: found[k] for k in answer} | {
                "identification_codes": list(found["identification_codes"])
            }
            if same == answer:
                return {"rule_id": found["id"]} | answer
        rule_id = conn.execute(
            insert(coding_rule)
            .values(
                mah_uscc=actor,
                family=rule.family.value,
                identification_codes=list(rule.identification_codes),
                serial_format=rule.serial_format,
                check_algorithm=rule.check_algorithm,
                registered_at=datetime.now(UTC),
            )
            .returning(coding_rule.c.id)
        ).scalar_one()
    return {"rule_id": rule_id} | answer


def register_batch(engine: Engine, actor: str, item: Batch) -> dict[str, Any]:
    """Register a production batch (生产批次); the same batch again is a no-op."""
    data = item.model_dump(mode="json")
    with write_tx(engine) as conn:
        prod = repo.product_by_code(conn, actor, item.product_code)
        if prod is None:
            raise NotFound(
                "unknown_product",
                f"no product {item.product_code} of yours",
                field="product_code",
            )
        if prod["imported"] and not item.customs_clearance_no:
            raise DomainError(
                "missing_customs_clearance",
                "an imported batch needs its customs clearance form number (进口药品通关单)",
                field="customs_clearance_no",
            )
        found = repo.batch_by_no(conn, actor, item.batch_no)
        if found is not None:
            same = (
                found["product_id"] == prod["id"]
                and found["production_date"] == item.production_date
                and found["expiry_date"] == item.expiry_date
                and found["quantity"] == item.quantity
            )
            if not same:
                raise Conflict(
                    "batch_exists",
                    f"batch {item.batch_no} exists with other data",
                    field="batch_no",
                )
            return data
        conn.execute(
            insert(batch).values(
                product_id=prod["id"],
                mah_uscc=actor,
                batch_no=item.batch_no,
                production_date=item.production_date,
                expiry_date=item.expiry_date,
                quantity=item.quantity,
                customs_clearance_no=item.customs_clearance_no,
                next_serial=0,
            )
        )
    return data
