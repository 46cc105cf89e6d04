"""Use cases of the supervision system (监管系统): take the steps of the chain the platform
copies to it, once each, and show each regulator the steps done inside its division."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, insert, select

from vaxtrace.core.datasets import Organisation, OrgKind
from vaxtrace.core.errors import DomainError, NotFound
from vaxtrace.core.identifiers import DivisionCode
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
    regulator,
    supervised_step,
)

MAX_STEPS = 1000
"""Steps one page of ``steps`` answers at most."""


class SupervisionService:
    """The supervision node: what it was told, and who may see which part."""

    def __init__(self, engine: Engine, platform_id: str, platform_key: Verifier | None) -> None:
        self.engine = engine
        self.from_platform = FromPlatform(engine, exchange, platform_id, platform_key)

    # --- the exchange (mutual TLS) ---------------------------------------------------------

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Steps the platform copied here, in sequence order; each taken once, all or none."""
        return self.from_platform.take(
            caller.system_id,
            envelopes,
            lambda opened: _read_step(opened.payload),
            _record_step,
        )

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
