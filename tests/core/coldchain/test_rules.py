"""Cold-chain rules as data: the shipped figures with their sources, the rule set in force
at a time, a malformed rule book refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.core.coldchain.coldchain_world import FREEZE_SENSITIVE, FROZEN, NOT_FREEZE_SENSITIVE, T0
from vaxtrace.core.coldchain.rules import RuleKind, load_rule_book, rule_book
from vaxtrace.core.errors import DomainError


def test_the_shipped_rules_carry_the_published_figures_with_their_sources() -> None:
    book = rule_book()
    assert book.classes == ["freeze_sensitive_2_8", "frozen_minus_20", "not_freeze_sensitive_2_8"]
    rules = {r.id: r for r in FREEZE_SENSITIVE.rules}
    assert (rules["freeze"].op, rules["freeze"].celsius, rules["freeze"].minutes) == (
        "<=",
        -0.5,
        60,
    )
    assert (rules["heat"].op, rules["heat"].celsius, rules["heat"].minutes) == (">", 8.0, 600)
    assert rules["heat_30_cumulative"].kind is RuleKind.CUMULATIVE
    assert (rules["heat_30_cumulative"].celsius, rules["heat_30_cumulative"].minutes) == (30, 600)
    type_two = {r.id: r for r in NOT_FREEZE_SENSITIVE.rules}
    assert (type_two["heat_10_cumulative"].celsius, type_two["heat_10_cumulative"].minutes) == (
        10,
        1200,
    )
    assert "freeze" not in type_two
    assert FREEZE_SENSITIVE.freeze_sensitive and not NOT_FREEZE_SENSITIVE.freeze_sensitive
    assert "HepB" in FREEZE_SENSITIVE.products and "MMR" in NOT_FREEZE_SENSITIVE.products
    assert FROZEN.storage == (None, -20.0)
    assert all(r.source in book.sources for s in book.rule_sets for r in s.rules)
    assert FREEZE_SENSITIVE.key == "freeze_sensitive_2_8@1"


RULES_V1_V2 = """
[sources]
x = "a source"
[[rule_set]]
product_class = "c"
version = 1
effective_from = "2020-01-01"
name = "c v1"
freeze_sensitive = true
storage_min = 2.0
storage_max = 8.0
  [[rule_set.rule]]
  id = "freeze"
  kind = "continuous"
  op = "<="
  celsius = -0.5
  minutes = 60
  tier = "severe"
  source = "x"
  description = "d"
[[rule_set]]
product_class = "c"
version = 2
effective_from = "2025-01-01"
name = "c v2"
freeze_sensitive = true
storage_min = 2.0
storage_max = 8.0
  [[rule_set.rule]]
  id = "freeze"
  kind = "continuous"
  op = "<="
  celsius = 0.0
  minutes = 30
  tier = "severe"
  source = "x"
  description = "d"
"""


def test_the_rule_set_in_force_is_the_latest_effective_at_the_time() -> None:
    book = load_rule_book(RULES_V1_V2)
    assert book.in_force("c", datetime(2024, 12, 31, tzinfo=UTC)).version == 1
    assert book.in_force("c", datetime(2025, 1, 1, tzinfo=UTC)).version == 2
    with pytest.raises(DomainError) as early:
        book.in_force("c", datetime(2019, 1, 1, tzinfo=UTC))
    assert (early.value.reason, early.value.field) == ("no_rules_in_force", "product_class")
    with pytest.raises(DomainError) as unknown:
        book.in_force("vaccine", T0)
    assert (unknown.value.reason, unknown.value.field) == ("unknown_product_class", "product_class")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('source = "x"', "unknown source"),
        ('op = "<="', "unknown op"),
        ("celsius = -0.5", "give celsius"),
    ],
)
def test_a_malformed_rule_book_is_refused(change: str, message: str) -> None:
    broken = {
        'source = "x"': RULES_V1_V2.replace('source = "x"', 'source = "y"', 1),
        'op = "<="': RULES_V1_V2.replace('op = "<="', 'op = "=="', 1),
        "celsius = -0.5": RULES_V1_V2.replace("celsius = -0.5\n", "", 1),
    }[change]
    with pytest.raises(ValueError, match=message):
        load_rule_book(broken)


def test_effective_dates_are_dates() -> None:
    assert FREEZE_SENSITIVE.effective_from == date(2000, 1, 1)
