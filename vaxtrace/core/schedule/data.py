"""The national schedule as versioned data: editions with an effective date, each a set of
series, each series one or more alternative plans of doses. Read from the packaged
``vaxtrace/core/data/schedule_national.toml`` (its header documents every field)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.schedule.ages import Duration, parse_duration

DATA_FILE = "data/schedule_national.toml"


@dataclass(frozen=True, slots=True)
class Interval:
    """At least ``minimum`` after dose ``from_dose`` (1-based) of the same series."""

    from_dose: int
    minimum: Duration


@dataclass(frozen=True, slots=True)
class AfterSeries:
    """At least ``minimum`` after the last valid dose of another series."""

    series: str
    minimum: Duration


@dataclass(frozen=True, slots=True)
class DoseRule:
    number: int
    products: frozenset[str]
    min_age: Duration
    recommended_age: Duration
    overdue_age: Duration | None
    max_age: Duration | None
    intervals: tuple[Interval, ...]
    after_series: AfterSeries | None
    note: str = ""
    product_list: tuple[str, ...] = ()  # the products, sorted
    live_injectable: bool = False  # its products are injectable live vaccines


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    doses: tuple[DoseRule, ...]
    products: frozenset[str]  # every product any of its doses takes


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    plans: tuple[Plan, ...]
    max_age: Duration | None
    sources: tuple[str, ...]

    def plan(self, name: str | None) -> Plan:
        for plan in self.plans:
            if plan.name == name:
                return plan
        return self.plans[0]

    def plan_of(self, product: str) -> Plan | None:
        """The first plan whose doses take ``product``."""
        for plan in self.plans:
            if product in plan.products:
                return plan
        return None


@dataclass(frozen=True, slots=True)
class Edition:
    id: str
    effective_from: date
    series: dict[str, Series]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    series: str
    label: str
    live_injectable: bool


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: str
    url: str
    section: str
    says: str
    verified: bool


@dataclass(frozen=True)
class Schedule:
    """Every edition, oldest first, and the schedule-wide rules."""

    editions: tuple[Edition, ...]
    products: dict[str, Product]
    catch_up_max_age: Duration
    school_entry_age: Duration
    live_injectable_interval: Duration
    grace_period_days: int
    sources: dict[str, Source] = field(default_factory=dict)
    diseases: dict[str, str] = field(default_factory=dict)
    """What each series protects against, by series key (the data's ``[diseases]``)."""

    def edition_on(self, day: date) -> Edition:
        """The edition in force on ``day`` (the oldest before its own effective date: no
        earlier edition is modelled)."""
        found = self.editions[0]
        for edition in self.editions:
            if edition.effective_from <= day:
                found = edition
        return found

    def label(self, key: str) -> str | None:
        """A vaccine's name as people read it (乙肝疫苗), for a product's short name or a
        series' key (a series several products fill: their names joined with a slash,
        乙脑减毒活疫苗/乙脑灭活疫苗); None for neither."""
        if key in self.products:
            return self.products[key].label
        labels = [p.label for p in self.products.values() if p.series == key]
        return "/".join(labels) or None

    @property
    def series_keys(self) -> tuple[str, ...]:
        return tuple(self.editions[-1].series)


def _duration(raw: Any) -> Duration | None:
    return None if raw is None else parse_duration(str(raw))


def _dose(number: int, raw: dict[str, Any], live: frozenset[str]) -> DoseRule:
    min_age = parse_duration(raw["min_age"])
    after = raw.get("after_series")
    return DoseRule(
        number=number,
        products=frozenset(raw["products"]),
        min_age=min_age,
        recommended_age=_duration(raw.get("recommended_age")) or min_age,
        overdue_age=_duration(raw.get("overdue_age")),
        max_age=_duration(raw.get("max_age")),
        intervals=tuple(
            Interval(int(i.get("from_dose", number - 1)), parse_duration(i["min"]))
            for i in raw.get("intervals", ())
        ),
        after_series=None
        if after is None
        else AfterSeries(after["series"], parse_duration(after["min"])),
        note=raw.get("note", ""),
        product_list=tuple(sorted(raw["products"])),
        live_injectable=any(p in live for p in raw["products"]),
    )


def _series(raw: dict[str, Any], live: frozenset[str]) -> Series:
    plans = []
    for p in raw["plans"]:
        doses = tuple(_dose(n, d, live) for n, d in enumerate(p["doses"], start=1))
        plans.append(Plan(p["name"], doses, frozenset().union(*(d.products for d in doses))))
    return Series(
        raw["key"], tuple(plans), _duration(raw.get("max_age")), tuple(raw.get("sources", ()))
    )


def parse_schedule(raw: dict[str, Any]) -> Schedule:
    """A schedule from its data (the TOML document as a dict)."""
    live = frozenset(n for n, p in raw["products"].items() if p.get("live_injectable"))
    editions: list[Edition] = []
    by_id: dict[str, Edition] = {}
    for e in raw["editions"]:
        series = dict(by_id[e["based_on"]].series) if "based_on" in e else {}
        series.update({s["key"]: _series(s, live) for s in e.get("series", ())})
        edition = Edition(
            e["id"], date.fromisoformat(e["effective_from"]), series, tuple(e.get("sources", ()))
        )
        by_id[edition.id] = edition
        editions.append(edition)
    editions.sort(key=lambda ed: ed.effective_from)
    products = {
        name: Product(name, p["series"], p.get("name", name), bool(p.get("live_injectable")))
        for name, p in raw["products"].items()
    }
    sources = {
        s["id"]: Source(s["id"], s["title"], s["url"], s["section"], s["says"], s["verified"])
        for s in raw.get("sources", ())
    }
    _check(editions, products, sources)
    diseases = {str(k): str(v) for k, v in raw.get("diseases", {}).items()}
    for key in diseases.keys() - set(editions[0].series):
        raise DomainError(Reason.MALFORMED_SCHEDULE, f"diseases: unknown series {key!r}")
    rules = raw["schedule"]
    return Schedule(
        editions=tuple(editions),
        products=products,
        catch_up_max_age=parse_duration(rules["catch_up_max_age"]),
        school_entry_age=parse_duration(rules["school_entry_age"]),
        live_injectable_interval=parse_duration(rules["live_injectable_interval"]),
        grace_period_days=int(rules["grace_period_days"]),
        sources=sources,
        diseases=diseases,
    )


def _check(
    editions: list[Edition], products: dict[str, Product], sources: dict[str, Source]
) -> None:
    """Every edition names the same series with the same plans, every product is known and
    belongs to the series that takes it, every cited source exists."""
    keys = set(editions[0].series)
    for edition in editions:
        if set(edition.series) != keys:
            raise DomainError(Reason.MALFORMED_SCHEDULE, f"edition {edition.id}: series differ")
        for cited in edition.sources:
            if cited not in sources:
                raise DomainError(Reason.MALFORMED_SCHEDULE, f"unknown source {cited!r}")
        for s in edition.series.values():
            for cited in s.sources:
                if cited not in sources:
                    raise DomainError(Reason.MALFORMED_SCHEDULE, f"unknown source {cited!r}")
            for plan in s.plans:
                for product in plan.products:
                    if product not in products or products[product].series != s.key:
                        raise DomainError(
                            Reason.MALFORMED_SCHEDULE, f"{s.key}: product {product!r} not its own"
                        )


@cache
def national_schedule() -> Schedule:
    """The packaged national schedule, read once."""
    text = resources.files("vaxtrace.core").joinpath(DATA_FILE).read_text("utf-8")
    return parse_schedule(tomllib.loads(text))
