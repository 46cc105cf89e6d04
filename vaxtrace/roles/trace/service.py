"""Use cases of a vaccine trace system (疫苗追溯系统) run by a MAH or a third party for several.

Every write runs in one transaction: checks first, writes after; any refusal rolls back, so a
rejected request writes nothing. Every write carries a client document id: a retry with the same
id and body returns the first answer and writes nothing new.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, insert, select
from sqlalchemy.exc import IntegrityError

from vaxtrace.core import codes as codes_
from vaxtrace.core.datasets import (
    Batch,
    CodingRule,
    Commission,
    Conclusion,
    Correction,
    Destruction,
    Lock,
    LockKind,
    LotRelease,
    Organisation,
    OrgKind,
    Pack,
    Recall,
    RecallReceipt,
    Replace,
    SalesReturn,
    SelfInspection,
    ShippingNote,
    TemperatureRecord,
    Unlock,
    Unpack,
    VaccineProduct,
    Warehousing,
    Write,
)
from vaxtrace.core.errors import Conflict, DomainError, NotFound
from vaxtrace.core.status import Action, Status, refusal
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.trace import repo
from vaxtrace.store.trace.repo import EventHeader
from vaxtrace.store.trace.schema import (
    api_token,
    batch,
    coding_rule,
    identification_code,
    lot_release,
    organisation,
    product,
    recall,
    self_inspection,
    shipping_note,
    temperature_record,
    trace_code,
)

LOCK_ACTIONS = {
    LockKind.PENDING: Action.LOCK_PENDING,
    LockKind.TO_BE_RECALLED: Action.LOCK_TO_BE_RECALLED,
    LockKind.ABNORMAL: Action.LOCK_ABNORMAL,
}


@dataclass(frozen=True, slots=True)
class WriteResult:
    body: dict[str, Any]
    replayed: bool


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _examples(values: Sequence[str]) -> str:
    return ", ".join(values[:5])


class TraceService:
    """The trace role's use cases over its own database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- identities and basic data --------------------------------------------------------

    def register_organisation(self, org: Organisation) -> dict[str, Any]:
        """Add an organisation to the local registry (same data again is a no-op)."""
        row = org.model_dump(mode="json")
        with write_tx(self.engine) as conn:
            found = (
                conn.execute(select(organisation).where(organisation.c.uscc == org.uscc))
                .mappings()
                .first()
            )
            if found is None:
                conn.execute(insert(organisation).values(**row))
            elif {k: found[k] for k in row} != row:
                conn.execute(
                    organisation.update().where(organisation.c.uscc == org.uscc).values(**row)
                )
        return row

    def issue_token(self, org_uscc: str, label: str = "api") -> str:
        """Create an API token for an organisation; only its SHA-256 is stored."""
        token = "vt_" + secrets.token_urlsafe(32)
        with write_tx(self.engine) as conn:
            self._organisation(conn, org_uscc)
            conn.execute(
                insert(api_token).values(
                    token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                    org_uscc=org_uscc,
                    label=label,
                    created_at=datetime.now(UTC),
                )
            )
        return token

    def authenticate(self, token: str) -> str | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with read_tx(self.engine) as conn:
            found = conn.execute(
                select(api_token.c.org_uscc).where(api_token.c.token_sha256 == digest)
            ).scalar_one_or_none()
        return None if found is None else str(found)

    def register_product(self, actor: str, item: VaccineProduct) -> dict[str, Any]:
        """Register a product with its identification code and pack ratio per level."""
        if item.mah_uscc != actor:
            raise DomainError(
                "not_your_product", "a MAH registers only its own products", field="mah_uscc"
            )
        data = item.model_dump(mode="json")
        with write_tx(self.engine) as conn:
            self._require_kind(conn, actor, OrgKind.MAH)
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
                    f"identification code(s) {_examples(sorted(taken))} belong to another product",
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

    def register_coding_rule(self, actor: str, rule: CodingRule) -> dict[str, Any]:
        """Record a coding rule (编码规则) over identification codes of this MAH's products.

        The same rule again is a no-op that answers the first rule's id.
        """
        answer = rule.model_dump(mode="json")
        with write_tx(self.engine) as conn:
            self._require_kind(conn, actor, OrgKind.MAH)
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
                    f"not identification codes of your products: {_examples(missing)}",
                    field="identification_codes",
                )
            other = [c for c in rule.identification_codes if families[c] != rule.family.value]
            if other:
                raise DomainError(
                    "family_mismatch",
                    f"identification code(s) {_examples(other)} are of products whose codes "
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

    def register_batch(self, actor: str, item: Batch) -> dict[str, Any]:
        """Register a production batch (生产批次); the same batch again is a no-op."""
        data = item.model_dump(mode="json")
        with write_tx(self.engine) as conn:
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

    # --- the idempotent write frame ----------------------------------------------------

    def _write(
        self,
        actor: str,
        operation: str,
        request: Write,
        apply: Callable[[Connection, EventHeader], tuple[int | None, dict[str, Any]]],
        *,
        bill_type: str,
        extra: bytes = b"",
    ) -> WriteResult:
        digest = _digest(operation.encode(), request.model_dump_json().encode(), extra)
        header = EventHeader(
            bill_type=bill_type,
            org_uscc=actor,
            business_time=request.business_time,
            document_no=request.document_no,
            client_document_id=request.client_document_id,
            source_document=request.source_document,
            corrects_event_id=getattr(request, "corrects_event_id", None),
        )
        for _attempt in range(2):
            try:
                with write_tx(self.engine) as conn:
                    prior = repo.find_write(conn, actor, request.client_document_id)
                    if prior is not None:
                        return self._replay(prior, operation, digest)
                    self._organisation(conn, actor)
                    event_id, body = apply(conn, header)
                    body = {"operation": operation, "document_no": request.document_no} | body
                    if event_id is not None:
                        body["event_id"] = event_id
                    repo.save_write(
                        conn,
                        org_uscc=actor,
                        client_document_id=request.client_document_id,
                        operation=operation,
                        request_sha256=digest,
                        event_id=event_id,
                        response=body,
                    )
                return WriteResult(body, replayed=False)
            except IntegrityError:
                continue  # a concurrent retry won the race: replay its answer
            except DomainError:
                # Refused, perhaps only because a concurrent twin of this request committed
                # meanwhile (PostgreSQL reads committed data per statement): answer as a retry.
                with read_tx(self.engine) as conn:
                    prior = repo.find_write(conn, actor, request.client_document_id)
                if prior is None:
                    raise
                return self._replay(prior, operation, digest)
        with read_tx(self.engine) as conn:
            prior = repo.find_write(conn, actor, request.client_document_id)
        if prior is None:
            raise Conflict("write_conflict", "the write clashed with a concurrent one; retry")
        return self._replay(prior, operation, digest)

    @staticmethod
    def _replay(prior: RowMapping, operation: str, digest: str) -> WriteResult:
        if prior["operation"] != operation or prior["request_sha256"] != digest:
            raise Conflict(
                "client_document_id_reused",
                "this client_document_id was already used for a different request",
                field="client_document_id",
            )
        return WriteResult(dict(prior["response"]), replayed=True)

    # --- commissioning and packaging ---------------------------------------------------

    def commission(self, actor: str, request: Commission) -> WriteResult:
        """赋码: issue codes for a batch with its packaging hierarchy (generated or uploaded)."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            found = self._batch(conn, actor, request.batch_no)
            if conn.execute(
                select(self_inspection.c.id).where(self_inspection.c.batch_id == found["id"])
            ).first():
                # later codes would miss the batch's inspection and release for good
                raise Conflict(
                    "batch_inspected",
                    f"batch {request.batch_no} is already inspected; codes are issued before",
                    field="batch_no",
                )
            levels = repo.identification_codes_of(conn, found["product_id"])
            event_id = repo.append_event(
                conn, header, {"batch_no": request.batch_no, "kind": "commission"}
            )
            if request.cases is not None:
                counts = self._generate(conn, found, levels, request.cases, event_id, actor)
            else:
                assert request.relations is not None
                counts = self._upload(conn, found, levels, request.relations, event_id, actor)
            doses = self._doses_commissioned(conn, found["id"])
            if doses > found["quantity"]:
                raise DomainError(
                    "exceeds_batch_quantity",
                    f"batch {request.batch_no} is {found['quantity']} doses; "
                    f"this would make {doses}",
                    field="cases" if request.cases is not None else "relations",
                )
            repo.link_batches(conn, [found["id"]], event_id)
            return event_id, {
                "batch_no": request.batch_no,
                "codes_by_level": {str(k): v for k, v in sorted(counts.items())},
            }

        return self._write(actor, "commission", request, apply, bill_type="commission")

    @staticmethod
    def _doses_commissioned(conn: Connection, batch_id: int) -> int:
        from sqlalchemy import func

        return int(
            conn.execute(
                select(func.count()).where(
                    trace_code.c.batch_id == batch_id, trace_code.c.level == 1
                )
            ).scalar_one()
        )

    def _generate(
        self,
        conn: Connection,
        found: RowMapping,
        levels: dict[int, RowMapping],
        units: int,
        event_id: int,
        actor: str,
    ) -> dict[int, int]:
        top = max(levels)
        per_unit = {lvl: levels[lvl]["children"] for lvl in levels}
        total = {top: units}
        for lvl in range(top - 1, 0, -1):
            total[lvl] = total[lvl + 1] * per_unit[lvl + 1]
        if total[1] > found["quantity"]:
            raise DomainError(
                "exceeds_batch_quantity",
                f"{units} full unit(s) hold {total[1]} doses; batch {found['batch_no']} "
                f"is {found['quantity']}",
                field="cases",
            )
        issuers = {lvl: _serials(conn, found["family"], levels[lvl]["code"]) for lvl in levels}
        first_id = repo.next_code_id(conn)
        rows = _hierarchy_rows(top, units, per_unit, issuers, first_id, found, event_id, actor)
        repo.insert_codes(conn, rows)  # streamed: one COPY / executemany, bounded memory
        return total

    def _upload(
        self,
        conn: Connection,
        found: RowMapping,
        levels: dict[int, RowMapping],
        relations: Sequence[Any],
        event_id: int,
        actor: str,
    ) -> dict[int, int]:
        by_ident = {row["code"]: lvl for lvl, row in levels.items()}
        parsed: dict[str, tuple[int, str | None]] = {}
        for index, rel in enumerate(relations):
            field = f"relations[{index}]"
            code = self._parse(rel.code, f"{field}.code")
            if code.batch_no is not None and code.batch_no != found["batch_no"]:
                raise DomainError(
                    "batch_mismatch",
                    f"{rel.code}: the code carries batch {code.batch_no}, not {found['batch_no']}",
                    field=f"{field}.code",
                )
            if by_ident.get(code.identification_code) != int(rel.level):
                raise DomainError(
                    "unknown_identification_code",
                    f"{rel.code}: identification code {code.identification_code} is not "
                    f"level {int(rel.level)} of product {found['product_data']['product_code']}",
                    field=f"{field}.code",
                )
            parent = None if rel.parent is None else self._parse(rel.parent, f"{field}.parent")
            parent_value = None if parent is None else parent.value
            if code.value in parsed:
                reason = (
                    "two_parents" if parsed[code.value][1] != parent_value else "duplicate_code"
                )
                raise Conflict(
                    reason, f"{rel.code} appears twice in the file", field=f"{field}.code"
                )
            parsed[code.value] = (int(rel.level), parent_value)
        for index, (value, (lvl, parent_value)) in enumerate(parsed.items()):
            if parent_value is None:
                continue
            if parent_value not in parsed:
                raise DomainError(
                    "unknown_parent",
                    f"parent {parent_value} of {value} is not in the file",
                    field=f"relations[{index}].parent",
                )
            if parsed[parent_value][0] != lvl + 1:
                raise DomainError(
                    "level_mismatch",
                    f"{value} (level {lvl}) cannot go into {parent_value} "
                    f"(level {parsed[parent_value][0]})",
                    field=f"relations[{index}].parent",
                )
        taken = repo.existing_codes(conn, list(parsed))
        if taken:
            raise Conflict(
                "already_commissioned",
                f"code(s) already commissioned (codes are never reused): {_examples(taken)}",
                field="relations",
            )
        first_id = repo.next_code_id(conn)
        ids = {value: first_id + i for i, value in enumerate(parsed)}
        rows = [
            (
                ids[value],
                value,
                lvl,
                found["product_id"],
                found["id"],
                None if parent is None else ids[parent],
                None if parent is None else event_id,
                Status.OTHER.value,
                actor,
                event_id,
            )
            for value, (lvl, parent) in parsed.items()
        ]
        repo.insert_codes(conn, rows)
        counts: dict[int, int] = {}
        for lvl, _parent in parsed.values():
            counts[lvl] = counts.get(lvl, 0) + 1
        return counts

    def pack(self, actor: str, request: Pack) -> WriteResult:
        """装箱: put codes into a container one level up."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            parent = self._held_code(conn, actor, request.parent, "parent")
            kids = [
                self._held_code(conn, actor, c, f"children[{i}]")
                for i, c in enumerate(request.children)
            ]
            if len({k["id"] for k in kids}) != len(kids):
                raise DomainError("duplicate_code", "a child is listed twice", field="children")
            capacity = repo.identification_codes_of(conn, parent["product_id"])[parent["level"]]
            room = capacity["children"] - len(repo.children_ids(conn, parent["id"]))
            for i, kid in enumerate(kids):
                field = f"children[{i}]"
                if kid["level"] != parent["level"] - 1:
                    raise DomainError(
                        "level_mismatch",
                        f"a level {kid['level']} code cannot go into a level {parent['level']} one",
                        field=field,
                    )
                if kid["batch_id"] != parent["batch_id"]:
                    raise DomainError(
                        "mixed_batch", f"{kid['code']} is of another batch", field=field
                    )
                if kid["parent_id"] is not None:
                    raise Conflict(
                        "already_packed",
                        f"{kid['code']} is already inside another container; unpack it first",
                        field=field,
                    )
            if len(kids) > room:
                raise DomainError(
                    "over_capacity",
                    f"{parent['code']} has room for {room} more, not {len(kids)}",
                    field="children",
                )
            event_id = repo.append_event(
                conn, header, {"parent": parent["code"], "children": [k["code"] for k in kids]}
            )
            repo.set_parent(conn, [k["id"] for k in kids], parent["id"], event_id)
            repo.link_codes(conn, [parent["id"], *(k["id"] for k in kids)], event_id)
            return event_id, {"parent": parent["code"], "packed": len(kids)}

        return self._write(actor, "pack", request, apply, bill_type="pack")

    def unpack(self, actor: str, request: Unpack) -> WriteResult:
        """拆箱: take codes out of a container (all of them when none are named)."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            parent = self._held_code(conn, actor, request.parent, "parent")
            inside = set(repo.children_ids(conn, parent["id"]))
            if request.children is None:
                ids = sorted(inside)
            else:
                ids = []
                for i, value in enumerate(request.children):
                    kid = self._held_code(conn, actor, value, f"children[{i}]")
                    if kid["id"] not in inside:
                        raise DomainError(
                            "not_in_container",
                            f"{kid['code']} is not inside {parent['code']}",
                            field=f"children[{i}]",
                        )
                    ids.append(kid["id"])
            event_id = repo.append_event(conn, header, {"parent": parent["code"]})
            repo.link_codes(conn, [parent["id"], *ids], event_id)
            repo.clear_parent(conn, ids, event_id)
            return event_id, {"parent": parent["code"], "unpacked": len(ids)}

        return self._write(actor, "unpack", request, apply, bill_type="unpack")

    def replace(self, actor: str, request: Replace) -> WriteResult:
        """换码: a damaged label gets a new code; the old one is suspended (已停用)."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            old = self._held_code(conn, actor, request.old_code, "old_code")
            if old["replaced_by_id"] is not None:
                # else a second new code would inherit the old one's suspended status
                raise Conflict(
                    "already_replaced",
                    f"{old['code']} was already replaced; replace its new code instead",
                    field="old_code",
                )
            why = refusal(Status(old["status"]), Action.SUSPEND)
            if why is not None:
                raise DomainError(why.reason, why.message, field="old_code")
            new = self._parse(request.new_code, "new_code")
            ident = repo.identification_codes_of(conn, old["product_id"])[old["level"]]
            if new.identification_code != ident["code"]:
                raise DomainError(
                    "unknown_identification_code",
                    f"the new code must carry identification code {ident['code']}",
                    field="new_code",
                )
            if repo.existing_codes(conn, [new.value]):
                raise Conflict(
                    "already_commissioned", f"{new.value} is already in use", field="new_code"
                )
            event_id = repo.append_event(
                conn,
                header,
                {"old_code": old["code"], "new_code": new.value, "reason": request.reason},
            )
            new_id = repo.next_code_id(conn)
            repo.insert_codes(
                conn,
                [
                    (
                        new_id,
                        new.value,
                        old["level"],
                        old["product_id"],
                        old["batch_id"],
                        old["parent_id"],
                        event_id if old["parent_id"] is not None else None,
                        old["status"],
                        old["holder_uscc"],
                        event_id,
                    )
                ],
            )
            if old["parent_id"] is not None:
                repo.clear_parent(conn, [old["id"]], event_id)
            repo.move_children(conn, old["id"], new_id, event_id)
            repo.mark_replaced(conn, old["id"], new_id)
            repo.link_codes(conn, [old["id"], new_id], event_id)
            return event_id, {"old_code": old["code"], "new_code": new.value}

        return self._write(actor, "replace", request, apply, bill_type="replace")

    # --- batch quality steps -----------------------------------------------------------

    def self_inspect(self, actor: str, request: SelfInspection) -> WriteResult:
        """自检: record the MAH's inspection of a batch."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            found = self._batch(conn, actor, request.batch_no)
            event_id = repo.append_event(
                conn,
                header,
                request.model_dump(mode="json", include={"batch_no", "report_no", "conclusion"}),
            )
            conn.execute(
                insert(self_inspection).values(
                    batch_id=found["id"],
                    event_id=event_id,
                    report_no=request.report_no,
                    conclusion=request.conclusion.value,
                )
            )
            moved = 0
            if request.conclusion is Conclusion.PASS:
                moved = repo.set_status_of_batches(conn, [found["id"]], Action.SELF_INSPECT)
            repo.link_batches(conn, [found["id"]], event_id)
            return event_id, {"batch_no": request.batch_no, "codes_updated": moved}

        return self._write(actor, "self_inspection", request, apply, bill_type="self_inspection")

    def release_lot(
        self, actor: str, request: LotRelease, certificate: bytes, media_type: str
    ) -> WriteResult:
        """批签发: record the lot release with its certificate file."""
        if not certificate:
            raise DomainError(
                "missing_certificate",
                "the lot release certificate file is empty",
                field="certificate",
            )

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            found = self._batch(conn, actor, request.batch_no)
            if conn.execute(
                select(lot_release.c.id).where(lot_release.c.batch_id == found["id"])
            ).first():
                raise Conflict(
                    "already_released",
                    f"batch {request.batch_no} has a lot release",
                    field="batch_no",
                )
            inspected = conn.execute(
                select(self_inspection.c.id).where(
                    self_inspection.c.batch_id == found["id"],
                    self_inspection.c.conclusion == "pass",
                )
            ).first()
            if request.conclusion is Conclusion.PASS and inspected is None:
                raise DomainError(
                    "not_self_inspected",
                    f"batch {request.batch_no} has no passing self-inspection",
                    field="batch_no",
                )
            if request.quantity > found["quantity"]:
                raise DomainError(
                    "quantity_mismatch",
                    f"released {request.quantity} > batch {found['quantity']}",
                    field="quantity",
                )
            sha = hashlib.sha256(certificate).hexdigest()
            event_id = repo.append_event(
                conn,
                header,
                request.model_dump(
                    mode="json",
                    include={"batch_no", "certificate_no", "conclusion", "authority", "quantity"},
                )
                | {"certificate_sha256": sha},
            )
            conn.execute(
                insert(lot_release).values(
                    batch_id=found["id"],
                    event_id=event_id,
                    certificate_no=request.certificate_no,
                    release_date=request.business_time.date(),
                    conclusion=request.conclusion.value,
                    authority=request.authority,
                    quantity=request.quantity,
                    certificate_sha256=sha,
                    certificate_media_type=media_type,
                    certificate_file=certificate,
                )
            )
            moved = 0
            if request.conclusion is Conclusion.PASS:
                moved = repo.set_status_of_batches(conn, [found["id"]], Action.LOT_RELEASE)
            repo.link_batches(conn, [found["id"]], event_id)
            return event_id, {
                "batch_no": request.batch_no,
                "certificate_sha256": sha,
                "codes_updated": moved,
            }

        return self._write(
            actor, "lot_release", request, apply, bill_type="lot_release", extra=certificate
        )

    # --- movements of code sets ----------------------------------------------------------

    def warehouse(self, actor: str, request: Warehousing) -> WriteResult:
        """101 生产入库 production warehousing."""
        return self._codes_write(
            actor,
            "warehousing",
            "101",
            request,
            Action.WAREHOUSE,
            holder=actor,
            payload={"warehouse": request.warehouse},
        )

    def ship(self, actor: str, request: ShippingNote) -> WriteResult:
        """201 销售出库: a shipping note (发货单) from the MAH to a CDC."""

        def checks(conn: Connection, batches: list[RowMapping], doses: int) -> None:
            if conn.execute(
                select(shipping_note.c.id).where(
                    shipping_note.c.mah_uscc == actor,
                    shipping_note.c.note_no == request.document_no,
                )
            ).first():
                raise Conflict(
                    "shipping_note_exists",
                    f"shipping note {request.document_no} exists; a new note needs a new number",
                    field="document_no",
                )
            consignee = (
                conn.execute(
                    select(organisation).where(organisation.c.uscc == request.consignee_uscc)
                )
                .mappings()
                .first()
            )
            if consignee is None:
                raise DomainError(
                    "unknown_consignee",
                    f"{request.consignee_uscc} is not a registered organisation",
                    field="consignee_uscc",
                )
            if consignee["kind"] != OrgKind.CDC.value:
                raise DomainError(
                    "consignee_not_cdc",
                    f"a MAH may supply only CDCs (疾控机构), not a {consignee['kind']}",
                    field="consignee_uscc",
                )
            day = request.business_time.date()
            for b in batches:
                self._check_sellable_batch(b, day)
            if doses != request.expected_quantity:
                raise DomainError(
                    "quantity_mismatch",
                    f"the codes hold {doses} doses; the note says {request.expected_quantity}",
                    field="expected_quantity",
                )

        def record(conn: Connection, event_id: int, doses: int) -> None:
            conn.execute(
                insert(shipping_note).values(
                    event_id=event_id,
                    mah_uscc=actor,
                    note_no=request.document_no,
                    consignee_uscc=request.consignee_uscc,
                    quantity=doses,
                )
            )

        payload = request.model_dump(
            mode="json", exclude={"codes", "client_document_id", "business_time", "document_no"}
        )
        return self._codes_write(
            actor,
            "shipping_note",
            "201",
            request,
            Action.SHIP,
            holder=request.consignee_uscc,
            payload=payload,
            checks=checks,
            record=record,
            already_gone="already_shipped",
        )

    @staticmethod
    def _check_sellable_batch(b: RowMapping, day: date) -> None:
        if b["certificate_no"] is None or b["release_conclusion"] != Conclusion.PASS.value:
            raise DomainError(
                "not_lot_released",
                f"batch {b['batch_no']} has no lot release certificate (批签发证明)",
                field="codes",
            )
        if b["imported"] and not b["customs_clearance_no"]:
            raise DomainError(
                "missing_customs_clearance",
                f"imported batch {b['batch_no']} has no customs clearance form",
                field="codes",
            )
        expiry = b["expiry_date"]
        if isinstance(expiry, str):
            expiry = date.fromisoformat(expiry)
        if expiry < day:
            raise DomainError(
                "expired", f"batch {b['batch_no']} expired on {expiry}", field="codes"
            )

    def sales_return(self, actor: str, request: SalesReturn) -> WriteResult:
        """103 销售退回入库: goods come back from a CDC."""
        payload = {"from_uscc": request.from_uscc, "reason_code": request.reason_code.value}
        return self._codes_write(
            actor,
            "sales_return",
            "103",
            request,
            Action.RETURN,
            holder=actor,
            expected_holder=request.from_uscc,
            payload=payload,
        )

    def start_recall(self, actor: str, request: Recall) -> WriteResult:
        """召回: start a recall of whole batches (a mock recall changes no status)."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            ids = [
                self._batch(conn, actor, b, field=f"batch_nos[{i}]")["id"]
                for i, b in enumerate(request.batch_nos)
            ]
            if conn.execute(
                select(recall.c.id).where(
                    recall.c.mah_uscc == actor, recall.c.recall_no == request.recall_no
                )
            ).first():
                raise Conflict(
                    "recall_exists", f"recall {request.recall_no} exists", field="recall_no"
                )
            data = request.model_dump(mode="json", exclude={"client_document_id"})
            event_id = repo.append_event(conn, header, data)
            conn.execute(
                insert(recall).values(
                    mah_uscc=actor,
                    recall_no=request.recall_no,
                    event_id=event_id,
                    state="in_progress",
                    data=data,
                )
            )
            moved = (
                0 if request.mock else repo.set_status_of_batches(conn, ids, Action.START_RECALL)
            )
            repo.link_batches(conn, ids, event_id)
            return event_id, {
                "recall_no": request.recall_no,
                "codes_updated": moved,
                "state": "in_progress",
            }

        return self._write(actor, "recall", request, apply, bill_type="recall")

    def recall_receipt(self, actor: str, request: RecallReceipt) -> WriteResult:
        """108 召回入库: recalled goods come back to the MAH."""

        def checks(conn: Connection, batches: list[RowMapping], _doses: int) -> None:
            data = conn.execute(
                select(recall.c.data).where(
                    recall.c.mah_uscc == actor, recall.c.recall_no == request.recall_no
                )
            ).scalar_one_or_none()
            if data is None:
                raise NotFound(
                    "unknown_recall", f"no recall {request.recall_no} of yours", field="recall_no"
                )
            outside = [b["batch_no"] for b in batches if b["batch_no"] not in data["batch_nos"]]
            if outside:
                raise Conflict(
                    "not_in_recall",
                    f"batch(es) {_examples(outside)} are not in recall {request.recall_no}",
                    field="codes",
                )

        return self._codes_write(
            actor,
            "recall_receipt",
            "108",
            request,
            Action.RECALL_IN,
            holder=actor,
            expected_holder=request.from_uscc,
            payload={"recall_no": request.recall_no, "from_uscc": request.from_uscc},
            checks=checks,
        )

    def destroy(self, actor: str, request: Destruction) -> WriteResult:
        """205 销毁出库: destruction with reason, executor and supervisor."""
        payload = request.model_dump(
            mode="json", include={"reason", "executor", "supervisor", "place"}
        )
        return self._codes_write(
            actor, "destruction", "205", request, Action.DESTROY, holder=actor, payload=payload
        )

    def record_temperature(self, actor: str, request: TemperatureRecord) -> WriteResult:
        """温度记录: a storage or transport temperature series."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            summary = {
                "kind": request.kind,
                "equipment_id": request.equipment_id,
                "related_document_no": request.related_document_no,
                "min_celsius": request.minimum,
                "max_celsius": request.maximum,
                "readings": len(request.readings),
            }
            event_id = repo.append_event(conn, header, summary)
            conn.execute(
                insert(temperature_record).values(
                    event_id=event_id,
                    kind=request.kind,
                    equipment_id=request.equipment_id,
                    related_document_no=request.related_document_no,
                    start_time=request.start_time.astimezone(UTC),
                    end_time=request.end_time.astimezone(UTC),
                    min_celsius=request.minimum,
                    max_celsius=request.maximum,
                    readings=[[r.time.isoformat(), r.celsius] for r in request.readings],
                )
            )
            return event_id, summary

        return self._write(actor, "temperature", request, apply, bill_type="temperature")

    def lock(self, actor: str, request: Lock) -> WriteResult:
        """锁定: put codes or whole batches in a locked status, with reason and evidence."""
        action = LOCK_ACTIONS[request.kind]
        payload = request.model_dump(
            mode="json", include={"kind", "reason", "evidence", "batch_nos"}
        )
        return self._status_write(actor, "lock", request, action, payload)

    def unlock(self, actor: str, request: Unlock) -> WriteResult:
        """解锁: a pending (待定) review cleared, the codes are normal again."""
        payload = request.model_dump(mode="json", include={"reason", "batch_nos"})
        return self._status_write(actor, "unlock", request, Action.UNLOCK, payload)

    def _status_write(
        self,
        actor: str,
        operation: str,
        request: Lock | Unlock,
        action: Action,
        payload: dict[str, Any],
    ) -> WriteResult:
        if request.codes is not None:
            return self._codes_write(
                actor,
                operation,
                operation,
                request,
                action,
                holder=None,
                payload=payload,
                movement=False,
            )

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            assert request.batch_nos is not None
            ids = [
                self._batch(conn, actor, b, field=f"batch_nos[{i}]")["id"]
                for i, b in enumerate(request.batch_nos)
            ]
            event_id = repo.append_event(conn, header, payload)
            moved = repo.set_status_of_batches(conn, ids, action)
            repo.link_batches(conn, ids, event_id)
            return event_id, {
                "codes_updated": moved,
                "by_status": repo.batches_status_counts(conn, ids),
            }

        return self._write(actor, operation, request, apply, bill_type=operation)

    def correct(self, actor: str, request: Correction) -> WriteResult:
        """更正: a new event correcting an earlier event's header; the earlier one stays."""

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            earlier = repo.event_by_id(conn, request.corrects_event_id)
            if earlier is None or earlier["org_uscc"] != actor:
                raise NotFound(
                    "unknown_event",
                    f"no event {request.corrects_event_id} of yours",
                    field="corrects_event_id",
                )
            if "business_time" in request.corrected:
                try:
                    moment = datetime.fromisoformat(request.corrected["business_time"])
                except ValueError as exc:
                    raise DomainError(
                        "invalid_datetime",
                        "business_time: ISO 8601 expected",
                        field="corrected.business_time",
                    ) from exc
                if moment.tzinfo is None:
                    raise DomainError(
                        "timezone_missing",
                        "business_time needs an offset",
                        field="corrected.business_time",
                    )
            body = {
                "reason": request.reason,
                "corrected": request.corrected,
                "corrects_event_id": request.corrects_event_id,
            }
            event_id = repo.append_event(conn, header, body)
            return event_id, body

        return self._write(actor, "correction", request, apply, bill_type="correction")

    def _codes_write(
        self,
        actor: str,
        operation: str,
        bill_type: str,
        request: Any,
        action: Action,
        *,
        holder: str | None,
        payload: dict[str, Any],
        expected_holder: str | None = None,
        checks: Callable[[Connection, list[RowMapping], int], None] | None = None,
        record: Callable[[Connection, int, int], None] | None = None,
        already_gone: str = "not_held",
        movement: bool = True,
    ) -> WriteResult:
        """The frame of every write on a set of codes: resolve, expand, check, then write.

        A movement (``movement=True``) needs the codes at ``expected_holder`` (default: the
        actor), takes listed codes out of their containers and hands them to ``holder``. A
        status-only step (a lock) applies wherever the codes are and leaves packing alone.
        """

        def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            values = [self._parse(v, f"codes[{i}]").value for i, v in enumerate(request.codes)]
            if len(set(values)) != len(values):
                raise DomainError("duplicate_code", "a code is listed twice", field="codes")
            repo.load_listed(conn, values)
            self._refuse_if(
                "unknown_code", "unknown code(s)", repo.unknown_listed(conn), not_found=True
            )
            self._refuse_if("not_held", "code(s) of another MAH", repo.foreign_listed(conn, actor))
            self._refuse_if(
                "listed_twice",
                "code(s) listed and also inside a listed container",
                repo.expand_listed(conn),
            )
            owner = expected_holder or actor
            elsewhere = repo.affected_not_held(conn, owner) if movement else []
            if elsewhere:
                first = elsewhere[0]
                reason = already_gone if expected_holder is None else "not_held"
                raise Conflict(
                    reason,
                    f"{first['code']} is held by {first['holder_uscc']}, not {owner}",
                    field="codes",
                )
            for status, n, example in repo.affected_status_counts(conn):
                why = refusal(Status(status), action)
                if why is not None:
                    raise Conflict(
                        why.reason, f"{n} code(s) e.g. {example}: {why.message}", field="codes"
                    )
            batches = repo.affected_batches(conn)
            doses = sum(int(b["doses"]) for b in batches)
            if checks is not None:
                checks(conn, batches, doses)
            event_id = repo.append_event(conn, header, payload | {"codes": len(values)})
            repo.link_listed(conn, event_id)
            unpacked = repo.detach_listed(conn, event_id) if movement else []
            repo.apply_action(conn, action, holder_uscc=holder if movement else None)
            if record is not None:
                record(conn, event_id, doses)
            return event_id, {
                "codes": len(values),
                "doses": doses,
                "batches": [
                    {
                        "batch_no": b["batch_no"],
                        "product_code": b["product_code"],
                        "doses": int(b["doses"]),
                    }
                    for b in batches
                ],
                "unpacked": unpacked,
            }

        return self._write(actor, operation, request, apply, bill_type=bill_type)

    @staticmethod
    def _refuse_if(reason: str, what: str, found: list[str], *, not_found: bool = False) -> None:
        if found:
            cls = DomainError if not_found else Conflict
            raise cls(reason, f"{what}: {_examples(found)}", field="codes")

    # --- queries -----------------------------------------------------------------------

    def trace(self, text: str) -> dict[str, Any]:
        """Everything known about one code of any level, with its full history."""
        code = self._parse(text, "code")
        with read_tx(self.engine) as conn:
            row = repo.code_detail(conn, code.value)
            if row is None:
                raise self._unknown(conn, code)
            spans = repo.containment_intervals(conn, row["id"])
            events = repo.history(conn, spans, row["batch_id"], row["commission_event_id"])
            events = sorted(
                [*events, *repo.corrections_of(conn, [e["id"] for e in events])],
                key=lambda e: int(e["id"]),
            )
            containers = self._containers(conn, row)
            children = repo.children_of(conn, row["id"])
            replaced_by = None
            if row["replaced_by_id"] is not None:
                new = repo.code_by_id(conn, row["replaced_by_id"])
                replaced_by = None if new is None else new["code"]
        data = row["product_data"]
        return {
            "code": row["code"],
            "family": code.family.value,
            "level": row["level"],
            "product": {
                "product_code": row["product_code"],
                "generic_name": data["generic_name"],
                "trade_name": data["trade_name"],
                "mah_uscc": row["mah_uscc"],
                "strength": data["strength"],
                "dosage_form": data["dosage_form"],
            },
            "batch_no": row["batch_no"],
            "production_date": str(row["production_date"]),
            "expiry_date": str(row["expiry_date"]),
            "status": row["status"],
            "holder_uscc": row["holder_uscc"],
            "containers": containers,
            "children": [dict(c) for c in children],
            "replaced_by": replaced_by,
            "history": [_event_json(e) for e in events],
        }

    @staticmethod
    def _unknown(conn: Connection, code: codes_.TraceCode) -> NotFound:
        """Say whether the code's identification code is known, so a typo reads as one."""
        owner = repo.identification_owners(conn, [code.identification_code])
        if code.identification_code in owner:
            level = owner[code.identification_code]["level"]
            return NotFound(
                "not_commissioned",
                f"{code.value}: identification code {code.identification_code} is level {level} "
                "of a registered product, but this serial was never issued (a typo?)",
                field="code",
            )
        return NotFound(
            "unknown_code",
            f"{code.value}: identification code {code.identification_code} is not registered "
            "with this trace system",
            field="code",
        )

    @staticmethod
    def _containers(conn: Connection, row: RowMapping) -> list[str]:
        chain: list[str] = []
        parent_id = row["parent_id"]
        while parent_id is not None:
            parent = repo.code_by_id(conn, parent_id)
            if parent is None:
                break
            chain.append(parent["code"])
            parent_id = parent["parent_id"]
        return chain

    def batch_summary(self, actor: str, batch_no: str) -> dict[str, Any]:
        """Where a batch's doses are now, counted by holder and status."""
        with read_tx(self.engine) as conn:
            found = self._batch(conn, actor, batch_no)
            rows = repo.batch_where_now(conn, found["id"])
        return {
            "batch_no": batch_no,
            "product_code": found["product_data"]["product_code"],
            "expiry_date": str(found["expiry_date"]),
            "doses": sum(int(r["doses"]) for r in rows),
            "by_holder_and_status": [
                {"holder_uscc": r["holder_uscc"], "status": r["status"], "doses": int(r["doses"])}
                for r in rows
            ],
        }

    def consumer_view(self, text: str) -> dict[str, Any]:
        """The public subset (消费者查询): product, MAH, batch, expiry, lot release, status."""
        code = self._parse(text, "code")
        with read_tx(self.engine) as conn:
            row = repo.code_detail(conn, code.value)
            if row is None:
                raise self._unknown(conn, code)
            release = (
                conn.execute(
                    select(
                        lot_release.c.certificate_no,
                        lot_release.c.release_date,
                        lot_release.c.authority,
                    ).where(lot_release.c.batch_id == row["batch_id"])
                )
                .mappings()
                .first()
            )
            mah = conn.execute(
                select(organisation.c.name).where(organisation.c.uscc == row["mah_uscc"])
            ).scalar_one_or_none()
        data = row["product_data"]
        return {
            "code": row["code"],
            "generic_name": data["generic_name"],
            "trade_name": data["trade_name"],
            "strength": data["strength"],
            "mah": mah,
            "manufacturer": data["manufacturer"],
            "approval_number": data["approval_number"],
            "batch_no": row["batch_no"],
            "expiry_date": str(row["expiry_date"]),
            "lot_release": None
            if release is None
            else {
                "certificate_no": release["certificate_no"],
                "release_date": str(release["release_date"]),
                "authority": release["authority"],
            },
            "status": row["status"],
        }

    # --- small lookups -------------------------------------------------------------------

    @staticmethod
    def _parse(value: str, field: str) -> codes_.TraceCode:
        try:
            return codes_.parse_code(value)
        except codes_.CodeError as exc:
            raise DomainError(exc.reason, f"{value!r}: {exc.message}", field=field) from exc

    @staticmethod
    def _organisation(conn: Connection, uscc: str) -> RowMapping:
        found = conn.execute(select(organisation).where(organisation.c.uscc == uscc)).mappings()
        row = found.first()
        if row is None:
            raise NotFound("unknown_organisation", f"{uscc} is not registered here")
        return row

    def _require_kind(self, conn: Connection, uscc: str, kind: OrgKind) -> None:
        if self._organisation(conn, uscc)["kind"] != kind.value:
            raise DomainError("wrong_organisation_kind", f"only a {kind.value} may do this")

    @staticmethod
    def _batch(conn: Connection, actor: str, batch_no: str, field: str = "batch_no") -> RowMapping:
        found = repo.batch_by_no(conn, actor, batch_no)
        if found is None:
            raise NotFound("unknown_batch", f"no batch {batch_no} of yours", field=field)
        return found

    def _held_code(self, conn: Connection, actor: str, value: str, field: str) -> RowMapping:
        code = self._parse(value, field)
        row = repo.code_detail(conn, code.value)
        if row is None:
            raise DomainError("unknown_code", f"{code.value} is not commissioned", field=field)
        if row["mah_uscc"] != actor or row["holder_uscc"] != actor:
            raise Conflict("not_held", f"{code.value} is not held by {actor}", field=field)
        if Status(row["status"]) in (Status.USED, Status.DESTROYED):
            raise Conflict("terminal_status", f"{code.value} is {row['status']}", field=field)
        return row


def _event_json(e: RowMapping) -> dict[str, Any]:
    return {
        "event_id": e["id"],
        "event_uuid": e["event_uuid"],
        "bill_type": e["bill_type"],
        "org_uscc": e["org_uscc"],
        "business_time": _iso(e["business_time"]),
        "recorded_time": _iso(e["recorded_time"]),
        "document_no": e["document_no"],
        "source_document": e["source_document"],
        "payload": e["payload"],
    }


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()
    return str(value)


def _serials(conn: Connection, family: str, identification: str) -> Iterator[str]:
    """Fresh codes under one identification code, continuing after the highest issued.

    The highest serial is read now, not lazily: the codes are consumed while a COPY holds
    the connection.
    """
    width = 12
    start = max(repo.max_serial(conn, identification, width) + 1, 1)
    if family == codes_.CodeFamily.NMPA20.value:
        return (codes_.issue_nmpa20(identification, n) for n in count(start))
    return (codes_.gs1_canonical(identification, f"{n:0{width}d}") for n in count(start))


def _hierarchy_rows(
    top: int,
    units: int,
    per_unit: dict[int, int],
    issuers: dict[int, Iterator[str]],
    first_id: int,
    found: RowMapping,
    event_id: int,
    actor: str,
) -> Iterator[tuple[Any, ...]]:
    """Rows for ``units`` full top-level units, depth first, parents before children."""
    next_id = first_id
    product_id, batch_id, status = found["product_id"], found["id"], Status.OTHER.value

    def unit(level: int, parent: int | None, out: list[tuple[Any, ...]]) -> None:
        nonlocal next_id
        my_id = next_id
        next_id += 1
        since = None if parent is None else event_id
        out.append(
            (
                my_id,
                next(issuers[level]),
                level,
                product_id,
                batch_id,
                parent,
                since,
                status,
                actor,
                event_id,
            )
        )
        for _ in range(per_unit[level] if level > 1 else 0):
            unit(level - 1, my_id, out)

    for _ in range(units):
        rows: list[tuple[Any, ...]] = []
        unit(top, None, rows)
        yield from rows
