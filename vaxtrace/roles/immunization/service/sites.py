"""Vaccination sites for the public: what each site publishes (address, phone, opening hours,
set by its staff) and ``sites near me`` — the sites in a division and around it, each open now
or when it next opens, with the doses it can give today by vaccine (the public stock's own
figures). No person, batch or code is shown."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from vaxtrace.core.appointments import SiteHours, status
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.identifiers import DivisionCode, DivisionLevel
from vaxtrace.core.recipients import vaccine_of
from vaxtrace.core.schedule import national_schedule
from vaxtrace.core.times import Clock, as_utc
from vaxtrace.roles.immunization.service import inventory
from vaxtrace.roles.immunization.service.lookups import require_kind, unit
from vaxtrace.store.engine import Engine, read_tx, write_tx
from vaxtrace.store.immunization import appointments as store


def set_hours(
    engine: Engine, clock: Clock, actor: str, user: str, hours: SiteHours
) -> dict[str, Any]:
    """开放时间 of the actor's site, as its staff publish them (replacing the last)."""
    with write_tx(engine) as conn:
        require_kind(unit(conn, actor), OrgKind.POV, "publish opening hours")
        now = clock.now().astimezone(UTC)
        values = hours.model_dump(mode="json")
        store.set_hours(conn, actor, values | {"updated_by": user, "updated_at": now})
        store.journal_appointment(
            conn,
            "site_hours",
            {
                "org_uscc": actor,
                "weekdays_open": sorted(d.weekday for d in hours.week),
                "closed_days": len(hours.closed),
                "recorded_by": user,
            },
        )
        return _published(values, now)


def hours_of(engine: Engine, actor: str) -> dict[str, Any] | None:
    with read_tx(engine) as conn:
        row = store.hours_of(conn, [actor]).get(actor)
    return None if row is None else _published(_hours_values(row), as_utc(row["updated_at"]))


def _hours_values(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("address", "phone", "week", "closed")}


def _published(values: Mapping[Any, Any], updated_at: datetime) -> dict[str, Any]:
    return dict(values) | {"updated_at": updated_at.isoformat()}


def near(engine: Engine, clock: Clock, division: str, on: date | None = None) -> dict[str, Any]:
    """附近接种点: the vaccination sites in ``division`` (a province, city or county code)
    and, for a county, the others of its city (``in_division`` false), each with address,
    hours, open now / next opening and the doses it can give today by vaccine."""
    asked = DivisionCode(division)
    area = asked.city if asked.level is DivisionLevel.COUNTY and asked.city else asked
    stock = inventory.public_stock(engine, area.value, on)
    with read_tx(engine) as conn:
        published = store.hours_of(conn, [s["uscc"] for s in stock["sites"]])
    now = clock.now()
    short_names = list(national_schedule().products)
    sites = []
    for site in stock["sites"]:
        row = published.get(site["uscc"])
        hours = None if row is None else SiteHours.model_validate(_hours_values(row))
        within = DivisionCode(site["division_code"]).is_within(asked)
        sites.append(
            {
                "uscc": site["uscc"],
                "name": site["name"],
                "division_code": site["division_code"],
                "in_division": within,
                "address": None if hours is None else hours.address,
                "phone": None if hours is None else hours.phone,
                "hours": None if row is None else {"week": row["week"], "closed": row["closed"]},
                **status(hours, now),
                "vaccines": [
                    v | {"vaccine": vaccine_of(v["product_code"], v["product_name"], short_names)}
                    for v in site["vaccines"]
                ],
            }
        )
    sites.sort(key=lambda s: (not s["in_division"], s["division_code"], s["uscc"]))
    return {"division_code": asked.value, "on": stock["on"], "now": now.isoformat(), "sites": sites}
