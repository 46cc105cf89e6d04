"""监护人账号: guardians' accounts, their logins and what a guardian may read.

A site's staff open an account for a phone listed as a guardian's of one of the site's
children: the answer carries a one-time initial password to print for the guardian (only its
argon2id hash is kept). Logging in with it opens a session that may only choose a password of
the guardian's own (403 ``password_change_required`` elsewhere). Wrong passwords lock the
account a while (:mod:`vaxtrace.core.guardians`). A guardian sees the children whose
guardians list their phone, and those children's records, nothing else (403
``not_your_child``, for another child and for no child alike: an id says nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.guardians import (
    AccountOpening,
    Login,
    PasswordChange,
    after_failure,
    check_new_password,
    initial_expiry,
    initial_password,
    locked,
    new_token,
    session_expiry,
)
from vaxtrace.core.reasons import Reason
from vaxtrace.core.times import Clock, as_utc
from vaxtrace.roles.immunization.service import recipients
from vaxtrace.roles.immunization.service.lookups import require_kind, unit
from vaxtrace.store.engine import Engine, IntegrityError, read_tx, write_tx
from vaxtrace.store.immunization import appointments as appointments_store
from vaxtrace.store.immunization import guardians as store
from vaxtrace.store.immunization import recipients as children_store
from vaxtrace.store.tokens import token_sha256

LOGIN_PATH = "/immunization/v1/guardian/sessions"


@dataclass(frozen=True, slots=True)
class GuardianSession:
    """Who calls with a guardian's token: the account, its phone, the token's SHA-256 and
    whether the password is still the initial one."""

    account_id: int
    phone: str
    token_sha256: str
    must_change: bool


@dataclass(frozen=True, slots=True)
class Opened:
    body: dict[str, Any]
    created: bool


def _verify(hasher: PasswordHasher, hashed: str, password: str) -> bool:
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


# --- accounts, by a site's staff ------------------------------------------------------------


def open_account(
    engine: Engine,
    clock: Clock,
    hasher: PasswordHasher,
    actor: str,
    user: str,
    request: AccountOpening,
) -> Opened:
    """Open the account of a guardian of one of the actor's children, or reset it (a new
    initial password; every session ended, the lockout lifted)."""
    password = initial_password()
    hashed = hasher.hash(password)  # slow on purpose: outside the write transaction
    try:
        return _open(engine, clock, actor, user, request.phone, hashed, password)
    except IntegrityError:  # the same phone opened concurrently: a reset now
        return _open(engine, clock, actor, user, request.phone, hashed, password)


def _open(
    engine: Engine, clock: Clock, actor: str, user: str, phone: str, hashed: str, password: str
) -> Opened:
    with write_tx(engine) as conn:
        require_kind(unit(conn, actor), OrgKind.POV, "open a guardian's account")
        if not appointments_store.phone_at_site(conn, phone, actor):
            raise DomainError(
                Reason.PHONE_NOT_A_GUARDIAN,
                "no child of your site lists this phone as a guardian's",
                field="phone",
            )
        now = clock.now().astimezone(UTC)
        expires = initial_expiry(now)
        values: dict[str, Any] = {
            "password_hash": hashed,
            "must_change": True,
            "initial_expires_at": expires,
            "failures": 0,
            "locked_until": None,
            "opened_by_site": actor,
            "opened_by": user,
            "opened_at": now,
        }
        existing = store.find_by_phone(conn, phone)
        if existing is None:
            account_id = store.insert_account(conn, values | {"phone": phone})
        else:
            account_id = int(existing["id"])
            store.update_account(conn, account_id, **values)
            store.end_sessions(conn, account_id)
        action = "opened" if existing is None else "reset"
        appointments_store.journal_appointment(
            conn,
            "guardian_account",
            {"org_uscc": actor, "account_id": account_id, "action": action, "recorded_by": user},
        )
        body = {
            "account_id": account_id,
            "phone": phone,
            "action": action,
            "initial_password": password,
            "initial_password_expires_at": expires.isoformat(),
            "must_change_password": True,
            "login": LOGIN_PATH,
        }
        return Opened(body, created=existing is None)


# --- logging in and out -------------------------------------------------------------------

_UNKNOWN = "the phone or the password is wrong"


def login(engine: Engine, clock: Clock, hasher: PasswordHasher, request: Login) -> dict[str, Any]:
    """A session for phone and password: a ``vg_`` bearer token (kept as its SHA-256) until
    it expires. Unknown phone and wrong password are answered alike (and take as long)."""
    with read_tx(engine) as conn:
        row = store.find_by_phone(conn, request.phone)
    now = clock.now().astimezone(UTC)
    if row is None:
        _verify(hasher, _dummy(hasher), request.password)
        raise DomainError(Reason.INVALID_CREDENTIALS, _UNKNOWN)
    account_id = int(row["id"])
    until = None if row["locked_until"] is None else as_utc(row["locked_until"])
    if until is not None and locked(until, now):
        raise _locked(until)
    if not _verify(hasher, row["password_hash"], request.password):
        with write_tx(engine) as conn:
            until = after_failure(store.count_failure(conn, account_id), now)
            if until is not None:
                store.update_account(conn, account_id, failures=0, locked_until=until)
        raise (
            _locked(until)
            if until is not None
            else DomainError(Reason.INVALID_CREDENTIALS, _UNKNOWN)
        )
    expires = row["initial_expires_at"]
    if row["must_change"] and expires is not None and as_utc(expires) <= now:
        raise DomainError(
            Reason.INVALID_CREDENTIALS,
            "the initial password has expired: ask your vaccination site for a new one",
        )
    token = new_token()
    with write_tx(engine) as conn:
        store.update_account(conn, account_id, failures=0, locked_until=None)
        if hasher.check_needs_rehash(row["password_hash"]):
            store.update_account(conn, account_id, password_hash=hasher.hash(request.password))
        store.open_session(conn, token_sha256(token), account_id, now, session_expiry(now))
    return {
        "token": token,
        "token_type": "Bearer",
        "expires_at": session_expiry(now).isoformat(),
        "must_change_password": bool(row["must_change"]),
    }


_DUMMIES: dict[int, str] = {}


def _dummy(hasher: PasswordHasher) -> str:
    """A hash to verify against when the phone has no account, so it takes as long."""
    key = id(hasher)
    if key not in _DUMMIES:
        _DUMMIES[key] = hasher.hash("no account has this password 0")
    return _DUMMIES[key]


def _locked(until: datetime) -> DomainError:
    return DomainError(
        Reason.ACCOUNT_LOCKED,
        "too many wrong passwords: try again later",
        details={"locked_until": until.isoformat()},
    )


def authenticate(engine: Engine, clock: Clock, token: str) -> GuardianSession | None:
    """The guardian behind a ``vg_`` token, if its session is open and not expired."""
    if not token.startswith("vg_"):
        return None
    digest = token_sha256(token)
    with read_tx(engine) as conn:
        row = store.session(conn, digest)
    if row is None or as_utc(row["expires_at"]) <= clock.now():
        return None
    return GuardianSession(
        int(row["account_id"]), str(row["phone"]), digest, bool(row["must_change"])
    )


def logout(engine: Engine, who: GuardianSession) -> None:
    with write_tx(engine) as conn:
        store.end_session(conn, who.token_sha256)


def change_password(
    engine: Engine,
    clock: Clock,
    hasher: PasswordHasher,
    who: GuardianSession,
    request: PasswordChange,
) -> dict[str, Any]:
    """The guardian's own password, in place of the current one (the initial one too); the
    account's other sessions end."""
    with read_tx(engine) as conn:
        row = store.find(conn, who.account_id)
    assert row is not None  # a session's account stays
    if not _verify(hasher, row["password_hash"], request.current_password):
        raise DomainError(
            Reason.INVALID_CREDENTIALS, "the current password is wrong", field="current_password"
        )
    check_new_password(request.new_password, who.phone, request.current_password)
    hashed = hasher.hash(request.new_password)
    now = clock.now().astimezone(UTC)
    with write_tx(engine) as conn:
        store.update_account(
            conn,
            who.account_id,
            password_hash=hashed,
            must_change=False,
            initial_expires_at=None,
            password_changed_at=now,
        )
        store.end_sessions(conn, who.account_id, keep=who.token_sha256)
        appointments_store.journal_appointment(
            conn,
            "guardian_password",
            {"org_uscc": row["opened_by_site"], "account_id": who.account_id},
        )
    return {
        "account_id": who.account_id,
        "changed_at": now.isoformat(),
        "must_change_password": False,
    }


def require_own_password(who: GuardianSession) -> GuardianSession:
    """The guardian chose a password of their own (else only that is allowed)."""
    if who.must_change:
        raise DomainError(
            Reason.PASSWORD_CHANGE_REQUIRED,
            "choose your own password first (POST /immunization/v1/guardian/password)",
        )
    return who


# --- what a guardian reads ------------------------------------------------------------------


def children(engine: Engine, who: GuardianSession) -> list[dict[str, Any]]:
    """The children whose guardians list the guardian's phone."""
    with read_tx(engine) as conn:
        rows = appointments_store.children_of_phone(conn, who.phone)
    return [
        {
            "child_id": r["id"],
            "name": r["name"],
            "sex": r["sex"],
            "birth_date": r["birth_date"].isoformat(),
            "state": r["state"],
            "merged_into": r["merged_into"],
            "site_uscc": r["site_uscc"],
            "site_name": r["site_name"],
        }
        for r in rows
    ]


def guardian_child(
    engine: Engine, who: GuardianSession, child_id: str, field: str | None = None
) -> Any:
    """The child, if the guardian's phone is one of its guardians' (else 403, whether or not
    the child exists)."""
    with read_tx(engine) as conn:
        row = children_store.find_child(conn, child_id)
        if row is None or not appointments_store.is_guardian(conn, child_id, who.phone):
            raise DomainError(Reason.NOT_YOUR_CHILD, "not a child of yours", field=field)
        return row


def record(engine: Engine, who: GuardianSession, child_id: str, today: date) -> dict[str, Any]:
    """A child's record as its site's staff see it (:func:`recipients.record`)."""
    row = guardian_child(engine, who, child_id)
    return recipients.record(engine, str(row["site_uscc"]), child_id, today)
