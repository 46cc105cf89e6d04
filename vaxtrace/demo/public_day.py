"""The public services of the province (公众服务), set up as the sites' staff would: each site
publishes its address and opening hours, the first site opens appointment slots (号源) on its
vaccination days (Tuesdays and Thursdays) of the next six weeks for each vaccine it holds, and
opens an account for the guardian of one of its children, whose one-time password the demo
prints with the booking link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vaxtrace.core.dose_gate import local_date
from vaxtrace.demo.world import Demo, cast

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

API = "/immunization/v1"
SLOT_VACCINES = ("HepB", "IPV", "DTaP", "MMR", "JE-L")
"""What the first site opens slots for: the programme vaccines the demo supplies it with."""
WINDOWS = ({"opens": "08:00", "closes": "11:30"}, {"opens": "13:30", "closes": "17:00"})


def public_day(demo: Demo, client: TestClient) -> list[str]:
    """Hours for both sites, slots and a guardian account at the first; answers what failed."""
    sites = cast().province[1:3]
    failures: list[str] = []
    for site in sites:
        staff = {"Authorization": f"Bearer {demo.staff[site.uscc]}"}
        sent = client.put(f"{API}/site/hours", json=_hours(site.address), headers=staff)
        if sent.status_code != 200:
            failures.append(f"{site.uscc} hours: HTTP {sent.status_code} {sent.text}")
    first = sites[0].uscc
    staff = {"Authorization": f"Bearer {demo.staff[first]}"}
    for day in _vaccination_days(local_date(datetime.now(UTC)), weeks=6):
        for vaccine in SLOT_VACCINES:
            for start, end in (("08:30", "09:30"), ("14:00", "15:00")):
                slot = {"vaccine": vaccine, "day": day.isoformat(), "start": start, "end": end}
                opened = client.post(f"{API}/slots", json=slot | {"capacity": 10}, headers=staff)
                if opened.status_code not in (200, 201):
                    failures.append(f"slot {slot}: HTTP {opened.status_code} {opened.text}")
                    return failures
    return failures + _guardian_account(demo, client, staff, first)


def _hours(address: str) -> dict[str, Any]:
    week = [{"weekday": d, "windows": list(WINDOWS)} for d in range(1, 6)]
    week.append({"weekday": 6, "windows": [WINDOWS[0]]})  # Saturday mornings
    return {"address": address, "phone": "025-84000000", "week": week}


def _vaccination_days(today: date, weeks: int) -> list[date]:
    """The Tuesdays and Thursdays after today, for ``weeks`` weeks."""
    ahead = (today + timedelta(days=n) for n in range(1, 7 * weeks + 1))
    return [day for day in ahead if day.isoweekday() in (2, 4)]


def _guardian_account(
    demo: Demo, client: TestClient, staff: dict[str, str], site: str
) -> list[str]:
    """The guardian of the first site's second child (two months old, given its first doses
    today: the next ones are due in four weeks, within the slots opened)."""
    child = [c for c in demo.children if c["site"] == site][1]
    found = client.get(f"{API}/children/{child['child_id']}", headers=staff).json()
    phone = found["guardians"][0]["phone"]
    opened = client.post(f"{API}/guardian-accounts", json={"phone": phone}, headers=staff)
    if opened.status_code != 201:
        return [f"guardian account: HTTP {opened.status_code} {opened.text}"]
    demo.guardian = {
        "phone": phone,
        "initial_password": str(opened.json()["initial_password"]),
        "child_id": child["child_id"],
        "name": child["name"],
        "site": site,
    }
    return []
