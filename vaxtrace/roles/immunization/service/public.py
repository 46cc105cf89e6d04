"""The public services of the province's node (issue 13 item 7) as one object the facade
keeps (``ImmunizationService.public``): sites and their hours, appointment slots and
bookings, guardians' accounts and what a guardian reads."""

from __future__ import annotations

from datetime import date
from typing import Any

from argon2 import PasswordHasher

from vaxtrace.core.appointments import Booking, Reschedule, SiteHours, SlotOpening
from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.guardians import AccountOpening, Login, PasswordChange
from vaxtrace.core.times import Clock
from vaxtrace.roles.immunization.service import appointments, guardians, sites
from vaxtrace.roles.immunization.service.appointments import Done
from vaxtrace.roles.immunization.service.guardians import GuardianSession, Opened
from vaxtrace.store.engine import Engine


class PublicServices:
    """Sites near me, appointments and guardians' accounts, over the node's database and
    clock. ``passwords`` hashes guardians' passwords (argon2id, the library's defaults)."""

    def __init__(
        self, engine: Engine, clock: Clock, passwords: PasswordHasher | None = None
    ) -> None:
        self.engine, self.clock = engine, clock
        self.passwords = passwords or PasswordHasher()

    def today(self) -> date:
        return local_date(self.clock.now())

    # --- sites ----------------------------------------------------------------------------

    def set_site_hours(
        self, actor: str, hours: SiteHours, user: str | None = None
    ) -> dict[str, Any]:
        """开放时间 of the actor's site: address, phone, weekly windows, closed days."""
        return sites.set_hours(self.engine, self.clock, actor, user or actor, hours)

    def site_hours(self, actor: str) -> dict[str, Any] | None:
        return sites.hours_of(self.engine, actor)

    def sites_near(self, division: str, on: date | None = None) -> dict[str, Any]:
        """附近接种点 with hours, open now / next opening and doses by vaccine."""
        return sites.near(self.engine, self.clock, division, on)

    # --- slots and bookings ------------------------------------------------------------------

    def open_slot(self, actor: str, opening: SlotOpening, user: str | None = None) -> Done:
        return appointments.open_slot(self.engine, self.clock, actor, user or actor, opening)

    def slots(
        self,
        site_uscc: str,
        vaccine: str | None = None,
        first_day: date | None = None,
        days: int = 7,
    ) -> dict[str, Any]:
        return appointments.public_slots(
            self.engine, self.clock, site_uscc, vaccine, first_day, days
        )

    def book(self, who: GuardianSession, booking: Booking) -> Done:
        return appointments.book(self.engine, self.clock, who, booking)

    def cancel(self, who: GuardianSession, appointment_id: int) -> Done:
        return appointments.cancel(self.engine, self.clock, who, appointment_id)

    def reschedule(self, who: GuardianSession, appointment_id: int, to: Reschedule) -> Done:
        return appointments.reschedule(self.engine, self.clock, who, appointment_id, to)

    def guardian_appointments(self, who: GuardianSession) -> list[dict[str, Any]]:
        return appointments.of_guardian(self.engine, who)

    def day_list(self, actor: str, day: date | None = None) -> dict[str, Any]:
        return appointments.day_list(self.engine, actor, day or self.today())

    def check_in(self, actor: str, appointment_id: int, user: str | None = None) -> Done:
        return appointments.check_in(self.engine, self.clock, actor, user or actor, appointment_id)

    # --- guardians ----------------------------------------------------------------------------

    def open_guardian_account(
        self, actor: str, opening: AccountOpening, user: str | None = None
    ) -> Opened:
        """A guardian's account (or a reset of it) with a one-time initial password to print."""
        return guardians.open_account(
            self.engine, self.clock, self.passwords, actor, user or actor, opening
        )

    def login(self, login: Login) -> dict[str, Any]:
        return guardians.login(self.engine, self.clock, self.passwords, login)

    def guardian(self, token: str) -> GuardianSession | None:
        """The guardian behind a ``vg_`` token (None for any other token)."""
        return guardians.authenticate(self.engine, self.clock, token)

    def logout(self, who: GuardianSession) -> None:
        guardians.logout(self.engine, who)

    def change_password(self, who: GuardianSession, change: PasswordChange) -> dict[str, Any]:
        return guardians.change_password(self.engine, self.clock, self.passwords, who, change)

    def guardian_children(self, who: GuardianSession) -> list[dict[str, Any]]:
        return guardians.children(self.engine, who)

    def guardian_child_site(self, who: GuardianSession, child_id: str) -> str:
        """The site managing a child of the guardian's (403 ``not_your_child`` for another)."""
        return str(guardians.guardian_child(self.engine, who, child_id)["site_uscc"])

    def guardian_child_record(
        self, who: GuardianSession, child_id: str, on: date | None = None
    ) -> dict[str, Any]:
        return guardians.record(self.engine, who, child_id, on or self.today())
