"""Guardians' accounts' rules (pure): printable initial passwords, what a password of one's
own must be, the lockout after repeated failures, tokens of their own kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vaxtrace.core.errors import DomainError
from vaxtrace.core.guardians import (
    INITIAL_ALPHABET,
    LOCK_MINUTES,
    MAX_FAILURES,
    after_failure,
    check_new_password,
    initial_password,
    locked,
    new_token,
    session_expiry,
)

PHONE = "13800138000"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_initial_passwords_are_printable_and_different() -> None:
    made = {initial_password() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        groups = password.split("-")
        assert [len(g) for g in groups] == [4, 4, 4]
        assert set("".join(groups)) <= set(INITIAL_ALPHABET)
    assert not set("01OIL") & set(INITIAL_ALPHABET)
    assert new_token().startswith("vg_") and new_token() != new_token()


@pytest.mark.parametrize(
    "password",
    ["abc1234", "abcdefghij", "1234567890", f"pw{PHONE}", "138-0013-8000x", "same-pw-1"],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(DomainError) as caught:
        check_new_password(password, PHONE, "same-pw-1")
    assert (caught.value.reason, caught.value.field) == ("weak_password", "new_password")


def test_a_good_password() -> None:
    check_new_password("meimei2024!", PHONE, "ABCD-EFGH-JKLM")
    check_new_password("长城长城2024年", PHONE, "ABCD-EFGH-JKLM")  # any letters, any script


def test_lockout_after_repeated_failures() -> None:
    assert [after_failure(n, NOW) for n in range(1, MAX_FAILURES)] == [None] * (MAX_FAILURES - 1)
    until = after_failure(MAX_FAILURES, NOW)
    assert until == NOW + timedelta(minutes=LOCK_MINUTES)
    assert locked(until, NOW) and not locked(until, until) and not locked(None, NOW)
    assert session_expiry(NOW) - NOW == timedelta(hours=12)
