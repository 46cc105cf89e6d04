"""监护人账号: guardians' accounts on the province's public services (pure rules).

A vaccination site's staff open an account for a phone listed as a guardian's of one of their
children; the account gets a one-time initial password, printed for the guardian, valid for
:data:`INITIAL_PASSWORD_DAYS` days and only good for choosing a password of their own (a
session opened with it may do nothing else). A guardian logs in with phone and password and
gets a bearer token of a kind of its own (``vg_``; staff tokens are ``vt_``), kept only as its
SHA-256, for :data:`SESSION_HOURS` hours. :data:`MAX_FAILURES` wrong passwords in a row lock
the account for :data:`LOCK_MINUTES` minutes (the right password too is refused meanwhile).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from pydantic import Field

from vaxtrace.core.datasets.elements import Model
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recipients.model import Phone

TOKEN_PREFIX = "vg_"
SESSION_HOURS = 12
INITIAL_PASSWORD_DAYS = 14
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8
MAX_PASSWORD = 128

INITIAL_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""What an initial password is written with: no 0/O, 1/I/L to misread on paper."""


class AccountOpening(Model):
    """A site's staff open (or reset) a guardian's account."""

    phone: Phone


class Login(Model):
    phone: Phone
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class PasswordChange(Model):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD)


def initial_password() -> str:
    """A one-time password to print: 12 characters in groups of four (``7KQ4-M9XP-2HRT``)."""
    chars = "".join(secrets.choice(INITIAL_ALPHABET) for _ in range(12))
    return "-".join(chars[i : i + 4] for i in range(0, 12, 4))


def check_new_password(password: str, phone: str, current: str) -> None:
    """A guardian's own password: 8 characters or more, letters and digits both, not the
    phone number, not the password it replaces."""
    field = "new_password"
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            Reason.WEAK_PASSWORD, f"a password has at least {MIN_PASSWORD} characters", field=field
        )
    if not (re.search(r"\d", password) and re.search(r"[^\d\s]", password)):
        raise DomainError(
            Reason.WEAK_PASSWORD, "a password mixes letters (or signs) and digits", field=field
        )
    if phone in re.sub(r"\D", "", password):
        raise DomainError(Reason.WEAK_PASSWORD, "a password is not the phone number", field=field)
    if password == current:
        raise DomainError(
            Reason.WEAK_PASSWORD, "choose a password other than the current one", field=field
        )


def locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(failures: int, now: datetime) -> datetime | None:
    """When the account locks until, once ``failures`` failed logins in a row were counted
    (None: not locked)."""
    if failures >= MAX_FAILURES:
        return now + timedelta(minutes=LOCK_MINUTES)
    return None


def session_expiry(now: datetime) -> datetime:
    return now + timedelta(hours=SESSION_HOURS)


def initial_expiry(now: datetime) -> datetime:
    return now + timedelta(days=INITIAL_PASSWORD_DAYS)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
