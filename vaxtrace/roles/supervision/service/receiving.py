"""What the platform copies to the supervision system (监管数据采集): the steps of the chain,
the refusals of reports between nodes (findings) and MAHs' safety signals, each read from its
envelope and kept once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from vaxtrace.core.errors import DomainError
from vaxtrace.core.forwarding import made_at, origin_of
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.reasons import Reason
from vaxtrace.core.refusal import FINDING, RefusalFinding, read_refusal
from vaxtrace.core.signals import SafetySignal, read_signal
from vaxtrace.core.supervision import SupervisedStep
from vaxtrace.core.times import as_utc
from vaxtrace.exchange.envelope import Opened
from vaxtrace.roles.supervision.service import recalls
from vaxtrace.roles.supervision.service.alerts import open_excursion_alert
from vaxtrace.store.engine import Connection
from vaxtrace.store.supervision import findings, steps

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

REGULATOR_SIGNAL_KIND = "regulator_{}"
"""The kind a regulator's lock or unlock is kept as when it comes back (regulator_lock …)."""


def read(opened: Opened) -> Copied:
    """The one thing an envelope from the platform carries (a malformed one is refused)."""
    payload = opened.payload
    if isinstance(payload, dict) and FINDING in payload:
        return read_refusal(
            RefusalFinding, payload[FINDING], Reason.MALFORMED_FINDING, "payload.refusal_finding"
        )
    if isinstance(payload, dict) and "safety_signal" in payload:
        division = DivisionCode(str(payload.get("division_code", ""))).value
        return SignalCopy(read_signal(payload), division)
    return _read_step(payload)


def record(conn: Connection, opened: Opened, copied: Copied) -> dict[str, Any]:
    """Keep what was read, in the inbox's transaction."""
    if isinstance(copied, RefusalFinding):
        return _record_finding(conn, opened, copied)
    if isinstance(copied, SignalCopy):
        return _record_signal(conn, opened, copied)
    return _record_step(conn, opened, copied)


def _record_signal(conn: Connection, opened: Opened, copy: SignalCopy) -> dict[str, Any]:
    """A MAH's lock, unlock or recall of goods in the area, kept beside the findings for the
    regulators who see that division."""
    signal = copy.signal
    who = SIGNAL_KIND if signal.issued_by is None else REGULATOR_SIGNAL_KIND
    found = findings.Finding(
        kind=who.format(signal.kind.value),
        org_uscc=signal.mah_uscc,
        division_code=copy.division_code,
        reason=(signal.lock_kind or signal.status or signal.kind).value,
        bill_type=None,
        document_no=signal.document_no,
        detail=signal.model_dump(mode="json") | {"codes": list(signal.codes or ())},
        found_at=as_utc(signal.business_time),
    )
    findings.add_finding(conn, opened.header["event_id"], found)
    return {}


def _record_finding(conn: Connection, opened: Opened, found: RefusalFinding) -> dict[str, Any]:
    assert found.org_uscc is not None
    where = found.model_dump(include={"org_uscc", "division_code", "bill_type", "document_no"})
    kept = findings.Finding(
        kind=EXCHANGE_REFUSAL,
        reason=found.reason,
        detail=found.model_dump(mode="json"),
        found_at=as_utc(found.refused_at),
        **where,
    )
    findings.add_finding(conn, opened.header["event_id"], kept)
    return {}


def _record_step(conn: Connection, opened: Opened, step: SupervisedStep) -> dict[str, Any]:
    origin = origin_of(opened.payload, sender="", event_id="")
    reported = origin.sent_at or made_at(opened.header)
    steps.add_step(
        conn,
        event_id=opened.header["event_id"],
        reported_by=origin.system_id,
        data_owner=opened.header["data_owner"],
        # in UTC: SQLite keeps a time's digits, not its offset
        step=step.model_dump(mode="python")
        | {
            "business_time": as_utc(step.business_time),
            "reported_at": None if reported is None else as_utc(reported),
        },
    )
    open_excursion_alert(conn, step)  # a province's excursion joins the alerts as it arrives
    recalls.follow_mah_step(conn, step)
    return {}


def _read_step(payload: Any) -> SupervisedStep:
    try:
        return SupervisedStep.model_validate(payload.get("supervised_step"))
    except (ValidationError, AttributeError) as exc:
        raise DomainError(
            Reason.MALFORMED_STEP,
            "the payload carries no valid supervised_step",
            field="payload.supervised_step",
        ) from exc
