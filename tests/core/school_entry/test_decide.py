"""Which registered child a roster row is: exactly by card or resident id when the child
agrees with the row, else by likeness (a single child scoring 0.9 with the row's birth date
or name), ambiguous when several may be it, no match when none; duplicate rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from vaxtrace.core.school_entry import Duplicates, Known, RosterRow, RowStatus, decide
from vaxtrace.core.school_entry.decide import candidate_view, counts

BORN = date(2019, 3, 1)


def row(number: int = 2, **extra: Any) -> RosterRow:
    values: dict[str, Any] = {
        "row": number,
        "name": "张晓明",
        "sex": "M",
        "birth_date": BORN,
        "phones": ("13800138000",),
        "card_no": None,
        "resident_id": None,
        "guardian": None,
        "class_name": None,
        "problems": (),
    }
    return RosterRow(**(values | extra))


def known(child_id: str = "ch-0000000000000001", **extra: Any) -> Known:
    values: dict[str, Any] = {
        "id": child_id,
        "site_uscc": "S1",
        "name": "张晓明",
        "sex": "M",
        "birth_date": BORN,
        "phones": ("13800138000",),
        "card_no": "320102-2019-0001",
    }
    return Known(**(values | extra))


def test_a_card_matches_when_the_child_agrees() -> None:
    child = known()
    found = decide(row(card_no="320102-2019-0001", name="张小明"), child, None, [])
    assert found.status is None and found.child == child and found.by == "card_no"
    stranger = known(name="李四", birth_date=date(2018, 1, 1))
    doubtful = decide(row(card_no="320102-2019-0001"), stranger, None, [])
    assert doubtful.status is RowStatus.AMBIGUOUS and doubtful.child is None
    assert [c.child.id for c in doubtful.candidates] == [stranger.id]


def test_card_and_resident_id_naming_two_children_is_ambiguous() -> None:
    first, second = known(), known("ch-0000000000000002")
    found = decide(row(card_no="X", resident_id="Y"), first, second, [])
    assert found.status is RowStatus.AMBIGUOUS and len(found.candidates) == 2


def test_likeness_matches_a_single_close_child() -> None:
    sound_alike = known(name="张小明")  # same pinyin, other characters
    found = decide(row(), None, None, [sound_alike])
    assert found.status is None and found.by == "likeness"
    assert "name_pinyin" in found.matched and found.score is not None and found.score >= 0.9
    no_phone = decide(row(phones=()), None, None, [known()])
    assert no_phone.status is None and no_phone.score == 1.0


def test_twins_are_told_apart_by_name() -> None:
    twin_a, twin_b = known(name="张一"), known("ch-0000000000000002", name="张二")
    found = decide(row(name="张一"), None, None, [twin_a, twin_b])
    assert found.child == twin_a


def test_two_close_children_make_the_row_ambiguous() -> None:
    exact, alike = known(), known("ch-0000000000000002", name="张小明")
    found = decide(row(), None, None, [alike, exact])
    assert found.status is RowStatus.AMBIGUOUS
    assert [c.child.id for c in found.candidates] == [exact.id, alike.id]
    view = candidate_view(found.candidates[1])
    assert view["name"] == "张*明" and "phones" not in view and "card_no" not in view


def test_a_weak_likeness_is_no_match_or_a_question() -> None:
    far = known(name="王五", birth_date=date(2018, 5, 5), phones=("13900000000",))
    assert decide(row(), None, None, [far]).status is RowStatus.NO_MATCH
    assert decide(row(), None, None, []).status is RowStatus.NO_MATCH
    typo_and_other_sex = known(sex="F", birth_date=date(2019, 3, 10))
    found = decide(row(), None, None, [typo_and_other_sex])
    assert found.status is RowStatus.AMBIGUOUS  # a question for the staff, not a match


def test_an_invalid_row_is_not_matched() -> None:
    found = decide(row(birth_date=None), None, None, [known()])
    assert found.status is RowStatus.INVALID


def test_duplicate_rows_and_counts() -> None:
    seen = Duplicates()
    assert seen.of_row(row(2, card_no="C1")) is None
    assert seen.of_row(row(3, name="李四", card_no="C1")) == 2  # the same card
    assert seen.of_row(row(4, card_no=None)) == 2  # the same name, sex and birth date
    assert seen.of_row(row(5, name="王五")) is None
    assert seen.of_child(5, "ch-1") is None and seen.of_child(9, "ch-1") == 5
    tally = counts(["complete", "complete", "no_match"])
    assert tally["rows"] == 3 and tally["complete"] == 2 and tally["ambiguous"] == 0
