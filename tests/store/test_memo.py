"""Reads remembered for a few seconds, never what was not found."""

from __future__ import annotations

import time

from vaxtrace.store.memo import Remembered


def test_a_read_is_remembered_for_its_seconds_only() -> None:
    reads: list[str] = []
    values = {"a": 1}

    def read(key: str) -> int | None:
        reads.append(key)
        return values.get(key)

    remembered = Remembered(read, seconds=0.2)
    assert (remembered("a"), remembered("a")) == (1, 1)
    assert reads == ["a"]
    values["a"] = 2
    time.sleep(0.25)
    assert remembered("a") == 2 and reads == ["a", "a"]
    assert (remembered("b"), remembered("b")) == (None, None)
    assert reads.count("b") == 2  # nothing found is not remembered
    values["b"] = 3
    assert remembered("b") == 3


def test_it_forgets_the_oldest_when_full() -> None:
    remembered: Remembered[int, int] = Remembered(lambda key: key * 10, seconds=60, size=10)
    for key in range(25):
        assert remembered(key) == key * 10
    assert len(remembered._known) <= 10
