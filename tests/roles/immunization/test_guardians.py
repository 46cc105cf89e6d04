"""Guardians' accounts through the service on SQLite and PostgreSQL: opened by a site for a
phone of one of its children, a one-time initial password that expires and only lets the
guardian choose their own, logins that lock after repeated failures, sessions that expire or
end, and a guardian who sees exactly the children whose guardians list their phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from appointments_world import (
    FAST_HASHER,
    OTHER_PHONE,
    PASSWORD,
    PHONE,
    MovableClock,
    child,
    guardian,
)
from province_world import OTHER_POV, POV, Province, refused
from sqlalchemy import select

from vaxtrace.core.errors import DomainError
from vaxtrace.core.guardians import (
    LOCK_MINUTES,
    MAX_FAILURES,
    AccountOpening,
    Login,
    PasswordChange,
)
from vaxtrace.roles.immunization.service.public import PublicServices
from vaxtrace.store.immunization import schema


def _public(province: Province, clock: MovableClock) -> PublicServices:
    return PublicServices(province.engine, clock.clock(), FAST_HASHER)


def _refused_login(public: PublicServices, phone: str, password: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        public.login(Login(phone=phone, password=password))
    return caught.value


def test_only_hashes_are_kept_and_the_initial_password_only_changes(province: Province) -> None:
    clock = MovableClock()
    public = _public(province, clock)
    child(province, 1)
    opened = public.open_guardian_account(POV, AccountOpening(phone=PHONE), "staff")
    initial = opened.body["initial_password"]
    assert opened.created and len(initial) == 14 and opened.body["must_change_password"]
    session = public.login(Login(phone=PHONE, password=initial))
    with province.engine.connect() as conn:
        account = conn.execute(select(schema.guardian_account)).mappings().one()
        tokens = conn.execute(select(schema.guardian_session.c.token_sha256)).scalars().all()
    assert account["password_hash"].startswith("$argon2id$") and initial not in str(dict(account))
    assert session["token"] not in tokens and len(tokens) == 1
    who = public.guardian(session["token"])
    assert who is not None and who.must_change and who.phone == PHONE
    weak = [("short1", "weak_password"), ("abcdefghij", "weak_password"),
            (f"x{PHONE}", "weak_password"), (initial, "weak_password")]  # fmt: skip
    for password, reason in weak:
        change = PasswordChange(current_password=initial, new_password=password)
        refused(province, reason, public.change_password, who, change)
    wrong = PasswordChange(current_password="not-it-1", new_password=PASSWORD)
    refused(province, "invalid_credentials", public.change_password, who, wrong)
    public.change_password(who, PasswordChange(current_password=initial, new_password=PASSWORD))
    assert _refused_login(public, PHONE, initial).reason == "invalid_credentials"
    own = public.login(Login(phone=PHONE, password=PASSWORD))
    assert own["must_change_password"] is False

    reset = public.open_guardian_account(POV, AccountOpening(phone=PHONE), "staff")
    assert not reset.created and reset.body["action"] == "reset"
    assert public.guardian(own["token"]) is None and public.guardian(session["token"]) is None
    clock.at += timedelta(days=15)
    late = _refused_login(public, PHONE, reset.body["initial_password"])
    assert late.reason == "invalid_credentials" and "expired" in late.message


def test_a_site_opens_accounts_only_for_its_childrens_guardians(province: Province) -> None:
    public = _public(province, MovableClock())
    child(province, 1)
    child(province, 2, phone=OTHER_PHONE, site=OTHER_POV)
    for site, phone in ((POV, OTHER_PHONE), (OTHER_POV, PHONE), (POV, "13700137000")):
        opening = AccountOpening(phone=phone)
        refused(province, "phone_not_a_guardian", public.open_guardian_account, site, opening)


def test_wrong_passwords_lock_the_account_a_while(province: Province) -> None:
    clock = MovableClock()
    public = _public(province, clock)
    child(province, 1)
    guardian(public)
    assert _refused_login(public, "13700137000", PASSWORD).reason == "invalid_credentials"
    reasons = [_refused_login(public, PHONE, "wrong-pw-9").reason for _ in range(MAX_FAILURES)]
    assert reasons == ["invalid_credentials"] * (MAX_FAILURES - 1) + ["account_locked"]
    locked = _refused_login(public, PHONE, PASSWORD)
    assert locked.reason == "account_locked" and "locked_until" in locked.details
    clock.at += timedelta(minutes=LOCK_MINUTES, seconds=1)
    session = public.login(Login(phone=PHONE, password=PASSWORD))
    assert public.guardian(session["token"]) is not None
    clock.at += timedelta(hours=13)  # sessions last 12 hours
    assert public.guardian(session["token"]) is None
    assert public.guardian("vt_" + session["token"][3:]) is None  # a staff-looking token


def test_a_guardian_sees_only_their_children(province: Province) -> None:
    public = _public(province, MovableClock())
    mine = child(province, 1)
    shared = child(
        province,
        2,
        guardians=[
            {"name": "王丽", "relation": "mother", "phone": PHONE},
            {"name": "李强", "relation": "father", "phone": OTHER_PHONE},
        ],
    )
    theirs = child(province, 3, phone=OTHER_PHONE, site=OTHER_POV)
    who = guardian(public)
    other = guardian(public, OTHER_PHONE)
    assert [c["child_id"] for c in public.guardian_children(who)] == [mine, shared]
    assert [c["child_id"] for c in public.guardian_children(other)] == [shared, theirs]
    staff_view = province.svc.child_record(POV, mine)
    assert public.guardian_child_record(who, mine)["doses"] == staff_view["doses"]
    assert public.guardian_child_record(other, theirs)["child"]["child_id"] == theirs
    for child_id in (theirs, "ch-00000000000000ff"):
        refused(province, "not_your_child", public.guardian_child_record, who, child_id)
