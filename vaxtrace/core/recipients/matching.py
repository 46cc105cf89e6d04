"""Duplicate-child detection (查重), pure: candidates by name, birth date, sex and guardian
phone, tolerant of pinyin/phonetic variants and typos.

Names are compared twice: as characters (a typo, a missing character: 张晓明 / 张晓朋) and as
*fuzzy pinyin* (same sound, other characters: 张晓明 / 张小明 / 章晓鸣), where the syllables of
``pypinyin`` are folded the way input methods' 模糊音 fold them (zh/z, ch/c, sh/s, l/n, final
-ng/-n), so a name keyed by ear matches the name keyed from the card. Each is a
``difflib`` ratio; the name's score is the higher.

A pair's score (0 to 1) weighs name 0.45, birth date 0.30 (a one-digit typo or a swapped month
and day counts 0.7 of it), sex 0.10 and a shared guardian phone 0.15 (one digit off: half).
A pair scoring at least :data:`THRESHOLD` is a candidate; the same resident id is a candidate
whatever else. Twins of one sex score as candidates (same birth date and phone, similar
names): a candidate is a question for the staff, never a merge.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import combinations

from pypinyin import Style, lazy_pinyin

THRESHOLD = 0.75
WEIGHTS = {"name": 0.45, "birth_date": 0.30, "sex": 0.10, "guardian_phone": 0.15}

_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


def _fold(syllable: str) -> str:
    for long, short in _INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FINALS:
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


@lru_cache(maxsize=65_536)
def syllables(name: str) -> tuple[str, ...]:
    """The name's fuzzy pinyin, a syllable a character (other text lowercased, by letter)."""
    out: list[str] = []
    for part in lazy_pinyin(name, style=Style.NORMAL, errors="default"):
        if re.fullmatch(r"[a-z]+", part):
            out.append(_fold(part))
        else:
            out.extend(ch.lower() for ch in part if not ch.isspace() and ch not in "·•.")
    return tuple(out)


def name_key(name: str) -> str:
    """The fuzzy pinyin as one key (names that sound alike share it): what the store
    indexes to find candidates."""
    return " ".join(syllables(name))[:100]


def name_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    chars = SequenceMatcher(None, a, b).ratio()
    sounds = SequenceMatcher(None, syllables(a), syllables(b)).ratio()
    return max(chars, sounds)


def _one_typo(a: str, b: str) -> bool:
    """Same length, one character different, or two neighbours swapped."""
    if len(a) != len(b):
        return False
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diffs) == 1:
        return True
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]]


def birth_score(a: date, b: date) -> float:
    if a == b:
        return 1.0
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return 0.7
    return 0.7 if _one_typo(a.isoformat(), b.isoformat()) else 0.0


def phone_score(a: Iterable[str], b: Iterable[str]) -> float:
    first, second = set(a), set(b)
    if first & second:
        return 1.0
    return 0.5 if any(_one_typo(x, y) for x in first for y in second) else 0.0


@dataclass(frozen=True, slots=True)
class Person:
    """What duplicate detection compares of a child."""

    id: str
    site_uscc: str
    name: str
    sex: str
    birth_date: date
    phones: tuple[str, ...]
    resident_id: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible duplicate of ``of``: ``other``, its score and what matched."""

    of: Person
    other: Person
    score: float
    matched: tuple[str, ...]


def compare(a: Person, b: Person) -> Candidate | None:
    """The pair as a candidate, or None when it scores under the threshold."""
    if a.resident_id is not None and a.resident_id == b.resident_id:
        return Candidate(a, b, 1.0, ("resident_id",))
    parts = {
        "name": name_score(a.name, b.name),
        "birth_date": birth_score(a.birth_date, b.birth_date),
        "sex": 1.0 if a.sex == b.sex else 0.0,
        "guardian_phone": phone_score(a.phones, b.phones),
    }
    score = round(sum(WEIGHTS[k] * v for k, v in parts.items()), 3)
    if score < THRESHOLD:
        return None
    return Candidate(a, b, score, _matched(a, b, parts))


def _matched(a: Person, b: Person, parts: dict[str, float]) -> tuple[str, ...]:
    found: list[str] = []
    if a.name == b.name:
        found.append("name")
    elif syllables(a.name) == syllables(b.name):
        found.append("name_pinyin")
    elif parts["name"] >= 0.5:
        found.append("name_similar")
    if parts["birth_date"] == 1.0:
        found.append("birth_date")
    elif parts["birth_date"] > 0:
        found.append("birth_date_typo")
    if parts["sex"]:
        found.append("sex")
    if parts["guardian_phone"] == 1.0:
        found.append("guardian_phone")
    elif parts["guardian_phone"] > 0:
        found.append("guardian_phone_typo")
    return tuple(found)


def candidates(new: Person, known: Iterable[Person]) -> list[Candidate]:
    """The known children that may be ``new``, best first."""
    found = [c for other in known if other.id != new.id and (c := compare(new, other))]
    return sorted(found, key=lambda c: (-c.score, c.other.id))


def blocks(person: Person) -> list[tuple[str, str]]:
    """The keys a candidate must share with ``person`` at least one of (same-sounding name,
    same birth date, same guardian phone, same resident id): what keeps a nightly pass over
    a province's children from comparing every pair."""
    keys = [("name", name_key(person.name)), ("birth", person.birth_date.isoformat())]
    keys.extend(("phone", p) for p in person.phones)
    if person.resident_id:
        keys.append(("rid", person.resident_id))
    return keys


def duplicate_pairs(people: Sequence[Person]) -> list[Candidate]:
    """Every candidate pair among ``people`` (each once, the lower id first), best first."""
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, person in enumerate(people):
        for key in blocks(person):
            by_key[key].append(i)
    seen: set[tuple[int, int]] = set()
    found: list[Candidate] = []
    for members in by_key.values():
        for i, j in combinations(members, 2):
            pair = (i, j) if people[i].id < people[j].id else (j, i)
            if pair in seen:
                continue
            seen.add(pair)
            candidate = compare(people[pair[0]], people[pair[1]])
            if candidate is not None:
                found.append(candidate)
    return sorted(found, key=lambda c: (-c.score, c.of.id, c.other.id))
