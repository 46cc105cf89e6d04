"""The school-entry check (入学入托查验) as a kindergarten and the first site would do it: the
kindergarten's roster (花名册) lists the site's children and one child the province has no
record of; the site uploads it and gets each row matched and judged, with the certificates of
the complete records and the catch-up list of the others as PDFs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaxtrace.core.school_entry import write_roster
from vaxtrace.demo.world import Demo

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

API = "/immunization/v1"
KINDERGARTEN = ("示例市玄武区示例幼儿园", "320102")
STRANGER = {  # a child no site of the province registered: the check says no_match
    "name": "赵安琪",
    "sex": "F",
    "birth_date": "2023-05-06",
    "guardians": [{"name": "赵明", "phone": "13900002001"}],
    "card_no": "",
}


def school_day(demo: Demo, client: TestClient) -> list[str]:
    """Write ``roster-sample.csv`` in the data directory, check it as the first site (入托:
    the doses due by each child's age); remember the check in ``demo.school``."""
    site = demo.children[0]["site"]
    staff = {"Authorization": f"Bearer {demo.staff[site]}"}
    children = client.get(f"{API}/children", headers=staff).json()
    roster = demo.settings.data_dir / "roster-sample.csv"
    roster.write_bytes(write_roster([*reversed(children), STRANGER]))
    form = {"school_name": KINDERGARTEN[0], "school_division": KINDERGARTEN[1]}
    with roster.open("rb") as f:
        sent = client.post(
            f"{API}/school-entry/checks",
            data=form | {"level": "kindergarten"},
            files={"file": (roster.name, f, "text/csv")},
            headers=staff,
        )
    if sent.status_code not in (200, 201):
        return [f"school-entry check: HTTP {sent.status_code} {sent.text}"]
    check = sent.json()
    demo.school = {
        "roster": str(roster),
        "check_id": str(check["check_id"]),
        "counts": check["counts"],
        "site": site,
    }
    return []
