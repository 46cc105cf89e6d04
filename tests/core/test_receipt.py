"""Receipt with scan verification: the decision on each scan, and the verification of a receipt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxtrace.core.codes import GS, digital_link, element_string, issue_nmpa20, parse_code
from vaxtrace.core.downstream import Verification
from vaxtrace.core.reasons import ScanReason
from vaxtrace.core.receipt import (
    Consignment,
    NoteView,
    Place,
    ReceiptState,
    ScanDecision,
    ScanResult,
    consignment,
    decide_scan,
    received_now,
    reported,
    state_after,
    verify_receipt,
)

CDC = "12320000MB000001XX"  # the scans only compare it, they do not check it
OTHER_CDC = "12320100MB000002XX"
GTIN = "06901234567892"


def dose(n: int) -> str:
    return issue_nmpa20("8000001", n)


def box(n: int) -> str:
    return issue_nmpa20("8000002", n)


CASE = issue_nmpa20("8000003", 1)
BOXES = [box(1), box(2)]
DOSES = {BOXES[0]: [dose(1), dose(2), dose(3)], BOXES[1]: [dose(4), dose(5), dose(6)]}
CONTENTS = {CASE: BOXES} | DOSES


@dataclass(frozen=True)
class Note:
    """A note as a scan sees it, and the goods it lists (where its codes are looked up)."""

    view: NoteView
    goods: Consignment


def note(goods: Consignment, *, consignee: str = CDC, closed: bool = False) -> Note:
    return Note(NoteView(consignee, closed), goods)


def never_asked(code: str) -> Place:
    pytest.fail(f"{code} was looked up for a scan refused for its note")


def decide(on: Note | None, text: str, scanned: set[str] | None = None) -> ScanDecision:
    if on is None:
        return decide_scan(None, CDC, text, never_asked)
    return decide_scan(on.view, CDC, text, on.goods.place_of(scanned or set()))


def scan(on: Note | None, text: str, scanned: set[str] | None = None) -> tuple[str, str]:
    decision = decide(on, text, scanned)
    return decision.result.value, decision.reason.value


# --- the decision on a scan ------------------------------------------------------------------


def test_a_listed_code_is_accepted_then_a_repeat() -> None:
    view = note(consignment([dose(1), dose(2)]))
    decision = decide(view, dose(1))
    assert (decision.result, decision.reason, decision.code, decision.lineage) == (
        ScanResult.ACCEPTED,
        ScanReason.ON_NOTE,
        dose(1),
        (dose(1),),
    )
    assert scan(view, dose(1), {dose(1)}) == ("repeat", "already_scanned")


def test_every_form_of_a_gs1_code_matches_the_listed_code() -> None:
    code = parse_code(f"01{GTIN}21SER001")
    listed_as_scanned = f"]d201{GTIN}17271231{GS}10LOT7{GS}21SER001"
    view = note(consignment([listed_as_scanned]))
    forms = [
        f"(01){GTIN}(21)SER001",
        element_string(code, batch_no="LOT7", expiry=date(2027, 12, 31)),
        digital_link(code),
        f"01{GTIN}21SER001",
    ]
    for form in forms:
        assert scan(view, form) == ("accepted", "on_note"), form
        assert scan(view, form, {code.value}) == ("repeat", "already_scanned"), form


def test_a_20_digit_code_as_printed_matches() -> None:
    code = dose(42)
    view = note(consignment([code]))
    assert scan(view, f"{code[:7]} {code[7:]}") == ("accepted", "on_note")


def test_codes_inside_containers() -> None:
    view = note(consignment([CASE], CONTENTS))
    assert scan(view, dose(5)) == ("accepted", "inside_listed_container")
    assert scan(view, dose(5), {BOXES[1]}) == ("repeat", "inside_scanned_container")
    assert scan(view, dose(5), {CASE}) == ("repeat", "inside_scanned_container")
    assert scan(view, BOXES[0], {dose(1)}) == ("accepted", "inside_listed_container")


def test_rejections() -> None:
    goods = consignment([dose(1)])
    assert scan(None, dose(1)) == ("rejected", "unknown_note")
    for view in (NoteView(OTHER_CDC, False), NoteView(CDC, True)):  # the code is not looked up
        assert decide_scan(view, CDC, dose(1), never_asked).result is ScanResult.REJECTED
    assert scan(note(goods, consignee=OTHER_CDC), dose(1)) == ("rejected", "wrong_consignee")
    assert scan(note(goods, closed=True), dose(1)) == ("rejected", "note_closed")
    assert scan(note(goods), dose(2)) == ("rejected", "not_on_note")
    assert scan(note(goods), "12345") == ("rejected", "malformed_code")


def test_a_malformed_scan_says_why() -> None:
    decision = decide(note(consignment([dose(1)])), f"01{GTIN}10LOT717271231")
    assert decision.reason is ScanReason.MALFORMED_CODE
    assert decision.code is None
    assert "gs_separator_missing" in decision.message


# --- the consignment a note describes --------------------------------------------------------


def test_contents_outside_the_note_loops_and_double_claims_are_ignored() -> None:
    goods = consignment(
        [CASE, f" {dose(9)} "],
        {
            CASE: BOXES,
            BOXES[0]: [dose(1), CASE, dose(1)],  # a loop back to the case, a repeat
            BOXES[1]: [dose(1), dose(4)],  # dose 1 is claimed by box 1 already
            box(7): [dose(8)],  # not below anything listed
        },
    )
    assert goods.listed == (CASE, dose(9))
    assert goods.children == {CASE: tuple(BOXES), BOXES[0]: (dose(1),), BOXES[1]: (dose(4),)}
    assert goods.lineage(dose(4)) == [dose(4), BOXES[1], CASE]
    assert goods.doses()[CASE] == 2


def test_an_unreadable_listed_code_is_kept_and_can_only_be_missing() -> None:
    goods = consignment(["not-a-code", dose(1)])
    result = verify_receipt(goods, {dose(1)})
    assert result.missing == ("not-a-code",)
    assert result.reason == "missing_codes: 1 of 2 not scanned"


# --- verification of a receipt -------------------------------------------------------------


def test_verified_when_every_listed_code_was_scanned() -> None:
    codes = [dose(n) for n in range(10)]
    result = verify_receipt(consignment(codes), set(codes))
    assert result.verification is Verification.VERIFIED
    assert result.reason is None
    assert (result.expected_quantity, result.actual_quantity) == (10, 10)
    assert result.received == tuple(codes)
    assert result.missing == ()


def test_failed_names_how_many_are_missing() -> None:
    codes = [dose(n) for n in range(10)]
    result = verify_receipt(consignment(codes), set(codes[3:]))
    assert result.verification is Verification.FAILED
    assert result.reason == "missing_codes: 3 of 10 not scanned"
    assert (result.expected_quantity, result.actual_quantity) == (10, 7)
    assert result.missing == tuple(codes[:3])


def test_doses_are_counted_through_the_contents() -> None:
    goods = consignment([CASE, dose(99)], CONTENTS)
    whole = verify_receipt(goods, {CASE, dose(99)})
    assert (whole.expected_quantity, whole.actual_quantity) == (7, 7)
    assert whole.received == (CASE, dose(99))
    opened = verify_receipt(goods, {BOXES[1], dose(1), dose(2), dose(3), dose(99)})
    assert opened.verification is Verification.VERIFIED  # every box came, so the case came
    assert opened.received == (CASE, dose(99))
    partial = verify_receipt(goods, {BOXES[1], dose(1)})
    assert partial.received == (BOXES[1], dose(1))
    assert (partial.expected_quantity, partial.actual_quantity) == (7, 4)
    assert partial.reason == "missing_codes: 2 of 2 not scanned"


def test_a_consignment_is_kept_as_expected_codes_and_read_back() -> None:
    goods = consignment([CASE, dose(99)], CONTENTS)
    kept = goods.expected_codes()
    assert [(c.code, c.parent_code, c.doses, c.position) for c in kept[:4]] == [
        (CASE, None, 6, 0),
        (dose(99), None, 1, 1),
        (BOXES[0], CASE, 3, 2),
        (BOXES[1], CASE, 3, 3),
    ]
    assert [c.code for c in kept] == goods.codes
    assert [c.listed for c in kept].count(True) == 2
    again = Consignment.of_expected(reversed(kept))
    assert again == goods
    assert again.place_of({BOXES[1]})(dose(5)) == Place(
        (dose(5), BOXES[1], CASE), frozenset({BOXES[1]})
    )
    assert again.place_of(set())(dose(100)) == Place(())


def test_placement_puts_what_a_received_container_holds_inside_it() -> None:
    goods = consignment([CASE], CONTENTS)
    rows = goods.placement([BOXES[1], dose(1)])
    assert rows == [(BOXES[1], None), (dose(1), None)] + [(d, BOXES[1]) for d in DOSES[BOXES[1]]]


# --- properties ------------------------------------------------------------------------------


@st.composite
def consignments(draw: st.DrawFn) -> Consignment:
    """A forest of up to 4 listed codes, each a dose, a box of doses or a case of boxes."""
    serial = iter(range(10_000))
    listed: list[str] = []
    contents: dict[str, list[str]] = {}

    def unit(level: int) -> str:
        code = issue_nmpa20(f"800000{level}", next(serial))
        if level > 1:
            contents[code] = [unit(level - 1) for _ in range(draw(st.integers(1, 3)))]
        return code

    for _ in range(draw(st.integers(1, 4))):
        listed.append(unit(draw(st.integers(1, 3))))
    return consignment(listed, contents)


@given(consignments(), st.data())
def test_verification_properties(goods: Consignment, data: st.DataObject) -> None:
    every = goods.codes
    scanned = set(data.draw(st.lists(st.sampled_from(every), unique=True)))
    result = verify_receipt(goods, scanned)
    doses = goods.doses()
    assert (result.verification is Verification.VERIFIED) == (not result.missing)
    assert result.actual_quantity <= result.expected_quantity
    assert (result.actual_quantity == result.expected_quantity) == (not result.missing)
    assert result.actual_quantity == sum(doses[c] for c in result.received)
    for code in result.received:  # none received twice: never one inside another received
        assert not set(goods.lineage(code)[1:]) & set(result.received)
    for code in scanned:  # whatever was scanned was received, itself or with its container
        assert set(goods.lineage(code)) & set(result.received)


@given(consignments())
def test_scanning_every_dose_or_every_listed_code_verifies(goods: Consignment) -> None:
    leaves = {c for c in goods.codes if c not in goods.children}
    for scanned in (leaves, set(goods.listed)):
        result = verify_receipt(goods, scanned)
        assert result.verification is Verification.VERIFIED
        assert result.received == goods.listed


@given(consignments(), st.data())
def test_a_scan_is_accepted_once_and_then_always_a_repeat(
    goods: Consignment, data: st.DataObject
) -> None:
    view = note(goods)
    order = data.draw(st.lists(st.sampled_from(goods.codes), max_size=30))
    accepted: set[str] = set()
    for code in order:
        decision = decide(view, code, accepted)
        before = code in accepted or bool(set(goods.lineage(code)) & accepted)
        assert (decision.result is ScanResult.REPEAT) == before
        if decision.result is ScanResult.ACCEPTED:
            accepted.add(code)
    assert verify_receipt(goods, accepted).received == verify_receipt(goods, set(order)).received


@given(consignments())
def test_expected_codes_keep_the_whole_consignment(goods: Consignment) -> None:
    kept = goods.expected_codes()
    assert Consignment.of_expected(kept) == goods
    assert {c.code: c.doses for c in kept} == goods.doses()
    for code in goods.codes:
        assert goods.place_of(set())(code).lineage == tuple(goods.lineage(code))


# --- a receipt in parts -------------------------------------------------------------------------


def test_a_confirmation_receives_only_what_earlier_ones_did_not() -> None:
    goods = consignment([CASE], CONTENTS)
    first = received_now(goods, {BOXES[0]}, set())
    assert first == [(BOXES[0], None), *((d, BOXES[0]) for d in DOSES[BOXES[0]])]
    assert reported(goods, first, set()) == (BOXES[0],)
    confirmed = {code for code, _ in first}
    second = received_now(goods, {BOXES[0], BOXES[1]}, confirmed)
    # the case is whole now (both its boxes came) and is kept with the box that came in it
    assert second == [(CASE, None), (BOXES[1], CASE), *((d, BOXES[1]) for d in DOSES[BOXES[1]])]
    assert reported(goods, second, confirmed) == (BOXES[1],)
    assert received_now(goods, {BOXES[0], BOXES[1]}, confirmed | {c for c, _ in second}) == []


def test_a_whole_case_at_once_is_reported_as_the_case() -> None:
    goods = consignment([CASE, dose(9)], CONTENTS)
    placed = received_now(goods, {CASE, dose(9)}, set())
    assert [c for c, parent in placed if parent is None] == [CASE, dose(9)]
    assert reported(goods, placed, set()) == (CASE, dose(9))


def test_the_state_after_a_confirmation() -> None:
    goods = consignment([dose(1), dose(2)])
    assert state_after(verify_receipt(goods, {dose(1)})) is ReceiptState.PARTIAL
    assert state_after(verify_receipt(goods, {dose(1), dose(2)})) is ReceiptState.RECEIVED
