"""Reads remembered for a few seconds: what every request of a hot path asks again and that
changes rarely (whose a staff token is, what kind of unit it is)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class Remembered(Generic[Key, Value]):
    """``read(key)`` remembered for ``seconds``; a bounded number of keys (the oldest are
    forgotten first). A change reaches the callers within ``seconds``. Nothing found (None)
    is not remembered: what appears is known at once, and unknown keys fill nothing."""

    def __init__(
        self, read: Callable[[Key], Value], seconds: float = 10.0, size: int = 10_000
    ) -> None:
        self.read, self.seconds, self.size = read, seconds, size
        self._known: dict[Key, tuple[float, Value]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: Key) -> Value:
        now = time.monotonic()
        found = self._known.get(key)
        if found is not None and now - found[0] < self.seconds:
            return found[1]
        value = self.read(key)
        if value is None:
            return value
        with self._lock:
            if len(self._known) >= self.size:
                for old in list(self._known)[: self.size // 10 or 1]:
                    del self._known[old]
            self._known[key] = (now, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._known.clear()
