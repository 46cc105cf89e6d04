"""Use cases of the supervision system (监管系统): take the steps of the chain the platform
copies to it, and the refusals of reports between nodes (findings), once each, and show each
regulator those inside its division."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, insert, select

from vaxtrace.core.datasets import Organisation, OrgKind
from vaxtrace.core.errors import DomainError, NotFound
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.refusal import BILL_NAMES, FINDING, RefusalFinding
from vaxtrace.core.signals import SafetySignal, read_signal
from vaxtrace.core.supervision import SupervisedStep
from vaxtrace.exchange import registry_feed
from vaxtrace.exchange.delivery import FromPlatform
from vaxtrace.exchange.envelope import Opened, Verifier
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.registry_feed import Fetch, OwnRegister
from vaxtrace.store import tokens
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.rows import put_row
from vaxtrace.store.supervision.schema import (
    api_token,
    basic_data,
    exchange,
    finding,
    regulator,
    supervised_step,
)

MAX_STEPS = 1000
"""Steps one page of ``steps`` answers at most."""

MAX_FINDINGS = 1000
"""Findings one page of ``findings`` answers at most."""

EXCHANGE_REFUSAL = "exchange_refusal"
"""The kind of finding a report refused by its receiver is."""

@dataclass(frozen=True, slots=True)
class SignalCopy:
    """A MAH's safety signal (a lock, a recall, …) about goods in ``division_code``."""

    signal: SafetySignal
    division_code: str


Copied = SupervisedStep | RefusalFinding | SignalCopy
"""What the platform copies here: a step of the chain, a refusal between nodes, or a MAH's
safety signal about goods in the area."""

SIGNAL_KIND = "mah_{}"
"""The kind of finding a MAH's safety signal is kept as (mah_lock, mah_recall, …)."""


class SupervisionService:
    """The supervision node: what it was told, and who may see which part."""

    def __init__(self, engine: Engine, platform_id: str, platform_key: Verifier | None) -> None:
        self.engine = engine
        self.from_platform = FromPlatform(engine, exchange, platform_id, platform_key)

    # --- the exchange (mutual TLS) ---------------------------------------------------------

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Steps and findings the platform copied here, in sequence order; each taken once,
        all or none."""
        return self.from_platform.take(caller.system_id, envelopes, _read, _record)

    # --- regulators and their staff ----------------------------------------------------------

    def register_organisation(self, org: Organisation) -> dict[str, Any]:
        """Add or update a regulator (药品监督管理部门) whose staff use this system."""
        if org.kind is not OrgKind.REGULATOR:
            raise DomainError(
                "not_a_regulator",
                f"the supervision system serves regulators, not a {org.kind.value}",
                field="kind",
            )
        row = _regulator_row(org)
        with write_tx(self.engine) as conn:
            put_row(conn, regulator, row)
        return row

    def sync_registry(self, system_id: str, source: str, fetch: Fetch) -> dict[str, Any]:
        """Apply the platform's basic-data changes since the last sync, taking the regulators
        system ``system_id`` represents there and every later change of one it serves."""
        take = registry_feed.represented_organisations(system_id, REGULATORS)
        return registry_feed.follow_registry(self.engine, basic_data, source, fetch, take)

    def issue_token(self, org_uscc: str, label: str = "api") -> str:
        """An API token for a regulator's staff; only its SHA-256 is stored."""
        with write_tx(self.engine) as conn:
            _division(conn, org_uscc)
            return tokens.store_new_token(conn, api_token, org_uscc, label)

    def authenticate(self, token: str) -> str | None:
        with read_tx(self.engine) as conn:
            return tokens.token_holder(conn, api_token, token)

    # --- what a regulator sees -----------------------------------------------------------------

    def steps(
        self,
        actor: str,
        *,
        bill_type: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """The steps done inside the actor's division, newest first, a page at a time."""
        s = supervised_step.c
        with read_tx(self.engine) as conn:
            area = _division(conn, actor)
            query = (
                select(supervised_step)
                .where(s.division_code.like(DivisionCode(area).area_prefix + "%"))
                .order_by(s.id.desc())
                .limit(min(max(limit, 1), MAX_STEPS))
            )
            if bill_type is not None:
                query = query.where(s.bill_type == bill_type)
            if before is not None:
                query = query.where(s.id < before)
            rows = conn.execute(query).mappings().all()
        return {"division_code": area, "steps": [_step_view(r) for r in rows]}

    def findings(
        self, actor: str, *, before: int | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """What went wrong inside the actor's division (reports refused by their receiver,
        where the unit that did the step is), newest first, a page at a time."""
        f = finding.c
        with read_tx(self.engine) as conn:
            area = _division(conn, actor)
            query = (
                select(finding)
                .where(f.division_code.like(DivisionCode(area).area_prefix + "%"))
                .order_by(f.id.desc())
                .limit(min(max(limit, 1), MAX_FINDINGS))
            )
            if before is not None:
                query = query.where(f.id < before)
            rows = conn.execute(query).mappings().all()
        return {"division_code": area, "findings": [_finding_view(r) for r in rows]}


def _read(opened: Opened) -> Copied:
    payload = opened.payload
    if isinstance(payload, dict) and FINDING in payload:
        return _read_finding(payload[FINDING])
    if isinstance(payload, dict) and "safety_signal" in payload:
        division = DivisionCode(str(payload.get("division_code", ""))).value
        return SignalCopy(read_signal(payload), division)
    return _read_step(payload)


def _record(conn: Connection, opened: Opened, copied: Copied) -> dict[str, Any]:
    if isinstance(copied, RefusalFinding):
        return _record_finding(conn, opened, copied)
    if isinstance(copied, SignalCopy):
        return _record_signal(conn, opened, copied)
    return _record_step(conn, opened, copied)


def _record_signal(conn: Connection, opened: Opened, copy: SignalCopy) -> dict[str, Any]:
    """A MAH's lock, unlock or recall of goods in the area, kept beside the findings for the
    regulators who see that division."""
    signal = copy.signal
    conn.execute(
        insert(finding).values(
            event_id=opened.header["event_id"],
            kind=SIGNAL_KIND.format(signal.kind.value),
            org_uscc=signal.mah_uscc,
            division_code=copy.division_code,
            reason=(signal.lock_kind or signal.status or signal.kind).value,
            bill_type=None,
            document_no=signal.document_no,
            detail=signal.model_dump(mode="json") | {"codes": list(signal.codes or ())},
            found_at=_utc(signal.business_time),
            received_at=datetime.now(UTC),
        )
    )
    return {}


def _read_finding(value: Any) -> RefusalFinding:
    try:
        found = RefusalFinding.model_validate(value)
    except ValidationError as exc:
        raise DomainError(
            "malformed_finding",
            f"the payload carries no valid refusal_finding: {exc.errors()[0]['msg']}",
            field="payload.refusal_finding",
        ) from exc
    if not found.org_uscc:
        raise DomainError(
            "malformed_finding",
            "a finding names the unit that did the step",
            field="payload.refusal_finding.org_uscc",
        )
    return found


def _record_finding(conn: Connection, opened: Opened, found: RefusalFinding) -> dict[str, Any]:
    assert found.org_uscc is not None
    conn.execute(
        insert(finding).values(
            event_id=opened.header["event_id"],
            kind=EXCHANGE_REFUSAL,
            org_uscc=found.org_uscc,
            division_code=found.division_code,
            reason=found.reason,
            bill_type=found.bill_type,
            document_no=found.document_no,
            detail=found.model_dump(mode="json"),
            found_at=_utc(found.refused_at),
            received_at=datetime.now(UTC),
        )
    )
    return {}


def _finding_view(row: Any) -> dict[str, Any]:
    detail = row["detail"]
    return {
        "id": int(row["id"]),
        "kind": row["kind"],
        "org_uscc": row["org_uscc"],
        "division_code": row["division_code"],
        "bill_type": row["bill_type"],
        "bill": BILL_NAMES.get(row["bill_type"] or ""),
        "document_no": row["document_no"],
        "codes": list(detail.get("codes") or []),
        "code_count": int(detail.get("code_count") or 0),
        "reason": row["reason"],
        "field": detail.get("field"),
        "detail": detail.get("detail"),
        "refused_by": detail.get("receiver_system_id"),
        "reported_by": detail.get("origin_system_id"),
        "advice": detail.get("advice"),
        "found_at": _aware(row["found_at"]).isoformat(),
        "received_at": _aware(row["received_at"]).isoformat(),
    }


def _record_step(conn: Connection, opened: Opened, step: SupervisedStep) -> dict[str, Any]:
    conn.execute(
        insert(supervised_step).values(
            event_id=opened.header["event_id"],
            reported_by=opened.payload.get("forwarded_from", {}).get("system_id", ""),
            data_owner=opened.header["data_owner"],
            received_at=datetime.now(UTC),
            # in UTC: SQLite keeps a time's digits, not its offset
            **step.model_dump(mode="python") | {"business_time": _utc(step.business_time)},
        )
    )
    return {}


def _read_step(payload: Any) -> SupervisedStep:
    try:
        return SupervisedStep.model_validate(payload.get("supervised_step"))
    except (ValidationError, AttributeError) as exc:
        raise DomainError(
            "malformed_step",
            "the payload carries no valid supervised_step",
            field="payload.supervised_step",
        ) from exc


def _division(conn: Connection, uscc: str) -> str:
    found = conn.execute(select(regulator.c.division_code).where(regulator.c.uscc == uscc))
    division = found.scalar_one_or_none()
    if division is None:
        raise NotFound("unknown_regulator", f"{uscc} is not a registered regulator", field="uscc")
    return str(division)


def _step_view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "event_id": row["event_id"],
        "bill_type": row["bill_type"],
        "org_uscc": row["org_uscc"],
        "division_code": row["division_code"],
        "document_no": row["document_no"],
        "business_time": _aware(row["business_time"]).isoformat(),
        "codes": list(row["codes"]),
        "data_owner": row["data_owner"],
        "reported_by": row["reported_by"],
    }


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _regulator_row(org: Organisation) -> dict[str, Any]:
    return {"uscc": org.uscc, "name": org.name, "division_code": org.division_code}


REGULATORS = OwnRegister(regulator, frozenset({OrgKind.REGULATOR}), _regulator_row)
"""The regulators whose staff use this system, as the platform's registry has them."""
