"""预约接种: appointment slots a site's staff open, the public's view of them, a guardian's
bookings (book, cancel, reschedule) and the site's day list and check-in.

A place is taken and freed in the transaction that writes the booking, by one conditional
update of the slot (see :mod:`vaxtrace.store.immunization.appointments`): never over capacity
under any concurrency. Every accepted decision is journaled with ids only (a child's is
pseudonymous): no name, phone or card number enters the province's log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from vaxtrace.core.appointments import (
    Booking,
    Reschedule,
    SiteHours,
    SlotOpening,
    State,
    check_bookable,
    check_opening,
    remaining,
)
from vaxtrace.core.appointments.slots import FIRST_DAY, LAST_DAY, check_due
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.dose_gate import CHINA_TIME, local_date
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.schedule import national_schedule
from vaxtrace.core.times import Clock, as_utc
from vaxtrace.roles.immunization.service import recipients
from vaxtrace.roles.immunization.service.guardians import GuardianSession
from vaxtrace.roles.immunization.service.lookups import require_kind, unit
from vaxtrace.store.engine import Connection, Engine, IntegrityError, read_tx, write_tx
from vaxtrace.store.immunization import appointments as store
from vaxtrace.store.immunization import recipients as children_store

MAX_DAYS = 31
"""The most days one listing of slots covers."""
MAX_SLOTS = 500
MAX_APPOINTMENTS = 200

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Done:
    """A write's answer; ``created`` False when it repeats one already done (answered
    again, nothing written)."""

    body: dict[str, Any]
    created: bool


def _once_more(write: Callable[[], T]) -> T:
    """A write whose uniqueness a concurrent one may have beaten: met once more, it is
    answered as a repeat or refused for what the other wrote."""
    try:
        return write()
    except IntegrityError:
        return write()


def _vaccines() -> list[str]:
    return list(national_schedule().products)


def china(at: datetime) -> datetime:
    """A stored moment as a page shows it: China's wall clock, with its offset."""
    return as_utc(at).astimezone(CHINA_TIME)


def _utc(clock: Clock) -> datetime:
    return clock.now().astimezone(UTC)


# --- slots -----------------------------------------------------------------------------------


def _slot_view(row: Mapping[Any, Any], now: datetime | None = None) -> dict[str, Any]:
    starts = as_utc(row["starts_at"])
    view = {
        "slot_id": int(row["id"]),
        "site_uscc": row["site_uscc"],
        "vaccine": row["vaccine"],
        "day": row["day"].isoformat(),
        "starts_at": china(starts).isoformat(),
        "ends_at": china(row["ends_at"]).isoformat(),
        "capacity": int(row["capacity"]),
        "booked": int(row["booked"]),
        "remaining": remaining(int(row["capacity"]), int(row["booked"])),
    }
    if now is not None:
        view["bookable"] = view["remaining"] > 0 and starts > now
    return view


def open_slot(engine: Engine, clock: Clock, actor: str, user: str, request: SlotOpening) -> Done:
    """号源: the site's staff open places for a vaccine in a time window. The same opening
    again is answered again (200); another with the same start refused (``slot_changed``)."""
    return _once_more(lambda: _open_slot(engine, clock, actor, user, request))


def _open_slot(engine: Engine, clock: Clock, actor: str, user: str, request: SlotOpening) -> Done:
    with write_tx(engine) as conn:
        require_kind(unit(conn, actor), OrgKind.POV, "open appointment slots")
        published = store.hours_of(conn, [actor]).get(actor)
        hours = None if published is None else _hours(published)
        now = _utc(clock)
        check_opening(request, _vaccines(), hours, now)
        starts, ends = request.starts_at.astimezone(UTC), request.ends_at.astimezone(UTC)
        same = store.slot_at(conn, actor, request.vaccine, starts)
        if same is not None:
            if as_utc(same["ends_at"]) == ends and same["capacity"] == request.capacity:
                return Done(_slot_view(same, now), created=False)
            raise DomainError(
                Reason.SLOT_CHANGED,
                f"slot {same['id']} of {request.vaccine} starts then, with another end or capacity",
                field="start",
                details={"slot_id": int(same["id"])},
            )
        slot_id = store.insert_slot(
            conn,
            {
                "site_uscc": actor,
                "vaccine": request.vaccine,
                "day": request.day,
                "starts_at": starts,
                "ends_at": ends,
                "capacity": request.capacity,
                "opened_by": user,
                "opened_at": now,
            },
        )
        store.journal_appointment(
            conn,
            "slot_opening",
            {
                "org_uscc": actor,
                "slot_id": slot_id,
                "vaccine": request.vaccine,
                "starts_at": starts.isoformat(),
                "ends_at": ends.isoformat(),
                "capacity": request.capacity,
                "recorded_by": user,
            },
        )
        row = store.find_slot(conn, slot_id)
        assert row is not None
        return Done(_slot_view(row, now), created=True)


def _hours(row: Mapping[Any, Any]) -> SiteHours:
    return SiteHours.model_validate({k: row[k] for k in ("address", "phone", "week", "closed")})


def public_slots(
    engine: Engine,
    clock: Clock,
    site_uscc: str,
    vaccine: str | None,
    first_day: date | None,
    days: int,
) -> dict[str, Any]:
    """号源 for the public: a site's slots from ``first_day`` (today) for ``days`` days, not
    started yet, each with the places left."""
    if vaccine is not None and vaccine not in _vaccines():
        raise DomainError(
            Reason.UNKNOWN_VACCINE, f"{vaccine!r} is no vaccine of the schedule", field="vaccine"
        )
    now = _utc(clock)
    first = first_day or local_date(now)
    if not FIRST_DAY <= first <= LAST_DAY:
        raise DomainError(
            Reason.OUT_OF_RANGE, f"a day from {FIRST_DAY} to {LAST_DAY}", field="from"
        )
    with read_tx(engine) as conn:
        site = unit(conn, site_uscc, field="site_uscc")
        if site.kind is not OrgKind.POV:
            raise DomainError(
                Reason.WRONG_ORGANISATION_KIND,
                f"{site_uscc} is not a vaccination site",
                field="site_uscc",
            )
        rows = store.slots(
            conn,
            site_uscc=site_uscc,
            vaccine=vaccine,
            first_day=first,
            last_day=first + timedelta(days=min(days, MAX_DAYS) - 1),
            after=now,
            limit=MAX_SLOTS,
        )
    return {
        "site_uscc": site_uscc,
        "from": first.isoformat(),
        "days": min(days, MAX_DAYS),
        "slots": [_slot_view(r, now) for r in rows],
    }


# --- a guardian's bookings -------------------------------------------------------------------


def _view(row: Mapping[Any, Any]) -> dict[str, Any]:
    view = {
        "appointment_id": int(row["id"]),
        "slot_id": int(row["slot_id"]),
        "site_uscc": row["site_uscc"],
        "child_id": row["child_id"],
        "vaccine": row["vaccine"],
        "day": row["day"].isoformat(),
        "starts_at": china(row["starts_at"]).isoformat(),
        "ends_at": china(row["ends_at"]).isoformat(),
        "state": row["state"],
        "booked_at": as_utc(row["booked_at"]).isoformat(),
        "cancelled_at": None
        if row["cancelled_at"] is None
        else as_utc(row["cancelled_at"]).isoformat(),
        "replaced_by": row["replaced_by"],
        "checked_in_at": None
        if row["checked_in_at"] is None
        else as_utc(row["checked_in_at"]).isoformat(),
    }
    if "site_name" in row:
        view["site_name"] = row["site_name"]
    return view


def _guardians_child(conn: Connection, who: GuardianSession, child_id: str) -> Any:
    row = children_store.find_child(conn, child_id)
    if row is None or not store.is_guardian(conn, child_id, who.phone):
        raise DomainError(Reason.NOT_YOUR_CHILD, "not a child of yours", field="child_id")
    if row["state"] == children_store.MERGED:
        raise DomainError(
            Reason.CHILD_MERGED,
            f"this record was merged into {row['merged_into']}: book for that one",
            field="child_id",
        )
    if row["state"] == children_store.MOVED_OUT:
        raise DomainError(
            Reason.CHILD_MOVED_OUT, "the child moved to another province", field="child_id"
        )
    return row


def _check_due(conn: Connection, child: Any, slot: Mapping[str, Any]) -> None:
    """The slot's vaccine is the child's next dose of its series, and the slot's day is on
    or after that dose's earliest date (see :func:`check_due`)."""
    day = china(as_utc(slot["starts_at"])).date()
    check_due(slot["vaccine"], day, recipients.series_of(conn, child, day, slot["vaccine"]))


def _slot(conn: Connection, slot_id: int) -> Any:
    row = store.find_slot(conn, slot_id)
    if row is None:
        raise DomainError(Reason.UNKNOWN_SLOT, f"no slot {slot_id}", field="slot_id")
    return row


def book(engine: Engine, clock: Clock, who: GuardianSession, request: Booking) -> Done:
    """预约: a place in a slot for a child of the guardian's. Refused when the slot is full
    (``slot_full``) or has started (``slot_in_past``), the child is not theirs
    (``not_your_child``) or already holds a booking for the vaccine (``already_booked``);
    the same booking again is answered again."""
    return _once_more(lambda: _book(engine, clock, who, request))


def _book(engine: Engine, clock: Clock, who: GuardianSession, request: Booking) -> Done:
    with write_tx(engine) as conn:
        slot = _slot(conn, request.slot_id)
        child = _guardians_child(conn, who, request.child_id)
        now = _utc(clock)
        live = store.live_booking(conn, request.child_id, slot["vaccine"])
        if live is not None:
            if live["slot_id"] == slot["id"]:
                return Done(_view(live), created=False)
            raise DomainError(
                Reason.ALREADY_BOOKED,
                f"the child already has a {slot['vaccine']} booking: cancel or reschedule it",
                field="child_id",
                details={"appointment_id": int(live["id"])},
            )
        check_bookable(as_utc(slot["starts_at"]), now)
        _check_due(conn, child, slot)
        if not store.take_place(conn, int(slot["id"])):
            raise DomainError(Reason.SLOT_FULL, "no place is left in this slot", field="slot_id")
        appointment_id = store.insert_appointment(
            conn,
            {
                "slot_id": slot["id"],
                "child_id": request.child_id,
                "vaccine": slot["vaccine"],
                "state": State.BOOKED.value,
                "guardian_id": who.account_id,
                "booked_at": now,
            },
        )
        store.journal_appointment(
            conn,
            "appointment_booking",
            {
                "org_uscc": slot["site_uscc"],
                "appointment_id": appointment_id,
                "slot_id": int(slot["id"]),
                "child_id": request.child_id,
                "vaccine": slot["vaccine"],
                "guardian_account_id": who.account_id,
            },
        )
        return Done(_own(conn, appointment_id), created=True)


def _own(conn: Connection, appointment_id: int) -> dict[str, Any]:
    row = store.find_appointment(conn, appointment_id)
    assert row is not None
    return _view(row)


def _guardians_booking(conn: Connection, who: GuardianSession, appointment_id: int) -> Any:
    row = store.find_appointment(conn, appointment_id)
    if row is None:
        raise DomainError(Reason.UNKNOWN_APPOINTMENT, f"no appointment {appointment_id}")
    if not store.is_guardian(conn, str(row["child_id"]), who.phone):
        raise DomainError(Reason.NOT_YOUR_APPOINTMENT, "the appointment is not of your child")
    return row


def _still_booked(row: Mapping[Any, Any]) -> None:
    if row["state"] == State.ATTENDED.value:
        raise DomainError(Reason.ILLEGAL_TRANSITION, "the child was checked in already")
    if row["state"] == State.CANCELLED.value:
        raise DomainError(Reason.BOOKING_CANCELLED, "the appointment was cancelled")


def cancel(engine: Engine, clock: Clock, who: GuardianSession, appointment_id: int) -> Done:
    """取消预约 before the slot starts: its place is free again at once. Cancelling again is
    answered again."""
    with write_tx(engine) as conn:
        row = _guardians_booking(conn, who, appointment_id)
        if row["state"] == State.CANCELLED.value:
            return Done(_view(row), created=False)
        _still_booked(row)
        now = _utc(clock)
        check_bookable(as_utc(row["starts_at"]), now, field=None)
        if not store.cancel(conn, appointment_id, now):
            raise DomainError(Reason.WRITE_CONFLICT, "the appointment changed meanwhile")
        store.free_place(conn, int(row["slot_id"]))
        store.journal_appointment(
            conn,
            "appointment_cancel",
            {
                "org_uscc": row["site_uscc"],
                "appointment_id": appointment_id,
                "slot_id": int(row["slot_id"]),
                "child_id": row["child_id"],
                "guardian_account_id": who.account_id,
            },
        )
        return Done(_own(conn, appointment_id), created=True)


def reschedule(
    engine: Engine, clock: Clock, who: GuardianSession, appointment_id: int, request: Reschedule
) -> Done:
    """改约: the booking moves to another slot of its vaccine, atomically — the new place
    taken and the old one freed together, or nothing (a full new slot leaves the booking as
    it was). The same move again is answered again."""
    return _once_more(lambda: _reschedule(engine, clock, who, appointment_id, request))


def _reschedule(
    engine: Engine, clock: Clock, who: GuardianSession, appointment_id: int, request: Reschedule
) -> Done:
    with write_tx(engine) as conn:
        row = _guardians_booking(conn, who, appointment_id)
        if row["state"] == State.CANCELLED.value and row["replaced_by"] is not None:
            moved = store.find_appointment(conn, int(row["replaced_by"]))
            if moved is not None and moved["slot_id"] == request.slot_id:
                return Done(_view(moved), created=False)
        _still_booked(row)
        slot = _slot(conn, request.slot_id)
        if slot["id"] == row["slot_id"]:
            return Done(_view(row), created=False)
        if slot["vaccine"] != row["vaccine"]:
            raise DomainError(
                Reason.VACCINE_MISMATCH,
                f"the slot is for {slot['vaccine']}, the booking for {row['vaccine']}",
                field="slot_id",
            )
        now = _utc(clock)
        check_bookable(as_utc(row["starts_at"]), now, field=None)
        check_bookable(as_utc(slot["starts_at"]), now)
        child = children_store.find_child(conn, row["child_id"])
        if child is not None:
            _check_due(conn, child, slot)
        if not store.take_place(conn, int(slot["id"])):
            raise DomainError(Reason.SLOT_FULL, "no place is left in this slot", field="slot_id")
        if not store.cancel(conn, appointment_id, now):
            raise DomainError(Reason.WRITE_CONFLICT, "the appointment changed meanwhile")
        store.free_place(conn, int(row["slot_id"]))
        new_id = store.insert_appointment(
            conn,
            {
                "slot_id": slot["id"],
                "child_id": row["child_id"],
                "vaccine": row["vaccine"],
                "state": State.BOOKED.value,
                "guardian_id": who.account_id,
                "booked_at": now,
            },
        )
        store.set_replaced_by(conn, appointment_id, new_id)
        store.journal_appointment(
            conn,
            "appointment_reschedule",
            {
                "org_uscc": slot["site_uscc"],
                "appointment_id": new_id,
                "replaces": appointment_id,
                "from_slot_id": int(row["slot_id"]),
                "slot_id": int(slot["id"]),
                "child_id": row["child_id"],
                "vaccine": row["vaccine"],
                "guardian_account_id": who.account_id,
            },
        )
        return Done(_own(conn, new_id), created=True)


def of_guardian(engine: Engine, who: GuardianSession) -> list[dict[str, Any]]:
    """The appointments of the guardian's children, latest slot first."""
    with read_tx(engine) as conn:
        ids = [str(r["id"]) for r in store.children_of_phone(conn, who.phone)]
        return [_view(r) for r in store.of_children(conn, ids, MAX_APPOINTMENTS)]


# --- the site's day ------------------------------------------------------------------------


def day_list(engine: Engine, actor: str, day: date) -> dict[str, Any]:
    """当日预约: the site's live appointments of a day, by time, with each child's name,
    sex, birth date and card number (for the staff at the door)."""
    with read_tx(engine) as conn:
        require_kind(unit(conn, actor), OrgKind.POV, "keep appointments")
        rows = store.day_list(conn, actor, day)
    items = [
        _view(r)
        | {
            "child_name": r["child_name"],
            "sex": r["sex"],
            "birth_date": r["birth_date"].isoformat(),
            "card_no": r["card_no"],
        }
        for r in rows
    ]
    attended = sum(1 for i in items if i["state"] == State.ATTENDED.value)
    return {
        "site_uscc": actor,
        "day": day.isoformat(),
        "booked": len(items),
        "attended": attended,
        "appointments": items,
    }


def check_in(engine: Engine, clock: Clock, actor: str, user: str, appointment_id: int) -> Done:
    """到场签到: the staff mark the child arrived. Again: answered as it was (idempotent)."""
    with write_tx(engine) as conn:
        row = store.find_appointment(conn, appointment_id)
        if row is None:
            raise DomainError(Reason.UNKNOWN_APPOINTMENT, f"no appointment {appointment_id}")
        if row["site_uscc"] != actor:
            raise DomainError(Reason.NOT_YOUR_SITE, "the appointment is at another site")
        if row["state"] == State.ATTENDED.value:
            return Done(_view(row), created=False)
        if row["state"] == State.CANCELLED.value:
            raise DomainError(Reason.BOOKING_CANCELLED, "the appointment was cancelled")
        now = _utc(clock)
        if not store.check_in(conn, appointment_id, now, user):
            raise DomainError(Reason.WRITE_CONFLICT, "the appointment changed meanwhile")
        store.journal_appointment(
            conn,
            "appointment_check_in",
            {
                "org_uscc": actor,
                "appointment_id": appointment_id,
                "slot_id": int(row["slot_id"]),
                "child_id": row["child_id"],
                "recorded_by": user,
            },
        )
        return Done(_own(conn, appointment_id), created=True)
