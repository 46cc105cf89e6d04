"""The schedule engine against the case table (tests/core/schedule_cases/): expectations in the
shape of CDSi test cases, computed by hand from the schedule's rules, never by the engine."""

from __future__ import annotations

import csv
import json
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from vaxtrace.core.errors import DomainError
from vaxtrace.core.schedule import (
    Child,
    DoseGiven,
    add_months,
    age_on,
    evaluate,
    national_schedule,
    parse_child,
    parse_duration,
    parse_schedule,
    summary,
)
from vaxtrace.core.schedule.data import DATA_FILE
from vaxtrace.web.problems import status_of_reason

CASES = Path(__file__).parent / "schedule_cases"


def _series_cases() -> list[dict[str, str]]:
    with (CASES / "series_cases.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _doses(text: str) -> tuple[DoseGiven, ...]:
    doses = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        vaccine, day = item.split()
        doses.append(DoseGiven(vaccine, date.fromisoformat(day)))
    return tuple(doses)


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


SERIES_CASES = _series_cases()
ENTRY = json.loads((CASES / "school_entry_cases.json").read_text(encoding="utf-8"))
ERRORS = json.loads((CASES / "error_cases.json").read_text(encoding="utf-8"))


def test_the_table_has_at_least_150_cases_covering_every_series() -> None:
    total = len(SERIES_CASES) + len(ENTRY["cases"]) + len(ERRORS["cases"])
    assert total >= 150
    assert {c["series"] for c in SERIES_CASES} == set(national_schedule().series_keys)
    assert len({c["id"] for c in SERIES_CASES}) == len(SERIES_CASES)


@pytest.mark.parametrize("case", SERIES_CASES, ids=[c["id"] for c in SERIES_CASES])
def test_series_case(case: dict[str, str]) -> None:
    child = Child(
        date.fromisoformat(case["birth_date"]),
        case["sex"],
        date.fromisoformat(case["assessment_date"]),
        _doses(case["doses"]),
    )
    found = {s.vaccine: s for s in evaluate(child).series}[case["series"]]
    got = {
        "status": found.status.value,
        "doses_valid": str(found.doses_valid),
        "evaluations": ";".join(d.reason.value for d in found.doses),
        "next_dose": "" if found.next is None else str(found.next.dose),
        "earliest": _iso(found.next.earliest) if found.next else "",
        "recommended": _iso(found.next.recommended) if found.next else "",
        "overdue": _iso(found.next.overdue) if found.next else "",
    }
    assert got == {k: case[k] for k in got}, case["description"]


def _entry_doses(case: dict[str, Any]) -> list[dict[str, str]]:
    doses: list[dict[str, str]] = list(case.get("doses") or ENTRY["histories"][case["history"]])
    doses = [d for d in doses if d not in case.get("without", [])]
    return doses + list(case.get("with", []))


@pytest.mark.parametrize("case", ENTRY["cases"], ids=[c["id"] for c in ENTRY["cases"]])
def test_school_entry_case(case: dict[str, Any]) -> None:
    raw = {k: case[k] for k in ("birth_date", "sex", "assessment_date")}
    found = evaluate(parse_child({**raw, "doses": _entry_doses(case)}))
    statuses = {s.vaccine: s.status.value for s in found.series}
    expected = case["expected"]
    assert {k: statuses[k] for k in expected["statuses"]} == expected["statuses"]
    assert summary(found)["school_entry"] == expected["school_entry"]


@pytest.mark.parametrize("case", ERRORS["cases"], ids=[c["id"] for c in ERRORS["cases"]])
def test_bad_input_is_a_domain_error(case: dict[str, Any]) -> None:
    with pytest.raises(DomainError) as refused:
        evaluate(parse_child(case["input"]))
    assert (refused.value.reason, refused.value.field) == (case["reason"], case["field"])
    assert status_of_reason(refused.value.reason) == 422


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 1, 31), 2, date(2024, 3, 31)),  # from the birth date, not the clamped date
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2023, 12, 31), -1, date(2023, 11, 30)),
        (date(2023, 5, 10), 0, date(2023, 5, 10)),
    ],
)
def test_calendar_months_clamp_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_age_on_counts_full_months() -> None:
    assert age_on(date(2023, 1, 31), date(2023, 2, 27)) == (0, 27)
    assert age_on(date(2023, 1, 31), date(2023, 2, 28)) == (1, 0)
    assert age_on(date(2024, 2, 29), date(2025, 2, 28)) == (12, 0)


def test_durations() -> None:
    assert str(parse_duration("4y")) == "4y"
    assert parse_duration("4y").months == 48
    assert parse_duration("28d").days == 28
    with pytest.raises(DomainError):
        parse_duration("6w")


def test_every_edition_cites_sources_that_exist() -> None:
    schedule = national_schedule()
    assert [e.id for e in schedule.editions] == ["2021", "2025-DTaP"]
    assert schedule.grace_period_days == 0
    for edition in schedule.editions:
        assert edition.sources
        for series in edition.series.values():
            assert series.sources and all(s in schedule.sources for s in series.sources)


def test_the_2025_change_replaces_only_dtap() -> None:
    old, new = national_schedule().editions
    changed = {k for k in old.series if old.series[k] != new.series[k]}
    assert changed == {"DTaP"}
    assert [sorted(d.products) for d in new.series["DTaP"].plans[0].doses] == [["DTaP"]] * 5
    assert sorted(old.series["DTaP"].plans[0].doses[4].products) == ["DT"]


def test_every_series_names_its_diseases_and_an_unknown_series_is_refused() -> None:
    schedule = national_schedule()
    assert set(schedule.diseases) == set(schedule.series_keys)
    text = resources.files("vaxtrace.core").joinpath(DATA_FILE).read_text("utf-8")
    raw = tomllib.loads(text)
    raw["diseases"]["Smallpox"] = "天花 (smallpox)"
    with pytest.raises(DomainError, match="unknown series 'Smallpox'"):
        parse_schedule(raw)


def test_a_vaccine_is_labelled_by_its_product_or_its_series_products() -> None:
    schedule = national_schedule()
    assert schedule.label("HepB") == "乙肝疫苗"
    assert schedule.label("MPSV-AC") == "A群C群流脑多糖疫苗"
    assert schedule.label("JE") == "乙脑减毒活疫苗/乙脑灭活疫苗"
    assert schedule.label("Polio") == "脊灰灭活疫苗/二价脊灰减毒活疫苗"
    assert schedule.label("Smallpox") is None
