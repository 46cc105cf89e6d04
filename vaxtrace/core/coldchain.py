"""冷链: cold-chain excursion rules, and what a temperature series says against them.

The rules are data (``core/data/coldchain_rules.toml``), per product class and versioned by
effective date: a storage range, single-continuous limits (a WHO 30-day recorder's freeze and
heat alarms) and cumulative limits (a WHO shipping indicator's "30 °C or above for 10 h in
all"). Both kinds are evaluated: a device that alarms only on one continuous excursion misses
several short freezes that add up (DOMAIN.md §7, §10).

A series is the time-ordered readings of one fridge, cold room or shipment (a logger's upload
or manual readings). A reading holds its value until the next one (sample-and-hold, as loggers
count time out of range), so sparse readings widen an excursion rather than hide it; the last
reading holds for no time.

Also here: the checks a series must pass before it is believed (order, duplicates, the future,
plausible temperatures), a logger-CSV parser, and what a receipt does with the journey's
temperature record (:func:`receipt_temperature_decision`).
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache, partial
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StrictFloat

from vaxtrace.core.datasets import DocumentId, DocumentNo, Model, NonEmpty
from vaxtrace.core.errors import DomainError

PLAUSIBLE_CELSIUS = (-90.0, 80.0)
"""A reading outside this is a broken sensor or a typo, not a temperature (ultra-low freezers
run at −80 °C; a car in the sun reaches 70 °C)."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No reading before this is believed (the chain's business times live in 2000–2199)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a reading may lie: a logger's clock runs a little ahead."""
MAX_READINGS = 200_000
"""Readings in one upload: 30 days at one a minute is 43,200; this is over four months."""


class Tier(StrEnum):
    """How bad an excursion is (预警分级), in rising order."""

    NOTICE = "notice"  # 提示: recorded; holds nothing
    WARNING = "warning"  # 警告: holds the codes until a person decides
    SEVERE = "severe"  # 严重: holds the codes until a person decides

    @property
    def rank(self) -> int:
        return list(Tier).index(self)

    @property
    def holds(self) -> bool:
        """Whether an excursion of this tier holds the unit's codes pending a decision."""
        return self is not Tier.NOTICE


class RuleKind(StrEnum):
    CONTINUOUS = "continuous"  # single event: one uninterrupted run
    CUMULATIVE = "cumulative"  # the runs add up within a window


Op = Literal["<=", "<", ">=", ">", "outside"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One alarm condition: readings ``op celsius`` for ``minutes`` (see the data file)."""

    id: str
    kind: RuleKind
    op: Op
    celsius: float | None
    minutes: float
    tier: Tier
    source: str
    description: str
    window_hours: float | None = None
    uncertain: bool = False

    def breached_by(self, celsius: float, storage: tuple[float | None, float | None]) -> bool:
        """Whether one reading lies in this rule's alarm range (the threshold included)."""
        if self.op == "outside":
            low, high = storage
            return (low is not None and celsius < low) or (high is not None and celsius > high)
        assert self.celsius is not None
        limit = self.celsius
        return {
            "<=": celsius <= limit,
            "<": celsius < limit,
            ">=": celsius >= limit,
            ">": celsius > limit,
        }[self.op]

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    @property
    def window(self) -> timedelta | None:
        return None if self.window_hours is None else timedelta(hours=self.window_hours)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules of one product class, one version, in force from ``effective_from``."""

    product_class: str
    version: int
    effective_from: date
    name: str
    freeze_sensitive: bool
    storage_min: float | None
    storage_max: float | None
    products: tuple[str, ...]
    rules: tuple[Rule, ...]

    @property
    def key(self) -> str:
        """How a record names the rules it was judged by, e.g. ``freeze_sensitive_2_8@1``."""
        return f"{self.product_class}@{self.version}"

    @property
    def storage(self) -> tuple[float | None, float | None]:
        return self.storage_min, self.storage_max

    @property
    def lookback(self) -> timedelta:
        """How far around a series earlier readings can still change what it says: the
        longest window or duration of any rule."""
        spans = [rule.window or rule.duration for rule in self.rules]
        return max(spans, default=timedelta(0))


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Every rule set of every product class, and the sources the figures come from."""

    rule_sets: tuple[RuleSet, ...]
    sources: dict[str, str]

    @property
    def classes(self) -> list[str]:
        return sorted({s.product_class for s in self.rule_sets})

    def in_force(self, product_class: str, at: datetime) -> RuleSet:
        """The rule set of ``product_class`` in force at ``at``: the latest version whose
        effective date is not after it."""
        versions = [s for s in self.rule_sets if s.product_class == product_class]
        if not versions:
            raise DomainError(
                "unknown_product_class",
                f"no cold-chain rules for {product_class!r}; known: {', '.join(self.classes)}",
                field="product_class",
            )
        current = [s for s in versions if s.effective_from <= at.date()]
        if not current:
            raise DomainError(
                "no_rules_in_force",
                f"no rules of {product_class} were in force on {at.date()}",
                field="product_class",
            )
        return max(current, key=lambda s: (s.effective_from, s.version))


def load_rule_book(text: str) -> RuleBook:
    """Read a rule book from TOML (the shape of ``core/data/coldchain_rules.toml``)."""
    data = tomllib.loads(text)
    sources: dict[str, str] = dict(data.get("sources", {}))
    sets = tuple(_rule_set(raw, sources) for raw in data.get("rule_set", []))
    keys = [s.key for s in sets]
    if len(set(keys)) != len(keys):
        raise ValueError("a product class has two rule sets of the same version")
    return RuleBook(sets, sources)


def _rule_set(raw: dict[str, Any], sources: dict[str, str]) -> RuleSet:
    rules = tuple(_rule(r, sources) for r in raw.get("rule", []))
    if len({r.id for r in rules}) != len(rules):
        raise ValueError(f"{raw['product_class']}: two rules share an id")
    return RuleSet(
        product_class=str(raw["product_class"]),
        version=int(raw["version"]),
        effective_from=date.fromisoformat(str(raw["effective_from"])),
        name=str(raw["name"]),
        freeze_sensitive=bool(raw["freeze_sensitive"]),
        storage_min=_optional_float(raw.get("storage_min")),
        storage_max=_optional_float(raw.get("storage_max")),
        products=tuple(str(p) for p in raw.get("products", ())),
        rules=rules,
    )


def _rule(raw: dict[str, Any], sources: dict[str, str]) -> Rule:
    op = raw["op"]
    if op not in ("<=", "<", ">=", ">", "outside"):
        raise ValueError(f"rule {raw['id']}: unknown op {op!r}")
    if raw["source"] not in sources:
        raise ValueError(f"rule {raw['id']}: unknown source {raw['source']!r}")
    celsius = _optional_float(raw.get("celsius"))
    if (op == "outside") != (celsius is None):
        raise ValueError(f"rule {raw['id']}: give celsius, except for op 'outside'")
    kind = RuleKind(raw["kind"])
    window = _optional_float(raw.get("window_hours"))
    if window is not None and kind is not RuleKind.CUMULATIVE:
        raise ValueError(f"rule {raw['id']}: only a cumulative rule has a window")
    return Rule(
        id=str(raw["id"]),
        kind=kind,
        op=op,
        celsius=celsius,
        minutes=float(raw["minutes"]),
        tier=Tier(raw["tier"]),
        source=str(raw["source"]),
        description=str(raw["description"]),
        window_hours=window,
        uncertain=bool(raw.get("uncertain", False)),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@cache
def rule_book() -> RuleBook:
    """The rule book shipped with VaxTrace."""
    text = resources.files("vaxtrace.core").joinpath("data/coldchain_rules.toml").read_text("utf-8")
    return load_rule_book(text)


# --- readings and their checks ------------------------------------------------------------


def _plausible(celsius: float) -> float:
    low, high = PLAUSIBLE_CELSIUS
    if not math.isfinite(celsius) or not low <= celsius <= high:
        raise DomainError(
            "implausible_temperature",
            f"{celsius} °C is not a plausible reading ({low} to {high} °C)",
            field="celsius",
        )
    return celsius


Celsius = Annotated[
    StrictFloat,
    AfterValidator(_plausible),
    Field(description="温度 °C, a JSON number (true/false or a string are refused)"),
]


class ReadingIn(Model):
    """One reading as sent: an ISO-8601 time with its timezone, and degrees Celsius."""

    time: AwareDatetime = Field(description="测量时间, with its timezone")
    celsius: Celsius


@dataclass(frozen=True, slots=True)
class Reading:
    time: datetime
    celsius: float


StorageOrTransport = Literal["storage", "transport"]


class TemperatureHeader(Model):
    """温度记录: what a record of one fridge, cold room or vehicle says besides its readings
    (a logger's CSV upload sends these as form fields)."""

    client_document_id: DocumentId
    document_no: DocumentNo | None = None
    equipment_id: NonEmpty = Field(description="设备编号 the fridge, cold room or vehicle")
    kind: StorageOrTransport = Field(description="储存 storage or 运输 transport")
    product_class: str = Field(
        min_length=1, max_length=60, description="产品温控类别, e.g. freeze_sensitive_2_8"
    )
    related_document_no: str | None = Field(
        default=None, max_length=60, description="关联单据 e.g. the shipping note"
    )


class TemperatureUpload(TemperatureHeader):
    """温度记录 with its readings, oldest first (a logger's or manual readings)."""

    readings: tuple[ReadingIn, ...] = Field(min_length=1, max_length=MAX_READINGS)

    def series(self) -> list[Reading]:
        return [Reading(r.time, r.celsius) for r in self.readings]


Where = Callable[[int, str], tuple[str, str]]
"""Names reading ``i``'s ``part`` (time / celsius) for a refusal: (field, label for the
message)."""


def in_json(i: int, part: str) -> tuple[str, str]:
    return f"readings[{i}].{part}", f"readings[{i}]"


def check_series(
    readings: Sequence[Reading],
    *,
    now: datetime,
    clock_skew: timedelta = CLOCK_SKEW,
    where: Where = in_json,
) -> None:
    """Refuse a series that cannot be believed: no readings; a time without its timezone,
    before 2000 or in the future beyond ``clock_skew``; readings out of time order or two at
    one time; a temperature that is not a finite, plausible number."""
    if not readings:
        raise DomainError("no_readings", "a temperature record needs readings", field="readings")
    latest = now + clock_skew
    previous: datetime | None = None
    for i, reading in enumerate(readings):
        field, label = where(i, "time")
        time = reading.time
        if time.tzinfo is None or time.utcoffset() is None:
            raise DomainError(
                "time_without_timezone", f"{label}: {time} has no timezone", field=field
            )
        if time < EARLIEST:
            raise DomainError(
                "time_out_of_range", f"{label}: {time} is before {EARLIEST.date()}", field=field
            )
        if time > latest:
            raise DomainError(
                "reading_in_the_future",
                f"{label}: {time.isoformat()} is in the future (now {now.isoformat()})",
                field=field,
            )
        if previous is not None and time == previous:
            raise DomainError(
                "duplicate_reading_time",
                f"{label}: a second reading at {time.isoformat()}",
                field=field,
            )
        if previous is not None and time < previous:
            raise DomainError(
                "readings_out_of_order",
                f"{label}: {time.isoformat()} comes before the reading above it "
                f"({previous.isoformat()}); send readings oldest first",
                field=field,
            )
        previous = time
        try:
            _plausible(reading.celsius)
        except DomainError as exc:
            exc.field, exc.message = where(i, "celsius")[0], f"{label}: {exc.message}"
            exc.args = (exc.message,)
            raise


# --- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Excursion:
    """温度超标: a rule breached, from ``start`` to ``end``, for ``minutes`` out of range in all
    (the whole run for a continuous rule; the added-up runs for a cumulative one)."""

    rule_id: str
    kind: RuleKind
    tier: Tier
    start: datetime
    end: datetime
    minutes: float
    min_celsius: float
    max_celsius: float

    @property
    def holds(self) -> bool:
        return self.tier.holds

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "kind": self.kind.value,
            "tier": self.tier.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "minutes": round(self.minutes, 2),
            "min_celsius": self.min_celsius,
            "max_celsius": self.max_celsius,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a series says against a rule set."""

    rule_set: RuleSet
    excursions: tuple[Excursion, ...]

    @property
    def tier(self) -> Tier | None:
        """The worst tier found; None when every reading was in range."""
        return max((e.tier for e in self.excursions), key=lambda t: t.rank, default=None)

    @property
    def holding(self) -> tuple[Excursion, ...]:
        """The excursions that hold codes (warning and severe)."""
        return tuple(e for e in self.excursions if e.holds)

    @property
    def in_range(self) -> bool:
        """No alarm: at most notices (a reading briefly out of the storage range)."""
        return not self.holding


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive readings in a rule's alarm range: [start, end) with their extremes."""

    start: datetime
    end: datetime
    low: float
    high: float

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def evaluate(readings: Sequence[Reading], rule_set: RuleSet) -> Evaluation:
    """Every excursion the series shows under every rule of the set, oldest first.

    ``readings`` must be checked (:func:`check_series`) and in time order. A cumulative
    excursion lying wholly inside a continuous one of the same threshold is not reported
    twice.
    """
    found: list[Excursion] = []
    for rule in rule_set.rules:
        runs = _runs(readings, partial(rule.breached_by, storage=rule_set.storage))
        if rule.kind is RuleKind.CONTINUOUS:
            found.extend(_continuous(rule, runs))
        else:
            found.extend(_cumulative(rule, runs))
    kept = [e for e in found if not _inside_continuous_twin(e, found, rule_set)]
    kept.sort(key=lambda e: (e.start, -e.tier.rank, e.rule_id))
    return Evaluation(rule_set, tuple(kept))


def _runs(readings: Sequence[Reading], breached: Callable[[float], bool]) -> list[_Run]:
    runs: list[_Run] = []
    current: list[Reading] = []

    def close(end: datetime) -> None:
        temps = [r.celsius for r in current]
        runs.append(_Run(current[0].time, end, min(temps), max(temps)))
        current.clear()

    for reading in readings:
        if breached(reading.celsius):
            current.append(reading)
        elif current:
            close(reading.time)  # the run holds until this reading, back in range
    if current:
        close(current[-1].time)  # the last reading holds for no time
    return runs


def _continuous(rule: Rule, runs: list[_Run]) -> list[Excursion]:
    return [
        _excursion(rule, run.start, run.end, run.span, [run])
        for run in runs
        if run.span >= rule.duration
    ]


def _cumulative(rule: Rule, runs: list[_Run]) -> list[Excursion]:
    """Windows of ``rule.window`` (the whole series when None) in which the runs add up to
    the rule's duration. A window holding the most exposure can always be made to start
    where a run starts, so only those windows are tried; after an excursion, the search goes
    on from the first run after it."""
    found: list[Excursion] = []
    j = 0
    while j < len(runs):
        opened = runs[j].start
        closes = None if rule.window is None else opened + rule.window
        inside: list[_Run] = []
        total = timedelta(0)
        for run in runs[j:]:
            if closes is not None and run.start >= closes:
                break
            inside.append(run)
            total += (run.end if closes is None else min(run.end, closes)) - run.start
        if total >= rule.duration and rule.duration > timedelta(0):
            end = inside[-1].end if closes is None else min(inside[-1].end, closes)
            found.append(_excursion(rule, opened, end, total, inside))
            j += len(inside)
        elif closes is None:
            break  # the whole series does not add up: no later part of it will
        else:
            j += 1
    return found


def _excursion(
    rule: Rule, start: datetime, end: datetime, exposure: timedelta, runs: list[_Run]
) -> Excursion:
    return Excursion(
        rule_id=rule.id,
        kind=rule.kind,
        tier=rule.tier,
        start=start,
        end=end,
        minutes=exposure.total_seconds() / 60,
        min_celsius=min(r.low for r in runs),
        max_celsius=max(r.high for r in runs),
    )


def _inside_continuous_twin(
    excursion: Excursion, found: list[Excursion], rule_set: RuleSet
) -> bool:
    if excursion.kind is not RuleKind.CUMULATIVE:
        return False
    rules = {r.id: r for r in rule_set.rules}
    mine = rules[excursion.rule_id]
    return any(
        other.kind is RuleKind.CONTINUOUS
        and (rules[other.rule_id].op, rules[other.rule_id].celsius) == (mine.op, mine.celsius)
        and other.start <= excursion.start
        and excursion.end <= other.end
        for other in found
    )


# --- a logger's CSV ------------------------------------------------------------------------

CSV_HEADER = ("time", "celsius")


@dataclass(frozen=True, slots=True)
class LoggerFile:
    """The readings of a logger's CSV and the line each came from (for refusals)."""

    readings: list[Reading]
    lines: list[int]

    def where(self, i: int, _part: str) -> tuple[str, str]:
        return "file", f"line {self.lines[i]}"


def parse_logger_csv(text: str, max_readings: int = MAX_READINGS) -> LoggerFile:
    """A logger's export: a header ``time,celsius``, then one reading a line, the time in
    ISO 8601 with its timezone (``2024-04-02T08:00:00+08:00`` or ``…Z``), the temperature in
    °C with a decimal point. Blank lines are skipped. A refusal names the line (field
    ``file``)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    readings: list[Reading] = []
    lines: list[int] = []
    header_seen = False
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if not header_seen:
            if tuple(c.lower() for c in cells) != CSV_HEADER:
                raise _csv_error(
                    "csv_header", line, f"the header must be 'time,celsius', not {row}"
                )
            header_seen = True
            continue
        if len(cells) != 2:
            raise _csv_error("csv_columns", line, f"{len(cells)} columns; expected time,celsius")
        if len(readings) >= max_readings:
            raise _csv_error("too_many_readings", line, f"more than {max_readings} readings")
        readings.append(Reading(_csv_time(cells[0], line), _csv_celsius(cells[1], line)))
        lines.append(line)
    if not header_seen:
        raise _csv_error("csv_header", 1, "an empty file; the header must be 'time,celsius'")
    if not readings:
        raise DomainError("no_readings", "the file holds no readings", field="file")
    return LoggerFile(readings, lines)


def _csv_time(text: str, line: int) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _csv_error("invalid_time", line, f"time {text!r} is not ISO 8601") from None
    if value.tzinfo is None:
        raise _csv_error("time_without_timezone", line, f"time {text!r} has no timezone")
    return value


def _csv_celsius(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _csv_error("invalid_celsius", line, f"celsius {text!r} is not a number") from None
    try:
        return _plausible(value)
    except DomainError as exc:
        raise _csv_error(exc.reason, line, exc.message) from None


def _csv_error(reason: str, line: int, message: str) -> DomainError:
    return DomainError(reason, f"line {line}: {message}", field="file")


# --- receipt --------------------------------------------------------------------------------


class ReceiptTemperature(StrEnum):
    """What a receiver does with goods by their journey's temperature record (DOMAIN.md §7)."""

    RECEIVE = "receive"  # 收货
    QUARANTINE = "quarantine"  # 暂存待处理: held apart until the papers come
    REFUSE = "refuse"  # 拒收


def receipt_temperature_decision(
    record_present: bool, in_range: bool | None, papers_present: bool
) -> ReceiptTemperature:
    """收货温度判定: no whole-journey temperature record, or one out of range → refuse; a record
    in range but papers missing (lot release certificate, customs form…) → receive into
    quarantine; a record in range with the papers → receive.

    ``in_range`` is what :attr:`Evaluation.in_range` says of the journey's record (no alarm);
    None when a record is present but could not be judged, which holds the goods apart
    (quarantine) until someone has judged it.
    """
    if not record_present or in_range is False:
        return ReceiptTemperature.REFUSE
    if in_range is None or not papers_present:
        return ReceiptTemperature.QUARANTINE
    return ReceiptTemperature.RECEIVE


# --- deciding an excursion ------------------------------------------------------------------


class ExcursionState(StrEnum):
    """Where an excursion stands: open holds its codes; usable releases them; abnormal keeps
    them out for good (异常: may only be returned and destroyed)."""

    OPEN = "open"  # 待定 pending
    USABLE = "usable"  # 可用 released, with a reason
    ABNORMAL = "abnormal"  # 异常

    @property
    def holds(self) -> bool:
        return self is not ExcursionState.USABLE


class ExcursionDecision(Model):
    """A named person's decision on an excursion (温度超标处置)."""

    decision: Literal["usable", "abnormal"] = Field(
        description="usable (可用: release the codes) or abnormal (异常: keep them out)"
    )
    decided_by: str = Field(
        min_length=1, max_length=100, description="处置人 the person's name, not a role"
    )
    reason: NonEmpty = Field(description="处置理由 e.g. the stability data relied on")
