"""Evaluation and forecast (the CDSi model applied to China's schedule), pure.

Every dose given is judged, in date order, against the edition in force on the day it was
given, as the next dose of its series: the product must be one the dose takes, the child
must be under the maximum age and at least the minimum age, and the minimum intervals from
earlier valid doses (and, for injectable live vaccines, 28 days from another injectable live
vaccine not given the same day) must have passed. An invalid dose does not count; the series
continues from the last valid dose, never restarting. The next dose is then forecast by the
edition in force on the assessment date: earliest (minimum age, intervals), recommended
(recommended age, never before earliest) and overdue (the age by which the schedule says the
dose should be done). No grace period: a dose one day early is invalid (see README).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.schedule.ages import Duration
from vaxtrace.core.schedule.data import DoseRule, Plan, Schedule, Series, national_schedule


class DoseVerdict(StrEnum):
    """Why a dose given counts or does not."""

    VALID = "valid"
    TOO_EARLY = "too_early"  # before the dose's minimum age
    TOO_LATE = "too_late"  # at or after the maximum age (series, dose or catch-up limit)
    INTERVAL_TOO_SHORT = "interval_too_short"  # too soon after an earlier dose
    LIVE_VACCINE_INTERVAL = "live_vaccine_interval"  # < 28 days after another live injectable
    WRONG_PRODUCT = "wrong_product"  # not a product this dose takes (e.g. DT for DTaP dose 1)
    EXTRA_DOSE = "extra_dose"  # the series was already complete


class Status(StrEnum):
    COMPLETE = "complete"
    DUE = "due"
    OVERDUE = "overdue"
    NOT_YET_DUE = "not_yet_due"
    AGED_OUT = "aged_out"  # past the maximum age: no more doses (e.g. BCG from 4 y)


SEXES = {"M": "M", "F": "F", "male": "M", "female": "F", "男": "M", "女": "F"}


@dataclass(frozen=True, slots=True)
class DoseGiven:
    vaccine: str
    date: date


@dataclass(frozen=True, slots=True)
class Child:
    birth_date: date
    sex: str
    assessment_date: date
    doses: tuple[DoseGiven, ...]


class EvaluatedDose(NamedTuple):
    vaccine: str
    date: date
    dose: int | None  # the series dose it was judged as (None for an extra dose)
    valid: bool
    reason: DoseVerdict


class Forecast(NamedTuple):
    dose: int
    products: tuple[str, ...]
    earliest: date
    recommended: date
    overdue: date | None
    latest: date | None  # the last day the dose may be given (before the maximum age)


class SeriesResult(NamedTuple):
    vaccine: str
    plan: str
    status: Status
    doses_valid: int
    doses_required: int
    doses: tuple[EvaluatedDose, ...]
    next: Forecast | None


class MissingDose(NamedTuple):
    vaccine: str
    dose: int


class SchoolEntry(NamedTuple):
    entry_date: date
    complete: bool
    missing: tuple[MissingDose, ...]


class Evaluation(NamedTuple):
    edition: str
    series: tuple[SeriesResult, ...]
    school_entry: SchoolEntry


@dataclass(slots=True)
class _SeriesState:
    plan: str | None = None
    valid: list[date] = field(default_factory=list)
    judged: list[EvaluatedDose] = field(default_factory=list)


ONE_DAY = timedelta(days=1)


class _Run:
    """One child's evaluation: the schedule, the birth date, the dates of the ages asked
    (each computed once), each series' state and the valid injectable live doses."""

    __slots__ = ("ages", "birth", "bounds_of", "live", "schedule", "states")

    def __init__(self, schedule: Schedule, birth: date) -> None:
        self.schedule = schedule
        self.birth = birth
        self.ages: dict[int, date] = {}
        self.bounds_of: dict[int, tuple[date, date]] = {}
        self.states = {key: _SeriesState() for key in schedule.series_keys}
        self.live: list[tuple[date, str]] = []  # (date, series)

    def age(self, duration: Duration) -> date:
        """The day the child reaches ``duration`` (schedule durations are shared objects)."""
        key = id(duration)
        found = self.ages.get(key)
        if found is None:
            found = self.ages[key] = duration.after(self.birth)
        return found

    def bounds(self, rule: DoseRule, series: Series) -> tuple[date, date]:
        """The first day the dose may be given (its minimum age, less any grace period) and
        the last (the day before the lowest maximum age), computed once per dose rule."""
        found = self.bounds_of.get(id(rule))
        if found is None:
            first = self.age(rule.min_age)
            grace = self.schedule.grace_period_days
            if grace:
                first -= timedelta(days=grace)
            last = self.age(self.schedule.catch_up_max_age)
            for limit in (series.max_age, rule.max_age):
                if limit is not None:
                    last = min(last, self.age(limit))
            found = self.bounds_of[id(rule)] = (first, last - ONE_DAY)
        return found

    def interval_date(self, rule: DoseRule, state: _SeriesState) -> date:
        """The first day the intervals from earlier valid doses allow (date.min if none)."""
        earliest = date.min
        if not rule.intervals and rule.after_series is None:
            return earliest
        for interval in rule.intervals:
            if 0 < interval.from_dose <= len(state.valid):
                earliest = max(
                    earliest, interval.minimum.after(state.valid[interval.from_dose - 1])
                )
        if rule.after_series is not None:
            other = self.states[rule.after_series.series].valid
            if other:
                earliest = max(earliest, rule.after_series.minimum.after(other[-1]))
        return earliest

    def judge(self, given: DoseGiven, rule: DoseRule, series: Series) -> DoseVerdict:
        if given.vaccine not in rule.products:
            return DoseVerdict.WRONG_PRODUCT
        first, last = self.bounds(rule, series)
        if given.date > last:
            return DoseVerdict.TOO_LATE
        if given.date < first:
            return DoseVerdict.TOO_EARLY
        if given.date < self.interval_date(rule, self.states[series.key]):
            return DoseVerdict.INTERVAL_TOO_SHORT
        if self.schedule.products[given.vaccine].live_injectable:
            gap = self.schedule.live_injectable_interval
            for day, key in self.live:
                if key != series.key and day < given.date < gap.after(day):
                    return DoseVerdict.LIVE_VACCINE_INTERVAL
        return DoseVerdict.VALID

    def take(self, given: DoseGiven) -> None:
        """Judge one dose given (in date order) as the next dose of its series."""
        product = self.schedule.products[given.vaccine]
        series = self.schedule.edition_on(given.date).series[product.series]
        state = self.states[series.key]
        if state.plan is None:
            chosen = series.plan_of(given.vaccine)
            state.plan = None if chosen is None else chosen.name
        plan = series.plan(state.plan)
        number = len(state.valid) + 1
        if number > len(plan.doses):
            verdict, dose_no = DoseVerdict.EXTRA_DOSE, None
        else:
            verdict, dose_no = self.judge(given, plan.doses[number - 1], series), number
        valid = verdict is DoseVerdict.VALID
        state.judged.append(EvaluatedDose(given.vaccine, given.date, dose_no, valid, verdict))
        if valid:
            state.valid.append(given.date)
            if product.live_injectable:
                self.live.append((given.date, series.key))

    def forecast(self, plan: Plan, series: Series) -> Forecast | None:
        state = self.states[series.key]
        if len(state.valid) >= len(plan.doses):
            return None
        rule = plan.doses[len(state.valid)]
        first, last = self.bounds(rule, series)
        earliest = max(first, self.interval_date(rule, state))
        if rule.live_injectable:
            gap = self.schedule.live_injectable_interval
            for day, key in self.live:
                if key != series.key:
                    earliest = max(earliest, gap.after(day))
        return Forecast(
            dose=rule.number,
            products=rule.product_list,
            earliest=earliest,
            recommended=max(earliest, self.age(rule.recommended_age)),
            overdue=None if rule.overdue_age is None else self.age(rule.overdue_age),
            latest=last,
        )

    def result(self, series: Series, today: date) -> SeriesResult:
        state = self.states[series.key]
        plan = series.plan(state.plan)
        forecast = self.forecast(plan, series)
        if forecast is None:
            status = Status.COMPLETE
        elif forecast.latest is not None and (
            today > forecast.latest or forecast.earliest > forecast.latest
        ):
            status, forecast = Status.AGED_OUT, None
        elif today < forecast.earliest:
            status = Status.NOT_YET_DUE
        elif forecast.overdue is not None and today >= forecast.overdue:
            status = Status.OVERDUE
        else:
            status = Status.DUE
        return SeriesResult(
            vaccine=series.key,
            plan=plan.name,
            status=status,
            doses_valid=len(state.valid),
            doses_required=len(plan.doses),
            doses=tuple(state.judged),
            next=forecast,
        )


def evaluate(
    child: Child, schedule: Schedule | None = None, *, school_entry_age: Duration | None = None
) -> Evaluation:
    """Each dose judged, each series' status and next dose, and the school-entry check."""
    schedule = schedule or national_schedule()
    check_child(child, schedule)
    run = _Run(schedule, child.birth_date)
    for given in sorted(child.doses, key=lambda d: d.date):
        run.take(given)
    edition = schedule.edition_on(child.assessment_date)
    today = child.assessment_date
    results = tuple(run.result(series, today) for series in edition.series.values())
    entry = run.age(school_entry_age or schedule.school_entry_age)
    return Evaluation(edition.id, results, _school_entry(edition.series, results, run, entry))


def _school_entry(
    series: Mapping[str, Series], results: Sequence[SeriesResult], run: _Run, entry: date
) -> SchoolEntry:
    """Doses the schedule places at or before the school-entry age (minimum age) that are
    not validly given; a series the child aged out of (BCG from 4 y, MPSV-A from 2 y) is not
    caught up, so not missing."""
    missing: list[MissingDose] = []
    for result in results:
        if result.status in (Status.COMPLETE, Status.AGED_OUT):
            continue
        plan = series[result.vaccine].plan(result.plan)
        missing.extend(
            MissingDose(result.vaccine, rule.number)
            for rule in plan.doses[result.doses_valid :]
            if run.age(rule.min_age) <= entry
        )
    return SchoolEntry(entry, not missing, tuple(missing))


def check_child(child: Child, schedule: Schedule) -> None:
    """Refuse input no evaluation can be made of."""
    if child.birth_date > child.assessment_date:
        raise DomainError(
            Reason.BIRTH_IN_FUTURE,
            f"birth date {child.birth_date} is after the assessment date {child.assessment_date}",
            field="birth_date",
        )
    if child.sex not in SEXES:
        raise DomainError(Reason.INVALID_SEX, f"sex must be M or F, not {child.sex!r}", field="sex")
    for i, given in enumerate(child.doses):
        if given.vaccine not in schedule.products:
            raise DomainError(
                Reason.UNKNOWN_VACCINE,
                f"unknown vaccine {given.vaccine!r} (known: {', '.join(schedule.products)})",
                field=f"doses[{i}].vaccine",
            )
        if given.date < child.birth_date:
            raise DomainError(
                Reason.DOSE_BEFORE_BIRTH,
                f"dose on {given.date} is before the birth date {child.birth_date}",
                field=f"doses[{i}].date",
            )
        if given.date > child.assessment_date:
            raise DomainError(
                Reason.DOSE_AFTER_ASSESSMENT,
                f"dose on {given.date} is after the assessment date {child.assessment_date}",
                field=f"doses[{i}].date",
            )


def _date(raw: Mapping[str, Any], name: str, where: str) -> date:
    value = raw.get(name)
    if not isinstance(value, str):
        raise DomainError(
            Reason.MALFORMED_PAYLOAD, f"{where}: a date YYYY-MM-DD is required", field=where
        )
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise DomainError(
            Reason.INVALID_DATETIME, f"{where}: not a date (YYYY-MM-DD): {value!r}", field=where
        ) from exc


def parse_child(raw: Any) -> Child:
    """A child from ``{"birth_date", "sex", "assessment_date", "doses": [{"vaccine",
    "date"}]}`` (JSON-shaped), every fault naming its field."""
    if not isinstance(raw, Mapping):
        raise DomainError(Reason.MALFORMED_PAYLOAD, "an object is required")
    doses_raw = raw.get("doses", [])
    if not isinstance(doses_raw, list):
        raise DomainError(Reason.MALFORMED_PAYLOAD, "doses: a list is required", field="doses")
    doses: list[DoseGiven] = []
    for i, item in enumerate(doses_raw):
        where = f"doses[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("vaccine"), str):
            raise DomainError(
                Reason.MALFORMED_PAYLOAD,
                f"{where}: an object with vaccine and date is required",
                field=f"{where}.vaccine",
            )
        doses.append(DoseGiven(item["vaccine"], _date(item, "date", f"{where}.date")))
    sex = raw.get("sex")
    if not isinstance(sex, str):
        raise DomainError(Reason.INVALID_SEX, "sex: M or F is required", field="sex")
    return Child(
        birth_date=_date(raw, "birth_date", "birth_date"),
        sex=SEXES.get(sex, sex),
        assessment_date=_date(raw, "assessment_date", "assessment_date"),
        doses=tuple(doses),
    )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def summary(evaluation: Evaluation) -> dict[str, Any]:
    """The documented JSON answer: ``{"series": [{"vaccine", "status", "doses_valid",
    "next": {"earliest", "recommended", "overdue"}}], "school_entry": {"complete",
    "missing": [{"vaccine", "dose"}]}}`` (``next`` null when there is no next dose)."""
    return {
        "series": [
            {
                "vaccine": s.vaccine,
                "status": s.status.value,
                "doses_valid": s.doses_valid,
                "next": None
                if s.next is None
                else {
                    "earliest": _iso(s.next.earliest),
                    "recommended": _iso(s.next.recommended),
                    "overdue": _iso(s.next.overdue),
                },
            }
            for s in evaluation.series
        ],
        "school_entry": {
            "complete": evaluation.school_entry.complete,
            "missing": [
                {"vaccine": m.vaccine, "dose": m.dose} for m in evaluation.school_entry.missing
            ],
        },
    }
