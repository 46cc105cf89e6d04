"""RFC 8785 JSON Canonicalization Scheme (JCS) for the values an event holds.

Objects sort their keys by UTF-16 code units, strings escape as ECMAScript's JSON.stringify
does, numbers print as ECMAScript's Number.prototype.toString. Values without floats and with
ASCII keys (nearly every event) take the C JSON encoder, whose output is then identical.
"""

from __future__ import annotations

import json
import math
from typing import Any

_MAX_SAFE = 2**53 - 1  # the largest "safe" integer of an IEEE double


class CanonicalError(ValueError):
    """A value JCS cannot represent (NaN, infinity, an integer beyond 2^53, a non-JSON type)."""


_FAST = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any, *, unknown: Any = ...) -> bytes:
    """JCS bytes of ``value``.

    ``unknown`` names the part of ``value`` that may hold floats or non-ASCII keys when the
    caller knows the rest is plain (strings, safe integers, null, ASCII keys); by default the
    whole value is checked.
    """
    if _plain(value if unknown is ... else unknown):
        return _FAST.encode(value).encode()
    return _write(value).encode()


def _plain(value: Any) -> bool:
    """True when the fast encoder's output is already canonical."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return -_MAX_SAFE <= value <= _MAX_SAFE
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return False


def _write(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        if not -_MAX_SAFE <= value <= _MAX_SAFE:
            raise CanonicalError(f"integer {value} is beyond the 2^53 JSON numbers can hold")
        return str(value)
    if isinstance(value, float):
        return es_number(value)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CanonicalError("object keys must be strings")
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{_write(k)}:{_write(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_write(v) for v in value) + "]"
    raise CanonicalError(f"{type(value).__name__} is not a JSON value")


def es_number(x: float) -> str:
    """ECMAScript Number::toString of a double (shortest round-trip digits)."""
    if math.isnan(x) or math.isinf(x):
        raise CanonicalError("NaN and infinity are not JSON numbers")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    text = repr(abs(x))
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # value = 0.digits × 10^n
    n = (
        len(whole.lstrip("0")) + int(exp or 0)
        if whole.strip("0")
        else (int(exp or 0) - (len(frac) - len(frac.lstrip("0"))))
    )
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-")
        out += str(abs(e))
    return sign + out
