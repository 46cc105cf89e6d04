"""SQL of the public services: sites' published hours, appointment slots and appointments.

A place in a slot is taken by :func:`take_place` (``UPDATE … SET booked = booked + 1 WHERE
booked < capacity``: one statement, atomic on both backends, so concurrent bookings never
overfill a slot) and given back by :func:`free_place`, each in the transaction that writes
the appointment."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from vaxtrace.store.immunization.schema import (
    appointment,
    appointment_slot,
    child,
    child_phone,
    journal,
    organisation,
    site_hours,
)

CANCELLED = "cancelled"


# --- hours ----------------------------------------------------------------------------------


def hours_of(conn: Connection, sites: Collection[str]) -> dict[str, RowMapping]:
    if not sites:
        return {}
    query = select(site_hours).where(site_hours.c.site_uscc.in_(list(sites)))
    return {str(r["site_uscc"]): r for r in conn.execute(query).mappings()}


def set_hours(conn: Connection, site_uscc: str, values: Mapping[str, Any]) -> None:
    done = conn.execute(
        update(site_hours).where(site_hours.c.site_uscc == site_uscc).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(site_hours).values(site_uscc=site_uscc, **values))


# --- slots ----------------------------------------------------------------------------------


def insert_slot(conn: Connection, values: Mapping[str, Any]) -> int:
    query = insert(appointment_slot).values(booked=0, **values).returning(appointment_slot.c.id)
    return int(conn.execute(query).scalar_one())


def find_slot(conn: Connection, slot_id: int) -> RowMapping | None:
    query = select(appointment_slot).where(appointment_slot.c.id == slot_id)
    return conn.execute(query).mappings().first()


def slot_at(
    conn: Connection, site_uscc: str, vaccine: str, starts_at: datetime
) -> RowMapping | None:
    query = select(appointment_slot).where(
        appointment_slot.c.site_uscc == site_uscc,
        appointment_slot.c.vaccine == vaccine,
        appointment_slot.c.starts_at == starts_at,
    )
    return conn.execute(query).mappings().first()


def slots(
    conn: Connection,
    *,
    site_uscc: str,
    vaccine: str | None,
    first_day: date,
    last_day: date,
    after: datetime,
    limit: int,
) -> list[RowMapping]:
    """A site's slots from ``first_day`` to ``last_day`` not started by ``after``, by time."""
    query = (
        select(appointment_slot)
        .where(
            appointment_slot.c.site_uscc == site_uscc,
            appointment_slot.c.day >= first_day,
            appointment_slot.c.day <= last_day,
            appointment_slot.c.starts_at > after,
        )
        .order_by(appointment_slot.c.starts_at, appointment_slot.c.vaccine, appointment_slot.c.id)
        .limit(limit)
    )
    if vaccine is not None:
        query = query.where(appointment_slot.c.vaccine == vaccine)
    return list(conn.execute(query).mappings())


def take_place(conn: Connection, slot_id: int) -> bool:
    """Take one place in the slot if one is left (one conditional update: never over
    capacity, whatever runs at the same time); False when it is full."""
    done = conn.execute(
        update(appointment_slot)
        .where(
            appointment_slot.c.id == slot_id,
            appointment_slot.c.booked < appointment_slot.c.capacity,
        )
        .values(booked=appointment_slot.c.booked + 1)
    )
    return done.rowcount == 1


def free_place(conn: Connection, slot_id: int) -> None:
    conn.execute(
        update(appointment_slot)
        .where(appointment_slot.c.id == slot_id, appointment_slot.c.booked > 0)
        .values(booked=appointment_slot.c.booked - 1)
    )


# --- appointments ---------------------------------------------------------------------------

APPOINTMENT_COLUMNS = (
    appointment,
    appointment_slot.c.site_uscc,
    appointment_slot.c.day,
    appointment_slot.c.starts_at,
    appointment_slot.c.ends_at,
)


def insert_appointment(conn: Connection, values: Mapping[str, Any]) -> int:
    query = insert(appointment).values(**values).returning(appointment.c.id)
    return int(conn.execute(query).scalar_one())


def find_appointment(conn: Connection, appointment_id: int) -> RowMapping | None:
    query = (
        select(*APPOINTMENT_COLUMNS)
        .join(appointment_slot, appointment_slot.c.id == appointment.c.slot_id)
        .where(appointment.c.id == appointment_id)
    )
    return conn.execute(query).mappings().first()


def live_booking(conn: Connection, child_id: str, vaccine: str) -> RowMapping | None:
    """The child's booking for the vaccine that holds a place, if any."""
    query = (
        select(*APPOINTMENT_COLUMNS)
        .join(appointment_slot, appointment_slot.c.id == appointment.c.slot_id)
        .where(
            appointment.c.child_id == child_id,
            appointment.c.vaccine == vaccine,
            appointment.c.state != CANCELLED,
        )
    )
    return conn.execute(query).mappings().first()


def cancel(
    conn: Connection, appointment_id: int, now: datetime, replaced_by: int | None = None
) -> bool:
    """Cancel a booked appointment (False if it was no longer booked)."""
    done = conn.execute(
        update(appointment)
        .where(appointment.c.id == appointment_id, appointment.c.state == "booked")
        .values(state=CANCELLED, cancelled_at=now, replaced_by=replaced_by)
    )
    return done.rowcount == 1


def set_replaced_by(conn: Connection, appointment_id: int, replaced_by: int) -> None:
    conn.execute(
        update(appointment)
        .where(appointment.c.id == appointment_id)
        .values(replaced_by=replaced_by)
    )


def check_in(conn: Connection, appointment_id: int, now: datetime, by: str) -> bool:
    """Mark a booked appointment attended (False if it was not booked)."""
    done = conn.execute(
        update(appointment)
        .where(appointment.c.id == appointment_id, appointment.c.state == "booked")
        .values(state="attended", checked_in_at=now, checked_in_by=by)
    )
    return done.rowcount == 1


def of_children(conn: Connection, child_ids: Collection[str], limit: int) -> list[RowMapping]:
    """The appointments of some children, newest slot first."""
    if not child_ids:
        return []
    query = (
        select(*APPOINTMENT_COLUMNS, organisation.c.name.label("site_name"))
        .join(appointment_slot, appointment_slot.c.id == appointment.c.slot_id)
        .join(organisation, organisation.c.uscc == appointment_slot.c.site_uscc)
        .where(appointment.c.child_id.in_(list(child_ids)))
        .order_by(appointment_slot.c.starts_at.desc(), appointment.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def day_list(conn: Connection, site_uscc: str, day: date) -> list[RowMapping]:
    """A site's live appointments of a day, with each child's name, card and birth date."""
    query = (
        select(
            *APPOINTMENT_COLUMNS,
            child.c.name.label("child_name"),
            child.c.sex,
            child.c.birth_date,
            child.c.card_no,
        )
        .join(appointment_slot, appointment_slot.c.id == appointment.c.slot_id)
        .join(child, child.c.id == appointment.c.child_id)
        .where(
            appointment_slot.c.site_uscc == site_uscc,
            appointment_slot.c.day == day,
            appointment.c.state != CANCELLED,
        )
        .order_by(appointment_slot.c.starts_at, appointment.c.id)
    )
    return list(conn.execute(query).mappings())


# --- the children a phone is a guardian of --------------------------------------------------


def children_of_phone(conn: Connection, phone: str) -> list[RowMapping]:
    """The children whose guardians list ``phone`` (any state), with their site's name."""
    query = (
        select(
            child.c.id,
            child.c.site_uscc,
            child.c.name,
            child.c.sex,
            child.c.birth_date,
            child.c.state,
            child.c.merged_into,
            organisation.c.name.label("site_name"),
        )
        .join(child_phone, child_phone.c.child_id == child.c.id)
        .join(organisation, organisation.c.uscc == child.c.site_uscc)
        .where(child_phone.c.phone == phone)
        .order_by(child.c.birth_date, child.c.id)
    )
    return list(conn.execute(query).mappings())


def is_guardian(conn: Connection, child_id: str, phone: str) -> bool:
    query = select(child_phone.c.child_id).where(
        child_phone.c.child_id == child_id, child_phone.c.phone == phone
    )
    return conn.execute(query).first() is not None


def phone_at_site(conn: Connection, phone: str, site_uscc: str) -> bool:
    """Whether ``phone`` is a guardian's of a child the site manages (active)."""
    query = (
        select(child.c.id)
        .join(child_phone, child_phone.c.child_id == child.c.id)
        .where(
            child_phone.c.phone == phone,
            child.c.site_uscc == site_uscc,
            child.c.state == "active",
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def journal_appointment(conn: Connection, kind: str, body: Mapping[str, Any]) -> int:
    """Journal a decision of the public services. ``body`` names no personal data: ids (a
    child's is pseudonymous), the site (``org_uscc``, who reads the entry), times."""
    return journal.keep(conn, kind, body)
