"""What a validation rule finds (发现的问题): one finding per rule and subject, whatever the
number of times the data show it, so that a repeat run raises nothing new."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How serious a finding or an alert is (提示 / 警告 / 严重), lowest first."""

    NOTICE = "notice"
    WARNING = "warning"
    SEVERE = "severe"


class SubjectKind(StrEnum):
    """What a finding is about."""

    CODE = "code"  # one trace code (a dose used while locked …)
    BATCH = "batch"  # a batch: ``{mah_uscc}:{batch_no}``
    DOCUMENT = "document"  # one step's document: ``{bill_type}:{org_uscc}:{document_no}``
    FRIDGE = "fridge"  # a fridge or shipment of a CDC or site: ``{org_uscc}:{unit}``
    RECALL = "recall"  # a recall: ``{mah_uscc}:{recall_no}``


def document_subject(bill_type: str, org_uscc: str, document_no: str) -> str:
    """The subject naming one step's document."""
    return f"{bill_type}:{org_uscc}:{document_no}"


def batch_subject(mah_uscc: str, batch_no: str) -> str:
    """The subject naming one batch."""
    return f"{mah_uscc}:{batch_no}"


@dataclass(frozen=True, slots=True)
class RuleFinding:
    """One thing a rule found: which rule, about what, who owes the fix (``owing_uscc``),
    where (``division_code``: where the step at fault happened, which decides who sees it),
    when it happened (``occurred_at``, the business time of the step at fault, UTC) and the
    facts (``detail``: codes, the missing step, the times compared …; never personal data).
    ``(rule, subject_kind, subject)`` identifies it: found again, it is the same finding."""

    rule: str
    severity: Severity
    subject_kind: SubjectKind
    subject: str
    owing_uscc: str
    division_code: str
    occurred_at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.subject_kind.value, self.subject)
