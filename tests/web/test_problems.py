"""The status of a refusal: one map by reason code, and a dose the gate stops answered as a
clash with the dose's state whatever its first reason."""

from __future__ import annotations

import pytest

from vaxtrace.core.dose_gate import DoseDecision, DoseRefused
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import DoseReason, Reason
from vaxtrace.web.problems import status_of


def refused(first: DoseReason) -> DoseRefused:
    decision = DoseDecision(False, (first, DoseReason.EXPIRED), (), ("why", "expired"))
    return DoseRefused.of(decision)


@pytest.mark.parametrize("reason", list(DoseReason), ids=str)
def test_a_dose_the_gate_stops_clashes_with_its_state(reason: DoseReason) -> None:
    unreadable = {DoseReason.UNKNOWN_CODE, DoseReason.NOT_A_DOSE}
    error = refused(reason)
    assert (error.reason, error.details["reasons"]) == (reason.value, [reason.value, "expired"])
    assert status_of(error) == (422 if reason in unreadable else 409)


def test_the_same_reason_outside_the_gate_keeps_its_own_status() -> None:
    missing = DomainError(Reason.NO_LOT_RELEASE, "no lot release of the batch is on file")
    assert status_of(missing) == 404
    assert status_of(refused(DoseReason.NO_LOT_RELEASE)) == 409
