"""Closing a recall (召回完成): only when every unit is accounted for, or with a justification
of what is still out; the closing summary (召回总结) says what came back, what was destroyed,
what was used, and what is still out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recalls.units import Completion


def check_closing(done: Completion, justification: str | None) -> None:
    """A recall may close when complete; otherwise only with a justification (why the
    units still out will not come back)."""
    if not done.complete and not (justification and justification.strip()):
        raise DomainError(
            Reason.RECALL_INCOMPLETE,
            f"{done.outstanding} of {done.total} units are still out "
            f"({done.rate:.1%} complete): close with a justification",
            field="justification",
        )


def closing_summary(
    done: Completion, summary: str, justification: str | None, closed_at: datetime
) -> dict[str, Any]:
    """The summary a closed recall keeps: the closer's words and the units' states then."""
    return {
        "summary": summary,
        "justification": justification,
        "closed_at": closed_at.isoformat(),
        **done.as_dict(),
    }
