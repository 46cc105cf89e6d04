"""The detection table: precision and recall per rule from labels and findings."""

from __future__ import annotations

from vaxtrace.core.validation.quality import detection_table
from vaxtrace.core.validation.rules import RULES


def test_the_table_counts_hits_misses_and_false_alarms_per_rule() -> None:
    labels = [("used_twice", "D1"), ("used_twice", "D2"), ("late_report", "215:X:1")]
    found = [("used_twice", "D1"), ("used_twice", "D9"), ("late_report", "215:X:1")]
    table = {line.rule: line for line in detection_table(labels, found)}
    twice = table["used_twice"]
    assert (twice.labelled, twice.found, twice.true_positives, twice.false_positives) == (
        2,
        2,
        1,
        1,
    )
    assert twice.precision == 0.5 and twice.recall == 0.5
    assert table["late_report"].precision == 1.0 and table["late_report"].recall == 1.0
    quiet = table["mah_to_site"]
    assert quiet.precision is None and quiet.recall is None  # nothing planted, nothing found
    assert [line.rule for line in detection_table([], [])] == [r.id for r in RULES]


def test_a_repeated_finding_or_label_counts_once() -> None:
    (line,) = [
        x
        for x in detection_table([("time_order", "a")] * 2, [("time_order", "a")] * 3)
        if x.rule == "time_order"
    ]
    assert (line.labelled, line.found, line.true_positives) == (1, 1, 1)
