"""Our RFC 8785 canonical JSON, checked against the rfc8785 reference implementation."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxtrace.ledger.canonical import CanonicalError, canonical_json, es_number

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=1500, deadline=None)
@given(json_values)
def test_matches_the_reference(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1.5e-6, "0.0000015"),
        (0.000001, "0.000001"),
        (123.456, "123.456"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-2.5, "-2.5"),
    ],
)
def test_ecmascript_number_format(x: float, text: str) -> None:
    assert es_number(x) == text


def test_keys_sort_by_utf16_code_units() -> None:
    value = {"\U0001f600": 1, "\ufb33": 2, "a": 3}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).decode().index("\U0001f600") < canonical_json(
        value
    ).decode().index("\ufb33")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**53, {1: "x"}, object()])
def test_unrepresentable_values_are_refused(bad: Any) -> None:
    with pytest.raises(CanonicalError):
        canonical_json({"v": bad})
