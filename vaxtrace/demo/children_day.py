"""The children's day (受种者): the province's CDC supplies the first vaccination site with a
case of each delivery of a programme vaccine still open; the sites register their children
(建档), and the first site gives each child every dose the schedule says is due that it has
in stock (none of the dose gate's sample batches), scanning the child's card (its
``child_id``) with the dose. The record of each child then shows its doses judged and its
next doses forecast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.recipients.vaccines import vaccine_of
from vaxtrace.core.schedule import add_months, national_schedule
from vaxtrace.demo.steps import document, receive_and_supply
from vaxtrace.demo.world import Demo, cast
from vaxtrace.sim import catalogue

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

API = "/immunization/v1"
PROGRAMME = frozenset(t.key for t in catalogue.TEMPLATES if t.nip)
"""The demo's products of the national programme (its non-programme ones: HPV, flu, rabies)."""


@dataclass(frozen=True)
class Newcomer:
    """A child the demo registers: its age in months today, who registers it, its guardian."""

    name: str
    sex: str
    months: int
    site: int
    guardian: str
    relation: str
    phone: str


CHILDREN = (
    Newcomer("林小满", "F", 0, 0, "林芳", "mother", "13800001001"),
    Newcomer("周子航", "M", 2, 0, "周建国", "father", "13800001002"),
    Newcomer("吴雨桐", "F", 3, 0, "陈静", "mother", "13800001003"),
    Newcomer("郑浩然", "M", 8, 0, "郑伟", "father", "13800001004"),
    Newcomer("孙可欣", "F", 18, 0, "孙丽", "mother", "13800001005"),
    Newcomer("王一诺", "M", 72, 0, "王磊", "father", "13800001006"),
    Newcomer("冯思远", "M", 5, 1, "冯敏", "mother", "13800001007"),
)


def children_day(demo: Demo, client: TestClient) -> list[str]:
    """Supply the first site, register the children at both sites, vaccinate the first site's
    along the schedule; remember the children in ``demo.children``. Answers what failed."""
    province = cast().province
    cdc, sites = province[0].uscc, [o.uscc for o in province[1:3]]
    staff = {uscc: {"Authorization": f"Bearer {demo.staff[uscc]}"} for uscc in (cdc, *sites)}
    failures = _supply(demo, client, staff[cdc], staff[sites[0]], sites[0])
    today = local_date(datetime.now(UTC))
    for n, newcomer in enumerate(CHILDREN):
        site = sites[newcomer.site]
        sent = client.post(
            f"{API}/children", json=_registration(newcomer, today, site, n), headers=staff[site]
        )
        if sent.status_code not in (200, 201):
            failures.append(f"registering {newcomer.name}: HTTP {sent.status_code} {sent.text}")
            continue
        child_id = str(sent.json()["child"]["child_id"])
        demo.children.append({"child_id": child_id, "name": newcomer.name, "site": site})
        if newcomer.site == 0:
            failures += _vaccinate(demo, client, staff[site], child_id, n)
    return failures


def _supply(
    demo: Demo, client: TestClient, as_cdc: dict[str, str], as_pov: dict[str, str], pov: str
) -> list[str]:
    """The CDC receives each note of a programme vaccine (国家免疫规划疫苗) still open and
    supplies a case of it to the site; the others stay open for a clerk to receive."""
    notes = client.get(f"{API}/receipts", headers=as_cdc).json()
    failures = []
    now = datetime.now(UTC).isoformat()
    for note in notes:
        products = {b["product_code"] for b in note["batches"]}
        if note["state"] != "open" or not products & PROGRAMME:
            continue
        no = note["note_no"]
        top = receive_and_supply(client, (as_cdc, as_pov), pov, no, no, now)
        if top.startswith("!"):
            failures.append(f"children's day supply {top[1:]}")
        else:
            demo.children_deliveries += 1
    return failures


def _registration(newcomer: Newcomer, today: date, site: str, n: int) -> dict[str, Any]:
    born = add_months(today, -newcomer.months) - timedelta(days=3 * n % 7)
    return {
        "name": newcomer.name,
        "sex": newcomer.sex,
        "birth_date": born.isoformat(),
        "birth_division": "320102",
        "guardians": [
            {"name": newcomer.guardian, "relation": newcomer.relation, "phone": newcomer.phone}
        ],
        "card_no": f"{site[2:8]}-{born.year}-{n + 1:04d}",
        "site_uscc": site,
    }


def _vaccinate(
    demo: Demo, client: TestClient, as_pov: dict[str, str], child_id: str, n: int
) -> list[str]:
    """Every dose due today (due or overdue, its earliest date reached) that the site has a
    usable dose of: the dose's code and the child's id, as the nurse scans them."""
    short_names = list(national_schedule().products)
    record = client.get(f"{API}/children/{child_id}/record", headers=as_pov).json()
    today = record["assessment_date"]
    for series in record["series"]:
        upcoming = series.get("next")
        if series["status"] not in ("due", "overdue") or upcoming is None:
            continue
        if upcoming["earliest"] > today:
            continue
        wanted = set(upcoming["products"])
        code = _usable_dose(client, as_pov, wanted, short_names, _gate_batches(demo))
        if code is None:
            continue
        body = document(f"demo-child-{n}-{series['vaccine']}") | {
            "code": code,
            "vaccinator": "李护士",
            "dose_number": upcoming["dose"],
            "vaccinee_ref": child_id,
        }
        done = client.post(f"{API}/vaccinations", json=body, headers=as_pov)
        if done.status_code != 201:
            return [
                f"vaccinating {child_id} ({series['vaccine']}): HTTP {done.status_code} {done.text}"
            ]
        demo.children_doses += 1
    return []


def _gate_batches(demo: Demo) -> set[str]:
    """The batches the dose gate's samples come from: their doses stay for people to try."""
    return {b.batch_no for b in demo.province.gate_batches}


def _usable_dose(
    client: TestClient,
    as_pov: dict[str, str],
    wanted: set[str],
    short_names: list[str],
    kept: set[str],
) -> str | None:
    """A usable dose of one of the ``wanted`` vaccines the site holds (soonest expiry first),
    of none of the ``kept`` batches."""
    summary = client.get(f"{API}/stock/summary", headers=as_pov).json()
    lines = sorted(summary["lines"], key=lambda x: x["expiry_date"] or "")
    for line in lines:
        vaccine = vaccine_of(line["product_code"], line["product_name"], short_names)
        if line["status"] == "usable" and vaccine in wanted and line["batch_no"] not in kept:
            return str(line["example_code"])
    return None
