"""Identifiers around a trace code: USCC, resident id, drug standard code, division codes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import ean
from stdnum.cn import ric, uscc

from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import (
    DivisionCode,
    DivisionLevel,
    IdentifierError,
    validate_drug_standard_code,
    validate_resident_id,
    validate_uscc,
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z


def reason(call: object, value: str) -> str:
    with pytest.raises(IdentifierError) as info:
        call(value)  # type: ignore[operator]
    assert isinstance(info.value, DomainError)
    assert value in info.value.message or repr(value) in info.value.message
    return info.value.reason


# --- 统一社会信用代码 -------------------------------------------------------------------------


@st.composite
def usccs(draw: st.DrawFn) -> str:
    body = draw(st.from_regex(r"\A[0-9]{8}\Z")) + draw(
        st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9)
    )
    return body + uscc.calc_check_digit(body)


def test_a_known_valid_uscc() -> None:
    assert validate_uscc("91110000600037341L") == "91110000600037341L"


@pytest.mark.parametrize(
    "typed",
    ["91110000600037341l", " 91110000600037341L ", "91110000-600037341L", "9111 0000 6000 3734 1L"],
)
def test_uscc_is_returned_compact_and_upper_case(typed: str) -> None:
    assert validate_uscc(typed) == "91110000600037341L"


@settings(max_examples=200)
@given(usccs())
def test_generated_usccs_are_valid(value: str) -> None:
    assert validate_uscc(value) == value
    assert validate_uscc(value.lower()) == value


@settings(max_examples=100)
@given(usccs(), st.integers(min_value=0, max_value=17), st.sampled_from(USCC_ALPHABET))
def test_every_single_character_substitution_in_a_uscc_is_caught(
    value: str, position: int, char: str
) -> None:
    if value[position] == char:
        return
    typo = value[:position] + char + value[position + 1 :]
    with pytest.raises(IdentifierError) as info:
        validate_uscc(typo)
    expected = "uscc_format" if position < 8 and not char.isdigit() else "uscc_checksum"
    assert info.value.reason == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91110000600037341M", "uscc_checksum"),
        ("91110000600037341A", "uscc_checksum"),
        ("9111000060003734", "uscc_length"),
        ("91110000600037341L0", "uscc_length"),
        ("", "uscc_length"),
        ("9111000060003734IL", "uscc_format"),  # I is not in the alphabet
        ("91110000600037341O", "uscc_format"),
        ("9111000A600037341L", "uscc_format"),  # positions 1–8 are digits
        ("９１１１００００６０００３７３４１Ｌ", "uscc_format"),
    ],
)
def test_invalid_usccs(value: str, expected: str) -> None:
    assert reason(validate_uscc, value) == expected


# --- 居民身份证号码 ---------------------------------------------------------------------------


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    place = draw(st.sampled_from(["110105", "653101"]))  # places that existed since 1950
    born = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2024, 12, 31)))
    sequence = draw(st.from_regex(r"\A[0-9]{3}\Z"))
    body = f"{place}{born:%Y%m%d}{sequence}"
    return body + ric.calc_check_digit(body + "0")


def test_a_known_valid_resident_id() -> None:
    assert validate_resident_id("11010519491231002X") == "11010519491231002X"
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"


@settings(max_examples=200)
@given(resident_ids())
def test_generated_resident_ids_are_valid(value: str) -> None:
    assert validate_resident_id(value) == value


@settings(max_examples=100)
@given(resident_ids(), st.integers(min_value=14, max_value=17), st.sampled_from("0123456789X"))
def test_a_changed_sequence_or_check_digit_is_caught(value: str, position: int, char: str) -> None:
    if value[position] == char or (position < 17 and char == "X"):
        return
    typo = value[:position] + char + value[position + 1 :]
    assert reason(validate_resident_id, typo) == "resident_id_checksum"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110105194912310021", "resident_id_checksum"),
        ("11010519491231002", "resident_id_length"),
        ("110105491231002", "resident_id_length"),  # the old 15-digit form
        ("1101051949123100XX", "resident_id_format"),
    ],
)
def test_invalid_resident_ids(value: str, expected: str) -> None:
    assert reason(validate_resident_id, value) == expected


@pytest.mark.parametrize("born", ["19490231", "19491301", "19490000"])
def test_a_resident_id_with_an_impossible_birth_date(born: str) -> None:
    body = f"110105{born}002"
    value = body + ric.calc_check_digit(body + "0")
    assert reason(validate_resident_id, value) == "resident_id_component"


def test_a_resident_id_of_an_unknown_place() -> None:
    body = "99010519491231002"
    value = body + ric.calc_check_digit(body + "0")
    assert reason(validate_resident_id, value) == "resident_id_component"


# --- 药品本位码 -------------------------------------------------------------------------------


@st.composite
def drug_standard_codes(draw: st.DrawFn) -> str:
    body = "86" + draw(st.from_regex(r"\A[0-9]{11}\Z"))
    return body + ean.calc_check_digit(body)


def test_a_known_drug_standard_code() -> None:
    assert validate_drug_standard_code("86901234000012") == "86901234000012"
    assert validate_drug_standard_code(" 86901234000012\n") == "86901234000012"


@settings(max_examples=200)
@given(drug_standard_codes(), st.integers(min_value=2, max_value=13), st.sampled_from("0123456789"))
def test_drug_standard_code_catches_every_single_digit_substitution(
    value: str, position: int, digit: str
) -> None:
    assert validate_drug_standard_code(value) == value
    if value[position] == digit:
        return
    typo = value[:position] + digit + value[position + 1 :]
    assert reason(validate_drug_standard_code, typo) == "drug_standard_code_checksum"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("86901234000013", "drug_standard_code_checksum"),
        ("8690123400001", "drug_standard_code_length"),
        ("869012340000120", "drug_standard_code_length"),
        ("8690123400001A", "drug_standard_code_length"),
        ("", "drug_standard_code_length"),
        ("76901234000012", "drug_standard_code_format"),
        ("06901234000012", "drug_standard_code_format"),
        ("８６９０１２３４００００１２", "drug_standard_code_format"),
    ],
)
def test_invalid_drug_standard_codes(value: str, expected: str) -> None:
    assert reason(validate_drug_standard_code, value) == expected


# --- 行政区划代码 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level", "province", "city", "county"),
    [
        ("110000", DivisionLevel.PROVINCE, "110000", None, None),
        ("110100", DivisionLevel.CITY, "110000", "110100", None),
        ("110105", DivisionLevel.COUNTY, "110000", "110100", "110105"),
        ("440305", DivisionLevel.COUNTY, "440000", "440300", "440305"),
        ("469001", DivisionLevel.COUNTY, "460000", "469000", "469001"),  # 省直辖县级
    ],
)
def test_division_levels(
    value: str, level: DivisionLevel, province: str, city: str | None, county: str | None
) -> None:
    code = DivisionCode(value)
    assert code.level is level
    assert code.province == DivisionCode(province)
    assert code.city == (None if city is None else DivisionCode(city))
    assert code.county == (None if county is None else DivisionCode(county))
    assert str(code) == value


@pytest.mark.parametrize(
    "value", ["11000", "1100000", "11010A", "", "000000", "001000", "110001", "１１００００"]
)
def test_invalid_division_codes(value: str) -> None:
    with pytest.raises(IdentifierError) as info:
        DivisionCode(value)
    assert info.value.reason == "division_code_format"


@pytest.mark.parametrize(
    ("place", "area", "inside"),
    [
        ("110105", "110000", True),
        ("110105", "110100", True),
        ("110105", "110105", True),
        ("110100", "110000", True),
        ("110000", "110000", True),
        ("110105", "120000", False),
        ("110105", "110200", False),
        ("110105", "110106", False),
        ("110000", "110100", False),  # a province is not within its city
        ("110100", "110105", False),
        ("120105", "110000", False),
        ("111105", "110000", True),  # another city of province 11
        ("111105", "110100", False),
    ],
)
def test_is_within(place: str, area: str, inside: bool) -> None:
    assert DivisionCode(place).is_within(DivisionCode(area)) is inside


division_codes = st.builds(
    lambda p, c, k: DivisionCode(f"{p:02d}{c:02d}{k:02d}" if c else f"{p:02d}0000"),
    st.integers(min_value=11, max_value=82),
    st.integers(min_value=0, max_value=99),
    st.integers(min_value=0, max_value=99),
)


@given(division_codes, division_codes)
def test_is_within_is_a_partial_order_matching_the_hierarchy(
    a: DivisionCode, b: DivisionCode
) -> None:
    assert a.is_within(a)
    assert a.is_within(a.province)
    if a.city is not None:
        assert a.is_within(a.city)
        assert a.city.is_within(a.province)
    if a.is_within(b) and b.is_within(a):
        assert a == b
    if a.is_within(b):
        assert a.province == b.province
        if b.level is DivisionLevel.COUNTY:
            assert a == b
        if b.level is DivisionLevel.CITY:
            assert a.level is not DivisionLevel.PROVINCE and a.city == b


def test_division_codes_order_and_hash() -> None:
    codes = [DivisionCode("440305"), DivisionCode("110000"), DivisionCode("110105")]
    assert [str(c) for c in sorted(codes)] == ["110000", "110105", "440305"]
    assert len({DivisionCode("110105"), DivisionCode("110105")}) == 1
