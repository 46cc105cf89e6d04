"""Trace codes of both NMPAB/T 1002 families: issue, read (typed, printed, scanned), write out."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from stdnum import ean
from stdnum.iso7064 import mod_97_10

from vaxtrace.core.codes import (
    GS,
    VT_CHECK_ALGORITHM,
    CodeError,
    CodeFamily,
    TraceCode,
    canonical_value,
    digital_link,
    element_string,
    format_human,
    gs1_canonical,
    has_vt_check,
    issue_nmpa20,
    listed_values,
    parse_code,
    split_canonical,
    vt_check_digits,
)
from vaxtrace.core.errors import DomainError

GTIN = "06901234567892"  # 0 + 690123456789 + check digit 2
BAD_GTIN = "06901234567891"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

identification_codes = st.from_regex(r"\A8[0-9]{6}\Z")
serial_numbers = st.integers(min_value=0, max_value=10**9 - 1)
vt_codes = st.builds(issue_nmpa20, identification_codes, serial_numbers)
gs1_serials = st.text(alphabet=ALNUM, min_size=1, max_size=20)
batch_numbers = st.text(alphabet=ALNUM, min_size=1, max_size=20)
expiry_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2049, 12, 31))


@st.composite
def gtins(draw: st.DrawFn) -> str:
    body = draw(st.from_regex(r"\A[0-8][0-9]{12}\Z"))
    return body + ean.calc_check_digit(body)


def reason_of(text: str) -> str:
    with pytest.raises(CodeError) as info:
        parse_code(text)
    return info.value.reason


# --- the VT-MOD97-10x2 check and our own 20-digit codes -------------------------------------


def test_check_algorithm_is_named_for_the_coding_rule() -> None:
    assert VT_CHECK_ALGORITHM == "VT-MOD97-10x2"


@given(st.from_regex(r"\A[0-9]{16}\Z"))
@example("0000000000000000")  # n * 100 mod 97 == 0: "98", never "01"
@example("9700000000000000")
def test_check_digits_are_iso7064_mod97_10_forwards_then_backwards(data16: str) -> None:
    check = vt_check_digits(data16)
    assert len(check) == 4 and check.isdigit()
    # the exact values of python-stdnum (02–98), not merely congruent ones: issued codes depend
    # on them, so any faster reimplementation must agree digit for digit
    assert check[:2] == mod_97_10.calc_check_digits(data16)
    assert check[2:] == mod_97_10.calc_check_digits(data16[::-1])
    assert mod_97_10.is_valid(data16 + check[:2])
    assert mod_97_10.is_valid(data16[::-1] + check[2:])


def test_check_digits_known_value() -> None:
    # fixed once, so a change of algorithm (which would orphan every issued code) is noticed
    assert vt_check_digits("8123456000000042") == "8410"
    assert issue_nmpa20("8123456", 42) == "81234560000000428410"


@pytest.mark.parametrize("data", ["", "812345600000004", "81234560000000421", "812345600000004A"])
def test_check_digits_need_16_digits(data: str) -> None:
    with pytest.raises(CodeError) as info:
        vt_check_digits(data)
    assert info.value.reason == "bad_length"


def test_check_digits_refuse_non_ascii_digits() -> None:
    with pytest.raises(CodeError):
        vt_check_digits("８１２３４５６０００００００４２")


@pytest.mark.parametrize(
    "code",
    [
        "8123456000000042841",  # 19
        "812345600000004284100",  # 21
        "8123456000000042841A",
        "8123456 000000042841",
        "²" * 20,  # str.isdigit() is True for superscripts; must not raise
        "８１２３４５６０００００００４２８４１０",  # full-width digits
    ],
)
def test_has_vt_check_is_false_for_anything_but_20_ascii_digits(code: str) -> None:
    assert has_vt_check(code) is False


@given(identification_codes, serial_numbers)
def test_issue_then_parse_round_trip(identification_code: str, serial: int) -> None:
    code = issue_nmpa20(identification_code, serial)
    assert len(code) == 20 and code.isdigit()
    assert code.startswith(identification_code)
    assert code[7:16] == f"{serial:09d}"
    assert has_vt_check(code)
    parsed = parse_code(code)
    assert parsed == TraceCode(
        family=CodeFamily.NMPA20,
        value=code,
        identification_code=identification_code,
        serial=f"{serial:09d}",
    )
    # printed 7 + 13 under the barcode, read back by a person
    printed = format_human(parsed)
    assert printed == f"{code[:7]} {code[7:]}"
    assert parse_code(printed) == parsed
    assert split_canonical(parsed.value) == parsed


@settings(max_examples=300)
@given(vt_codes)
@example("81234560000000428410")
@example(issue_nmpa20("8000000", 0))
@example(issue_nmpa20("8999999", 10**9 - 1))
def test_every_single_substitution_and_adjacent_transposition_breaks_the_check(
    code: str,
) -> None:
    assert has_vt_check(code)
    for position in range(20):
        for digit in "0123456789":
            if digit == code[position]:
                continue
            typo = code[:position] + digit + code[position + 1 :]
            assert not has_vt_check(typo), f"substitution at {position + 1}: {typo}"
    for position in range(19):
        a, b = code[position], code[position + 1]
        if a == b:
            continue
        typo = code[:position] + b + a + code[position + 2 :]
        assert not has_vt_check(typo), f"transposition at {position + 1}/{position + 2}: {typo}"


@pytest.mark.parametrize(
    ("identification_code", "reason"),
    [
        ("812345", "bad_identification_code"),
        ("81234567", "bad_identification_code"),
        ("812345A", "bad_identification_code"),
        ("８１２３４５６", "bad_identification_code"),
        ("", "bad_identification_code"),
    ],
)
def test_issue_refuses_a_bad_identification_code(identification_code: str, reason: str) -> None:
    with pytest.raises(CodeError) as info:
        issue_nmpa20(identification_code, 1)
    assert info.value.reason == reason


@pytest.mark.parametrize("serial", [-1, 10**9, 10**12])
def test_issue_refuses_a_serial_out_of_range(serial: int) -> None:
    with pytest.raises(CodeError) as info:
        issue_nmpa20("8123456", serial)
    assert info.value.reason == "serial_out_of_range"


def test_issue_accepts_the_serial_bounds() -> None:
    assert issue_nmpa20("8123456", 0)[7:16] == "000000000"
    assert issue_nmpa20("8123456", 10**9 - 1)[7:16] == "999999999"


def test_code_error_is_a_domain_error_with_reason_and_message() -> None:
    with pytest.raises(DomainError) as info:
        parse_code("")
    assert isinstance(info.value, CodeError)
    assert info.value.reason == "empty"
    assert str(info.value) == info.value.message


# --- reading a 20-digit code -----------------------------------------------------------------

VT = "81234560000000428410"


@pytest.mark.parametrize(
    "text",
    [
        VT,
        "8123456 0000000428410",  # printed 7 + 13
        "8123456  0000000428410",
        "8123456-0000000428410",
        f" {VT}\r\n",  # scanner's Enter
        f"\t{VT}",
        "8123 4560 0000 0042 8410",
    ],
)
def test_a_20_digit_code_is_read_however_it_is_typed(text: str) -> None:
    parsed = parse_code(text)
    assert parsed.family is CodeFamily.NMPA20
    assert parsed.value == VT
    assert parsed.identification_code == "8123456"
    assert parsed.serial == "000000042"
    assert (parsed.batch_no, parsed.expiry, parsed.production_date) == (None, None, None)


def test_a_foreign_20_digit_code_is_only_format_checked() -> None:
    foreign = "81234560000000420000"  # no VaxTrace check, yet well-formed
    assert not has_vt_check(foreign)
    assert parse_code(foreign).value == foreign


def test_special_control_codes_beginning_89_are_read() -> None:
    code = issue_nmpa20("8912345", 7)
    assert parse_code(code).identification_code == "8912345"


@pytest.mark.parametrize("first", "012345679")
def test_a_20_digit_code_not_beginning_with_8_has_a_bad_prefix(first: str) -> None:
    code = first + VT[1:]
    with pytest.raises(CodeError) as info:
        parse_code(code)
    assert info.value.reason == "bad_prefix"
    assert f"begins with {first}" in info.value.message


@pytest.mark.parametrize(
    ("text", "got"),
    [
        (VT[:-1], 19),  # a digit lost in typing
        (VT[:13], 13),
        ("8123456 000000042841", 19),
        ("8", 1),
        (VT + "1", 21),
        (VT + "12", 22),
    ],
)
def test_a_20_digit_code_of_the_wrong_length(text: str, got: int) -> None:
    with pytest.raises(CodeError) as info:
        parse_code(text)
    assert info.value.reason == "bad_length"
    assert f"got {got}" in info.value.message


@pytest.mark.parametrize("text", ["", "   ", "\r\n", "\t \n"])
def test_nothing_given(text: str) -> None:
    assert reason_of(text) == "empty"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("abc", "unparseable"), ("??", "unparseable"), ("hello world", "bad_characters")],
)
def test_junk(text: str, reason: str) -> None:
    assert reason_of(text) == reason


# --- GS1: canonical value and the forms it travels in -----------------------------------------


def test_canonical_form() -> None:
    assert gs1_canonical(GTIN, "ABC123") == "010690123456789221ABC123"


def test_split_canonical_reads_both_families() -> None:
    gs1 = split_canonical("010690123456789221ABC123")
    assert gs1 == TraceCode(CodeFamily.GS1, "010690123456789221ABC123", GTIN, "ABC123")
    assert split_canonical(VT).family is CodeFamily.NMPA20
    with pytest.raises(CodeError) as info:
        split_canonical("not a code")
    assert info.value.reason == "unparseable"


def test_a_gs1_code_with_a_two_digit_serial_is_not_taken_for_a_20_digit_code() -> None:
    # 01 + GTIN-14 + 21 + 2 digits is 20 digits long too
    value = gs1_canonical(GTIN, "12")
    assert len(value) == 20 and value.isdigit()
    for read in (parse_code(value), split_canonical(value)):
        assert read.family is CodeFamily.GS1
        assert (read.value, read.identification_code, read.serial) == (value, GTIN, "12")


@st.composite
def gs1_codes(draw: st.DrawFn) -> TraceCode:
    gtin, serial = draw(gtins()), draw(gs1_serials)
    return TraceCode(CodeFamily.GS1, gs1_canonical(gtin, serial), gtin, serial)


def _same_code(read: TraceCode, code: TraceCode) -> None:
    assert read.family is CodeFamily.GS1
    assert read.value == code.value
    assert read.identification_code == code.identification_code
    assert read.serial == code.serial


@settings(max_examples=200)
@given(gs1_codes(), batch_numbers, expiry_dates, st.sampled_from(["", "]d2", "]C1"]))
@example(
    TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "12"), GTIN, "12"), "B1", date(2026, 5, 31), ""
)
@example(
    TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "111111111"), GTIN, "111111111"),
    "10B17260531",
    date(2026, 5, 31),
    "]d2",
)
def test_element_string_with_batch_round_trips(
    code: TraceCode, batch_no: str, expiry: date, prefix: str
) -> None:
    text = element_string(code, batch_no=batch_no, expiry=expiry)
    assert GS in text
    read = parse_code(prefix + text)
    _same_code(read, code)
    assert read.batch_no == batch_no
    assert read.expiry == expiry
    assert read.production_date is None


@settings(max_examples=200)
@given(gs1_codes(), st.sampled_from(["https://id.gs1.org", "https://trace.example.cn/"]))
def test_digital_link_round_trips(code: TraceCode, base: str) -> None:
    link = digital_link(code, base)
    assert link == f"{base.rstrip('/')}/01/{code.identification_code}/21/{code.serial}"
    _same_code(parse_code(link), code)


@settings(max_examples=200)
@given(gs1_codes())
def test_human_readable_form_round_trips(code: TraceCode) -> None:
    printed = format_human(code)
    assert printed == f"(01){code.identification_code}(21){code.serial}"
    _same_code(parse_code(printed), code)


# A serial whose tail reads as (11) or (17) + a date is ambiguous when no GS is present at all:
# a scanner that dropped GS would send the same text. Such a scan is refused by design.
_DATE_TAIL = re.compile(r"1[17][0-9]{6}")


@settings(max_examples=300)
@given(gs1_codes(), st.one_of(st.none(), expiry_dates))
@example(TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "A17260531"), GTIN, "A17260531"), None)
@example(
    TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "A17260531"), GTIN, "A17260531"), date(2026, 1, 1)
)
def test_element_string_without_gs_round_trips_unless_ambiguous(
    code: TraceCode, expiry: date | None
) -> None:
    text = element_string(code, expiry=expiry)
    assert GS not in text
    if expiry is None:
        assert text == code.value
    try:
        read = parse_code(text)
    except CodeError as exc:
        assert exc.reason == "gs_separator_missing"
        assert _DATE_TAIL.search(code.serial[1:]), code.serial
        return
    _same_code(read, code)
    assert read.expiry == expiry


@settings(max_examples=200)
@given(gs1_codes())
@example(TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "12"), GTIN, "12"))  # 20 digits long
@example(TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "0"), GTIN, "0"))
@example(TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "8" * 20), GTIN, "8" * 20))
def test_canonical_value_without_date_like_tail_always_round_trips(code: TraceCode) -> None:
    assume(not _DATE_TAIL.search(code.serial))
    _same_code(parse_code(code.value), code)
    assert split_canonical(code.value) == code


def test_a_serial_that_repeats_an_ai_already_present_was_not_swallowed() -> None:
    # (17) is already in the message, so the serial's "17260531" is part of the serial
    text = f"01{GTIN}1726053121A17260531"
    read = parse_code(text)
    assert read.serial == "A17260531"
    assert read.expiry == date(2026, 5, 31)


def test_ambiguous_serial_without_any_gs_is_refused_by_policy() -> None:
    with pytest.raises(CodeError) as info:
        parse_code(gs1_canonical(GTIN, "A17260531"))
    assert info.value.reason == "gs_separator_missing"


def test_gs1_fields_are_read() -> None:
    read = parse_code(f"]d201{GTIN}112501011726053110BATCH1{GS}21SER1")
    assert read.value == gs1_canonical(GTIN, "SER1")
    assert read.batch_no == "BATCH1"
    assert read.expiry == date(2026, 5, 31)
    assert read.production_date == date(2025, 1, 1)


def test_expiry_day_00_means_end_of_month() -> None:
    read = parse_code(f"01{GTIN}1726020010B1{GS}21S1")
    assert read.expiry == date(2026, 2, 28)


# --- scanner input --------------------------------------------------------------------------

SCANS = [
    f"]d201{GTIN}1726053110B1{GS}21ABC123",
    f"]C101{GTIN}1726053110B1{GS}21ABC123",
    f"01{GTIN}1726053110B1{GS}21ABC123",
    f"{GS}01{GTIN}1726053110B1{GS}21ABC123",  # FNC1 in first position sent as GS
    f"]d201{GTIN}21ABC123{GS}1726053110B1",  # serial first, GS after it
    f"01{GTIN}21ABC123{GS}10B1{GS}17260531",
    f"(01){GTIN}(17)260531(10)B1(21)ABC123",
    f"(01){GTIN}(21)ABC123(10)B1(17)260531",
    f"https://id.gs1.org/01/{GTIN}/21/ABC123?17=260531&10=B1",
    f"HTTPS://id.gs1.org/01/{GTIN}/10/B1/21/ABC123?17=260531",
    f"]d201{GTIN}1726053110B1{GS}21ABC123\r\n",
]


@pytest.mark.parametrize("scan", SCANS)
def test_scanner_input_forms(scan: str) -> None:
    read = parse_code(scan)
    assert read.family is CodeFamily.GS1
    assert read.value == gs1_canonical(GTIN, "ABC123")
    assert read.identification_code == GTIN
    assert read.serial == "ABC123"
    assert read.batch_no == "B1"
    assert read.expiry == date(2026, 5, 31)


@pytest.mark.parametrize("prefix", ["]d2", "]C1", "]Q3", "]e0", "]J1"])
def test_symbology_prefixes_are_stripped_from_20_digit_codes_too(prefix: str) -> None:
    assert parse_code(prefix + VT).value == VT


@pytest.mark.parametrize(
    ("scan", "ai", "swallowed"),
    [
        # 21 swallows (10)…(17)…
        (f"01{GTIN}21ABC12310B117260531", "21", "(17)260531"),
        (f"]d201{GTIN}21ABC12310B117260531", "21", "(17)260531"),
        (f"]C101{GTIN}21ABC1231726053110B1", "21", "(17)260531"),
        (f"01{GTIN}21ABC1231125010110B1", "21", "(11)250101"),
        # 10 swallows (21)…: the serial is there, only the separator is missing
        (f"01{GTIN}1726053110B121ABC123", "10", "(21)ABC123"),
        (f"]d201{GTIN}1726053110B121ABC123", "10", "(21)ABC123"),
    ],
)
def test_missing_gs_separator_is_named(scan: str, ai: str, swallowed: str) -> None:
    with pytest.raises(CodeError) as info:
        parse_code(scan)
    assert info.value.reason == "gs_separator_missing"
    message = info.value.message
    assert "GS separator" in message and "missing" in message
    assert f"AI ({ai})" in message
    assert swallowed in message


@pytest.mark.parametrize(
    "scan",
    [
        f"01{BAD_GTIN}21ABC123",
        f"]d201{BAD_GTIN}1726053110B1{GS}21ABC123",
        f"(01){BAD_GTIN}(21)ABC123",
        f"https://id.gs1.org/01/{BAD_GTIN}/21/ABC123",
    ],
)
def test_bad_gtin_check_digit(scan: str) -> None:
    with pytest.raises(CodeError) as info:
        parse_code(scan)
    assert info.value.reason == "gs1_bad_gtin"
    assert "(01)" in info.value.message


@pytest.mark.parametrize(
    "scan",
    [
        f"01{GTIN}",
        f"01{GTIN}10B1",
        f"]d201{GTIN}1726053110B1",
        f"(01){GTIN}",
        f"(01){GTIN}(10)B1(17)260531",
        f"https://id.gs1.org/01/{GTIN}",
        f"https://id.gs1.org/01/{GTIN}/10/B1",
    ],
)
def test_missing_serial(scan: str) -> None:
    assert reason_of(scan) == "gs1_missing_serial"


@pytest.mark.parametrize("scan", ["(21)ABC123", "(10)B1(21)ABC123", "10B1\x1d21ABC123"])
def test_missing_gtin(scan: str) -> None:
    assert reason_of(scan) == "gs1_missing_gtin"


def test_gs1_element_string_with_spaces() -> None:
    assert reason_of(f"01{GTIN} 21ABC123") == "bad_characters"


@pytest.mark.parametrize(
    "url", ["https://example.com/foo", "https://id.gs1.org/", "http://id.gs1.org/21/ABC"]
)
def test_url_that_is_no_digital_link(url: str) -> None:
    assert reason_of(url) == "unparseable"


def test_gtin_13_and_shorter_are_normalised_to_gtin_14_in_digital_link() -> None:
    read = parse_code("https://id.gs1.org/01/6901234567892/21/ABC123")
    assert read.identification_code == GTIN
    assert read.value == gs1_canonical(GTIN, "ABC123")


def test_percent_encoded_serial_in_digital_link() -> None:
    code = TraceCode(CodeFamily.GS1, gs1_canonical(GTIN, "A/B"), GTIN, "A/B")
    link = digital_link(code)
    assert link.endswith("/21/A%2FB")
    assert parse_code(link).serial == "A/B"


# --- writing out ----------------------------------------------------------------------------


def test_element_string_layout() -> None:
    code = parse_code(gs1_canonical(GTIN, "S1"))
    assert element_string(code) == f"01{GTIN}21S1"
    assert element_string(code, expiry=date(2026, 5, 31)) == f"01{GTIN}1726053121S1"
    assert element_string(code, batch_no="B1") == f"01{GTIN}10B1{GS}21S1"
    assert (
        element_string(code, batch_no="B1", expiry=date(2026, 5, 31))
        == f"01{GTIN}1726053110B1{GS}21S1"
    )


def test_nmpa20_codes_have_no_gs1_forms() -> None:
    code = parse_code(VT)
    for write in (element_string, digital_link):
        with pytest.raises(CodeError) as info:
            write(code)
        assert info.value.reason == "not_gs1"
    assert format_human(code) == "8123456 0000000428410"


@given(
    st.one_of(
        vt_codes,
        st.from_regex(r"\A8[0-9]{19}\Z"),
        st.from_regex(r"\A[ \]dC2]{0,3}[0-9\- ]{18,24}\Z"),
        st.text(alphabet="0189 -()\x1d", max_size=30),
    )
)
@example("")
@example("0100000000000000")
@example("８0000000000600011743")  # a full-width digit is no digit
def test_canonical_value_is_what_parse_code_reads(text: str) -> None:
    try:
        expected = parse_code(text).value
    except CodeError as exc:
        with pytest.raises(CodeError) as info:
            canonical_value(text)
        assert info.value.reason == exc.reason
        return
    assert canonical_value(text) == expected


def test_a_documents_codes_are_listed_in_canonical_form_each_once() -> None:
    dose = issue_nmpa20("8123456", 42)
    gs1 = gs1_canonical(GTIN, "A1")
    assert listed_values([dose, digital_link(parse_code(gs1), "https://id.example")]) == [
        dose,
        gs1,
    ]
    with pytest.raises(DomainError) as twice:
        listed_values([gs1, element_string(parse_code(gs1))])  # the same code, spelt twice
    assert (twice.value.reason, twice.value.field) == ("duplicate_code", "codes")
    with pytest.raises(CodeError) as unreadable:
        listed_values([dose, "not a code"], field="items")
    assert unreadable.value.field == "items[1]" and "'not a code'" in unreadable.value.message


def test_the_plain_gs1_reading_agrees_with_the_parser() -> None:
    """Codes in canonical GS1 form are read without biip: the same answer, or the same
    refusal, as biip's reading, for valid and broken GTINs and serials that hold dates."""
    import random

    from vaxtrace.core import codes

    rng = random.Random(7)
    seen_fast = 0
    for _ in range(3000):
        body = "".join(rng.choice("0123456789") for _ in range(13))
        check = codes.gs1_check_digit(body) if rng.random() < 0.8 else rng.choice("0123456789")
        alphabet = rng.choice(("0123456789", "0123456789ABCXYZabc", "1170"))
        serial = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20)))
        text = f"01{body}{check}21{serial}"
        fast = codes._plain_gs1(text)
        try:
            slow: object = codes._parse_gs1_element_string(text)
        except codes.CodeError as exc:
            slow = exc.reason
        if fast is not None:
            seen_fast += 1
            assert fast == slow, text
        got: object
        try:
            got = codes.parse_code(text)
        except codes.CodeError as exc:
            got = exc.reason
        assert got == slow, text
    assert seen_fast > 1000  # the fast reading was taken, not skipped
