"""Which registered child a roster row is (pure), and what the check says of it.

A row is matched **exactly** by its vaccination card number or resident id when the child
that holds it agrees with the row (same birth date, or a name scoring at least 0.6). Else it
is matched **by likeness**: the children near it (same-sounding name, same birth date with
the same surname, same guardian phone) are scored as duplicate detection scores a pair
(:mod:`vaxtrace.core.recipients.matching`: name, birth date, sex, guardian phone), over the
fields the row has (a roster without phones is scored on the other three), a name written
with other characters counting 0.9 of an exact one. The best child is the match when it
scores at least :data:`MATCH`, has the row's birth date or name exactly, and is the only
child at that score; children scoring at least :data:`CANDIDATE` otherwise make the row
``ambiguous`` (a question for the staff); none, ``no_match``.

A matched row is ``complete`` or ``incomplete`` by the schedule's school-entry check; a row
whose required fields could not be read is ``invalid``; a row naming a child an earlier row
already named (same card, resident id, or name, sex and birth date; or matched to the same
child) is ``duplicate_row`` of that row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from vaxtrace.core.recipients.matching import WEIGHTS, birth_score, name_score, phone_score
from vaxtrace.core.school_entry.roster import RosterRow

MATCH = 0.9
CANDIDATE = 0.75
AGREE_NAME = 0.6


class RowStatus(StrEnum):
    COMPLETE = "complete"  # matched; every dose due by school entry valid
    INCOMPLETE = "incomplete"  # matched; doses missing (补种)
    NO_MATCH = "no_match"  # no registered child is this one
    AMBIGUOUS = "ambiguous"  # several children may be this one, or the identifiers disagree
    INVALID = "invalid"  # a required field could not be read
    DUPLICATE_ROW = "duplicate_row"  # an earlier row names the same child


STATUSES = tuple(RowStatus)


@dataclass(frozen=True, slots=True)
class Known:
    """A registered child as matching sees it."""

    id: str
    site_uscc: str
    name: str
    sex: str
    birth_date: date
    phones: tuple[str, ...]
    card_no: str | None = None
    resident_id: str | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    child: Known
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """A row's match: the child (when one), how (``card_no``, ``resident_id`` or
    ``likeness``), and the candidates when ambiguous."""

    status: RowStatus | None  # None: matched (complete or not is the evaluation's to say)
    child: Known | None = None
    by: str | None = None
    score: float | None = None
    matched: tuple[str, ...] = ()
    candidates: tuple[Scored, ...] = ()


def _name(row_name: str, name: str) -> float:
    return 1.0 if row_name == name else 0.9 * name_score(row_name, name)


def score(row: RosterRow, child: Known) -> Scored:
    """How alike the row and the child are (0 to 1, over the fields the row has)."""
    assert row.name is not None and row.birth_date is not None
    parts = {
        "name": _name(row.name, child.name),
        "birth_date": birth_score(row.birth_date, child.birth_date),
        "sex": 1.0 if row.sex == child.sex else 0.0,
    }
    if row.phones:
        parts["guardian_phone"] = phone_score(row.phones, child.phones)
    total = sum(WEIGHTS[k] for k in parts)
    value = round(sum(WEIGHTS[k] * v for k, v in parts.items()) / total, 3)
    matched = [k for k, v in parts.items() if v == 1.0]
    if parts["name"] < 1.0 and parts["name"] >= 0.9:
        matched.append("name_pinyin")
    elif 0 < parts["name"] < 0.9 and parts["name"] >= 0.5:
        matched.append("name_similar")
    if 0 < parts["birth_date"] < 1.0:
        matched.append("birth_date_typo")
    if 0 < parts.get("guardian_phone", 0.0) < 1.0:
        matched.append("guardian_phone_typo")
    return Scored(child, value, tuple(matched))


def _agrees(row: RosterRow, child: Known) -> bool:
    if row.birth_date == child.birth_date:
        return True
    return row.name is not None and _name(row.name, child.name) >= AGREE_NAME


def decide(
    row: RosterRow,
    by_card: Known | None,
    by_resident_id: Known | None,
    near: Iterable[Known],
) -> Decision:
    """The row's match among the children found for it (``by_card``: the child holding the
    row's card number; ``by_resident_id``: its resident id; ``near``: children sharing a
    blocking key), as the module says."""
    if not row.valid:
        return Decision(RowStatus.INVALID)
    exact = [(k, c) for k, c in (("card_no", by_card), ("resident_id", by_resident_id)) if c]
    if exact:
        ids = {c.id for _, c in exact}
        if len(ids) == 1 and all(_agrees(row, c) for _, c in exact):
            by, child = exact[0]
            found = score(row, child)
            return Decision(None, child, by, found.score, (by, *found.matched))
        return Decision(
            RowStatus.AMBIGUOUS,
            candidates=tuple(score(row, c) for c in {c.id: c for _, c in exact}.values()),
        )
    scored = sorted(
        (s for s in (score(row, c) for c in {c.id: c for c in near}.values())),
        key=lambda s: (-s.score, s.child.id),
    )
    candidates = [s for s in scored if s.score >= CANDIDATE]
    if not candidates:
        return Decision(RowStatus.NO_MATCH)
    best = candidates[0]
    rivals = [s for s in candidates[1:] if s.score >= MATCH]
    exactly = best.child.birth_date == row.birth_date or best.child.name == row.name
    if best.score >= MATCH and exactly and not rivals:
        return Decision(None, best.child, "likeness", best.score, best.matched)
    return Decision(RowStatus.AMBIGUOUS, candidates=tuple(candidates[:5]))


def masked(name: str) -> str:
    """A name as a candidate shows it: first and last character (张*明, 李*)."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def candidate_view(candidate: Scored) -> dict[str, Any]:
    """An ambiguous row's candidate as the staff see it: masked, no phone, card or id."""
    child = candidate.child
    return {
        "child_id": child.id,
        "site_uscc": child.site_uscc,
        "name": masked(child.name),
        "sex": child.sex,
        "birth_date": child.birth_date.isoformat(),
        "score": candidate.score,
        "matched": list(candidate.matched),
    }


def counts(statuses: Iterable[str]) -> dict[str, int]:
    """How many rows have each status, and in all (``rows``)."""
    found = dict.fromkeys((s.value for s in RowStatus), 0)
    total = 0
    for status in statuses:
        found[status] += 1
        total += 1
    return {"rows": total, **found}


def add_counts(into: dict[str, int], more: Mapping[str, int]) -> dict[str, int]:
    return {k: into.get(k, 0) + more.get(k, 0) for k in set(into) | set(more)}


class Duplicates:
    """The rows seen so far, by what names a child: a later row naming one again is a
    duplicate of the first (bounded by the roster's row limit)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int] = {}

    def of_row(self, row: RosterRow) -> int | None:
        """The earlier row naming the same child as ``row``, else None (``row`` is kept)."""
        keys = row.keys()
        for key in keys:
            if key in self.seen:
                return self.seen[key]
        for key in keys:
            self.seen[key] = row.row
        return None

    def of_child(self, row: int, child_id: str) -> int | None:
        """The earlier row matched to ``child_id``, else None (``row`` is kept for it)."""
        key = ("child", child_id)
        if key in self.seen:
            return self.seen[key]
        self.seen[key] = row
        return None
