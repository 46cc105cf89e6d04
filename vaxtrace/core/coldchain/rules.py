"""预警规则: the cold-chain rules as data (``core/data/coldchain_rules.toml``), per product
class and versioned by effective date, and the tiers (预警分级) an excursion can have."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason


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
                Reason.UNKNOWN_PRODUCT_CLASS,
                f"no cold-chain rules for {product_class!r}; known: {', '.join(self.classes)}",
                field="product_class",
            )
        current = [s for s in versions if s.effective_from <= at.date()]
        if not current:
            raise DomainError(
                Reason.NO_RULES_IN_FORCE,
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
