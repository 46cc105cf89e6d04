"""Duplicate-child matching and the schedule vaccine of a product, pure: pinyin and typo
tolerant, never a candidate for children who merely share a birthday."""

from __future__ import annotations

from datetime import date

import pytest

from vaxtrace.core.recipients import Person, candidates, duplicate_pairs, vaccine_of
from vaxtrace.core.recipients.matching import birth_score, name_key, name_score
from vaxtrace.core.schedule import national_schedule

BORN = date(2023, 7, 14)


def person(n: int, name: str, born: date = BORN, sex: str = "F", *phones: str) -> Person:
    return Person(f"ch-{n:016x}", "site", name, sex, born, phones or (f"1380000{n:04d}",))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("张晓明", "张小明"),  # same sound, another character
        ("陈思", "程思"),  # chen / cheng: a final -ng folded
        ("刘娜", "牛娜"),  # liu / niu: l and n folded
        ("周杰", "邹杰"),  # zhou / zou
    ],
)
def test_names_that_sound_alike_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)
    assert name_score(a, b) == 1.0


def test_a_typo_or_a_sound_alike_is_a_candidate_a_birthday_alone_is_not() -> None:
    known = [
        person(1, "张晓明", BORN, "M", "13800001111"),
        person(2, "王芳", BORN, "F"),
        person(3, "张晓明", date(2023, 7, 15), "M", "13800001111"),  # a day typo
        person(4, "李建国", BORN, "M"),
    ]
    new = person(9, "张小明", BORN, "M", "13800001112")  # phone one digit off
    found = candidates(new, known)
    assert [c.other.id for c in found] == [known[0].id, known[2].id]
    assert found[0].matched == ("name_pinyin", "birth_date", "sex", "guardian_phone_typo")
    assert "birth_date_typo" in found[1].matched


def test_a_swapped_month_and_day_is_a_typo() -> None:
    assert birth_score(date(2023, 7, 4), date(2023, 4, 7)) == 0.7
    assert birth_score(date(2023, 7, 4), date(2021, 3, 9)) == 0.0


def test_the_same_resident_id_is_a_candidate_whatever_else() -> None:
    a = Person("ch-1", "s", "甲", "M", BORN, ("13800000001",), "110105194912310029")
    b = Person("ch-2", "s", "乙", "F", date(2020, 1, 1), ("13900000001",), "110105194912310029")
    (found,) = candidates(a, [b])
    assert found.matched == ("resident_id",) and found.score == 1.0


def test_the_pass_finds_each_pair_once() -> None:
    people = [
        person(1, "刘洋", BORN, "M", "13800000001"),
        person(2, "牛洋", BORN, "M", "13800000001"),
        person(3, "赵敏", date(2022, 1, 2), "F"),
        person(4, "赵敏", date(2022, 2, 1), "F"),  # month and day swapped
        person(5, "孙悦", date(2021, 5, 5), "F"),
    ]
    pairs = duplicate_pairs(people)
    assert sorted((p.of.id, p.other.id) for p in pairs) == [
        (people[0].id, people[1].id),
        (people[2].id, people[3].id),
    ]


@pytest.mark.parametrize(
    ("code", "name", "vaccine"),
    [
        ("HEPB-10", None, "HepB"),
        ("X1", "重组乙型肝炎疫苗(酿酒酵母)", "HepB"),
        ("X2", "吸附无细胞百白破联合疫苗", "DTaP"),
        ("X3", "吸附白喉破伤风联合疫苗", "DT"),
        ("X4", "A群C群脑膜炎球菌多糖疫苗", "MPSV-AC"),
        ("X5", "甲型肝炎灭活疫苗", "HepA-I"),
        ("JE-L", None, "JE-L"),
        ("X6", "人用狂犬病疫苗", None),  # not a programme vaccine
        (None, None, None),
    ],
)
def test_the_schedule_vaccine_of_a_product(
    code: str | None, name: str | None, vaccine: str | None
) -> None:
    assert vaccine_of(code, name, national_schedule().products) == vaccine
