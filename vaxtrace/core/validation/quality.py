"""How well the rules detect what was planted (检出质量): per rule, the anomalies labelled, the
findings made, how many of them were planted (true positives), precision and recall. The
labels come from the simulator; a finding matches a label on rule and subject."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vaxtrace.core.validation.rules import RULES

Key = tuple[str, str]
"""A rule id and a subject."""


@dataclass(frozen=True, slots=True)
class RuleQuality:
    """One rule's line of the detection table."""

    rule: str
    labelled: int
    found: int
    true_positives: int

    @property
    def false_positives(self) -> int:
        return self.found - self.true_positives

    @property
    def precision(self) -> float | None:
        """Share of the findings that were planted (None when nothing was found)."""
        return self.true_positives / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        """Share of the planted anomalies found (None when none was planted)."""
        return self.true_positives / self.labelled if self.labelled else None

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "labelled": self.labelled,
            "found": self.found,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "precision": self.precision,
            "recall": self.recall,
        }


def detection_table(labelled: Iterable[Key], found: Iterable[Key]) -> list[RuleQuality]:
    """One line per rule, in the rules' order (and any other rule a label names, after)."""
    planted, made = set(labelled), set(found)
    rules = [r.id.value for r in RULES]
    rules += sorted({rule for rule, _ in planted | made} - set(rules))
    return [
        RuleQuality(
            rule=rule,
            labelled=sum(1 for r, _ in planted if r == rule),
            found=sum(1 for r, _ in made if r == rule),
            true_positives=sum(1 for key in made & planted if key[0] == rule),
        )
        for rule in rules
    ]


LABELS_FILE = "anomalies.json"
"""Where ``vaxtrace demo --anomalies`` leaves the labels of what it planted, in the data
directory: a JSON list of ``{"rule", "subject_kind", "subject"}``."""


def read_labels(document: object) -> list[Key]:
    """The (rule, subject) of each label of a labels document; a malformed one is refused."""
    if not isinstance(document, list):
        raise ValueError("a labels file holds a JSON list of {rule, subject_kind, subject}")
    keys: list[Key] = []
    for n, label in enumerate(document):
        if not isinstance(label, dict) or not {"rule", "subject"} <= set(label):
            raise ValueError(f"label {n} names no rule and subject: {label!r}")
        keys.append((str(label["rule"]), str(label["subject"])))
    return keys
