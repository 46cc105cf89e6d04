"""The one error type of the domain: a machine-readable reason, a message, the field at fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(ValueError):
    """Input the domain refuses. ``reason`` is a stable snake_case code for machines (a
    :class:`vaxtrace.core.reasons.Reason`; its HTTP status is decided in one map,
    ``vaxtrace.web.problems.STATUS``);
    ``details`` more machine-readable members of the refusal (e.g. every reason a dose gate
    found, where ``reason`` is the first)."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field
        self.details = dict(details or {})


def at_item(error: DomainError, collection: str, index: int) -> DomainError:
    """``error`` of one item of an upload, its field named from the upload's root (e.g.
    ``shipping_notes[2].codes[5]``), so the uploader knows which item to mend."""
    item = f"{collection}[{index}]"
    error.field = f"{item}.{error.field}" if error.field else item
    error.message = f"{item}: {error.message}"
    error.args = (error.message,)
    return error


def examples(values: Sequence[str]) -> str:
    """The first few values, for a refusal message."""
    return ", ".join(values[:5])
