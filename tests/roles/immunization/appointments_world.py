"""Helpers of the public-services tests: children with guardians' phones, a site's published
hours, slots opened ahead, guardians' sessions, and a clock the tests move."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from province_world import CST, POV, Province

from vaxtrace.core.appointments import SiteHours, SlotOpening
from vaxtrace.core.guardians import AccountOpening, Login, PasswordChange
from vaxtrace.core.recipients import ChildRegistration
from vaxtrace.core.times import Clock
from vaxtrace.roles.immunization.service.guardians import GuardianSession
from vaxtrace.roles.immunization.service.public import PublicServices

PHONE = "13800138000"
OTHER_PHONE = "13900139000"
PASSWORD = "meimei2024!"

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2id with small costs, for tests that log many in (the node uses the defaults)."""

WEEKDAYS = {"address": "示例市玄武区示例路1号", "phone": "025-84000000", "week": [
    {"weekday": d, "windows": [{"opens": "08:00", "closes": "11:30"},
                               {"opens": "13:30", "closes": "17:00"}]}
    for d in range(1, 6)
]}  # fmt: skip


@dataclass
class MovableClock:
    """A clock the test sets."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.at

    def clock(self) -> Clock:
        return Clock(now=self.now)


def next_weekday(after: date, weekday: int = 2) -> date:
    """The first ``weekday`` (ISO, Tuesday by default) strictly after ``after``."""
    day = after + timedelta(days=1)
    while day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day


def a_tuesday() -> date:
    return next_weekday(datetime.now(CST).date())


def child(province: Province, n: int, phone: str = PHONE, site: str = POV, **extra: Any) -> str:
    values: dict[str, Any] = {
        "name": f"测试{'甲乙丙丁戊己庚辛壬癸'[n % 10]}{n}",
        "sex": "F" if n % 2 else "M",
        "birth_date": (date(2024, 1, 1) + timedelta(days=n)).isoformat(),
        "birth_division": "320102",
        "guardians": [{"name": "王丽", "relation": "mother", "phone": phone}],
        "card_no": f"320102-2024-{n:05d}",
        "confirm_not_duplicate": True,
    }
    done = province.svc.register_child(site, ChildRegistration(**(values | extra)), "staff")
    return str(done.body["child"]["child_id"])


def publish_hours(public: PublicServices, site: str = POV, **extra: Any) -> None:
    public.set_site_hours(site, SiteHours.model_validate(WEEKDAYS | extra), "staff")


def slot(
    public: PublicServices,
    day: date,
    *,
    vaccine: str = "HepB",
    start: str = "08:00",
    end: str = "09:00",
    capacity: int = 10,
    site: str = POV,
) -> int:
    opening = SlotOpening.model_validate(
        {"vaccine": vaccine, "day": day, "start": start, "end": end, "capacity": capacity}
    )
    return int(public.open_slot(site, opening, "staff").body["slot_id"])


def guardian(public: PublicServices, phone: str = PHONE, site: str = POV) -> GuardianSession:
    """A guardian with an account the site opened, logged in, their own password chosen."""
    token = guardian_token(public, phone, site)
    again = public.guardian(token)
    assert again is not None and not again.must_change
    return again


def guardian_token(public: PublicServices, phone: str = PHONE, site: str = POV) -> str:
    """The bearer token of a guardian whose account the site opened, logged in with the
    printed password, who then chose their own."""
    opened = public.open_guardian_account(site, AccountOpening(phone=phone), "staff")
    first = public.login(Login(phone=phone, password=opened.body["initial_password"]))
    who = public.guardian(first["token"])
    assert who is not None and who.must_change
    change = PasswordChange(current_password=opened.body["initial_password"], new_password=PASSWORD)
    public.change_password(who, change)
    return str(first["token"])
