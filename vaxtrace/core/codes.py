"""Trace codes (药品追溯码) of both NMPAB/T 1002 families: parse, validate, format, issue.

A trace code identifies one sales packaging unit at any level. Two families exist:

* ``nmpa20`` — 20 digits: positions 1–7 the identification code (药品标识码), 8–16 a 9-digit
  serial, 17–20 check digits. Codes in use begin with ``8``. The incumbent issuer's check is
  proprietary, so a foreign 20-digit code can only be format-checked.
* ``gs1`` — ISO/IEC 15459 via GS1: GTIN (AI 01) as identification code, AI 21 serial, optional
  AI 10 batch, AI 17 expiry, AI 11 production date; scanned as an element string (with or
  without a symbology prefix, GS separators or parenthesised AIs) or a GS1 Digital Link URI.

Codes this system issues itself use the ``VT-MOD97-10x2`` check (see :func:`vt_check_digits`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar
from urllib.parse import quote

from biip import parse as biip_parse
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

Read = TypeVar("Read")

GS = "\x1d"
SYMBOLOGY_PREFIXES = ("]d2", "]C1", "]Q3", "]e0", "]J1")
_SPLITTERS = re.compile(r"[\s\-]")
_DATE_AIS = ("11", "17")
_VARIABLE_AIS_WE_READ = ("10", "21")

VT_CHECK_ALGORITHM = "VT-MOD97-10x2"
"""Name of our check, as registered in the coding rule (编码规则)."""


class CodeFamily(StrEnum):
    NMPA20 = "nmpa20"
    GS1 = "gs1"


class CodeError(DomainError):
    """A code that cannot be read; ``reason`` is machine-readable, the message is for people."""


@dataclass(frozen=True, slots=True)
class TraceCode:
    """One parsed trace code. ``value`` is the canonical text stored and compared everywhere."""

    family: CodeFamily
    value: str
    identification_code: str
    serial: str
    batch_no: str | None = None
    expiry: date | None = None
    production_date: date | None = None


# --- our own 20-digit codes -------------------------------------------------------------


def _is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts full-width and superscript digits."""
    return text.isascii() and text.isdigit()


def vt_check_digits(data16: str) -> str:
    """The 4 check digits (positions 17–20) of a VaxTrace-issued 20-digit code.

    Positions 17–18 are the ISO/IEC 7064 MOD 97-10 check characters of the 16 data digits;
    positions 19–20 the same check of the 16 data digits read right to left. Each pair alone
    catches every single-digit substitution and every adjacent transposition (97 is prime and
    larger than any difference 9 * 10^k can leave); the second, independent pair lowers the
    chance that a double error passes from about 1 % to about 0.01 %.
    """
    if len(data16) != 16 or not _is_digits(data16):
        raise CodeError("bad_length", "the data part of a 20-digit code is 16 digits")
    return _mod97_10(data16) + _mod97_10(data16[::-1])


def _mod97_10(digits: str) -> str:
    """ISO/IEC 7064 MOD 97-10 check characters of a digit string, the value ``stdnum`` gives,
    in integer arithmetic (``98 - n * 100 mod 97``): fast enough for millions of codes."""
    return f"{98 - int(digits) * 100 % 97:02d}"


def has_vt_check(code: str) -> bool:
    """True when a 20-digit code carries a valid ``VT-MOD97-10x2`` check."""
    return len(code) == 20 and _is_digits(code) and vt_check_digits(code[:16]) == code[16:]


def issue_nmpa20(identification_code: str, serial: int) -> str:
    """Compose a code from a 7-digit identification code and a serial (0 ≤ serial < 10⁹)."""
    if len(identification_code) != 7 or not _is_digits(identification_code):
        raise CodeError(
            "bad_identification_code", "a 20-digit code's identification code is 7 digits"
        )
    if not 0 <= serial < 10**9:
        raise CodeError("serial_out_of_range", "a 20-digit code's serial has 9 digits")
    data = f"{identification_code}{serial:09d}"
    return data + vt_check_digits(data)


# --- reading what a person typed or a scanner sent --------------------------------------


def _is_canonical_nmpa20(text: str) -> bool:
    """Already the canonical text of a 20-digit code, as documents list codes."""
    return bool(text) and len(text) == 20 and text[0] == "8" and _is_digits(text)


def canonical_value(text: str) -> str:
    """``parse_code(text).value``: the text a code is stored and compared as; a code already
    in canonical 20-digit form is answered as it is (a document's hundreds of codes)."""
    return text if _is_canonical_nmpa20(text) else parse_code(text).value


def parse_code(text: str) -> TraceCode:
    """Read a trace code as typed, printed or scanned; raise :class:`CodeError` saying why not."""
    if _is_canonical_nmpa20(text):
        return _parse_nmpa20(text)
    raw = text.strip("\r\n\t ") if text else ""
    if not raw:
        raise CodeError("empty", "no code given")
    raw = _strip_symbology(raw)
    if raw.lower().startswith(("http://", "https://")):
        return _parse_digital_link(raw)
    compact = _SPLITTERS.sub("", raw)
    if _is_digits(compact) and len(compact) == 20 and not _is_gs1_shaped(compact):
        return _parse_nmpa20(compact)
    if raw.startswith("("):
        return _parse_gs1_hri(raw)
    if _is_digits(compact) and len(compact) < 20 and not compact.startswith("01"):
        raise CodeError(
            "bad_length",
            f"a 20-digit trace code has 20 digits; got {len(compact)} (a digit lost in typing?)",
        )
    if _is_digits(compact) and len(compact) in (21, 22) and compact.startswith("8"):
        raise CodeError("bad_length", f"a 20-digit trace code has 20 digits; got {len(compact)}")
    plain = _plain_gs1(raw)
    return plain if plain is not None else _parse_gs1_element_string(raw)


_PLAIN_GS1 = re.compile(r"01(\d{14})21([0-9A-Za-z]{1,20})")


def _plain_gs1(raw: str) -> TraceCode | None:
    """A GS1 code in its canonical form, ``01`` GTIN-14 ``21`` serial, read without the GS1
    parser (the common scan, ~15 times faster); None for anything else, or for a serial that
    might have swallowed a date field behind a dropped GS (whose refusal the parser gives)."""
    found = _PLAIN_GS1.fullmatch(raw)
    if found is None:
        return None
    gtin, serial = found.groups()
    if any(date_ai in serial[1:] for date_ai in _DATE_AIS):
        return None
    if gs1_check_digit(gtin[:13]) != gtin[13]:
        return None  # the parser names the error
    return TraceCode(CodeFamily.GS1, raw, gtin, serial)


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (weights 3, 1, … from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def parse_field(text: str, field: str) -> TraceCode:
    """:func:`parse_code` for a request's field: a refusal keeps the code's own reason and
    names the field and the text."""
    return _on_field(parse_code, text, field)


def canonical_field(text: str, field: str) -> str:
    """:func:`canonical_value` for a request's field, refusing as :func:`parse_field` does."""
    return _on_field(canonical_value, text, field)


def _on_field(read: Callable[[str], Read], text: str, field: str) -> Read:
    try:
        return read(text)
    except CodeError as exc:
        raise CodeError(exc.reason, f"{text!r}: {exc.message}", field=field) from exc


def listed_values(texts: Sequence[str], field: str = "codes") -> list[str]:
    """A document's codes in canonical form, each listed once."""
    values = [canonical_field(text, f"{field}[{i}]") for i, text in enumerate(texts)]
    if len(set(values)) != len(values):
        raise DomainError(Reason.DUPLICATE_CODE, "a code is listed twice", field=field)
    return values


def _is_gs1_shaped(digits: str) -> bool:
    """``01`` GTIN-14 ``21`` serial: a GS1 code with a 2-digit serial also has 20 digits."""
    return digits.startswith("01") and digits[16:18] == "21"


def _strip_symbology(raw: str) -> str:
    for prefix in SYMBOLOGY_PREFIXES:
        if raw.startswith(prefix):
            return raw[len(prefix) :]
    return raw


def _parse_nmpa20(digits: str) -> TraceCode:
    if not digits.startswith("8"):
        raise CodeError(
            "bad_prefix",
            f"20-digit trace codes in use begin with 8; this one begins with {digits[0]}",
        )
    return TraceCode(
        family=CodeFamily.NMPA20,
        value=digits,
        identification_code=digits[:7],
        serial=digits[7:16],
    )


def _parse_gs1_element_string(raw: str) -> TraceCode:
    if " " in raw or "\t" in raw:
        raise CodeError("bad_characters", "a GS1 element string contains no spaces")
    try:
        result = biip_parse(raw)
    except Exception as exc:  # biip raises its own ParseError for hopeless input
        raise CodeError("unparseable", f"not a trace code: {exc}") from exc
    message = result.gs1_message
    if message is None:
        raise CodeError(
            "unparseable",
            "not a 20-digit trace code and not a GS1 element string"
            + (f": {result.gs1_message_error}" if result.gs1_message_error else ""),
        )
    elements = {e.ai.ai: e for e in message.element_strings}
    if GS not in raw:  # a scanner that sent one GS sends them all: nothing was swallowed
        _refuse_swallowed_fields(elements)
    return _from_elements({k: (e.value, e.date) for k, e in elements.items()}, result.gtin_error)


def _parse_gs1_hri(raw: str) -> TraceCode:
    try:
        message = GS1Message.parse_hri(raw)
    except Exception as exc:
        raise CodeError("unparseable", f"not a GS1 code in (AI) form: {exc}") from exc
    elements = {e.ai.ai: (e.value, e.date) for e in message.element_strings}
    gtin_error = None if "01" not in elements else _gtin_error(elements["01"][0])
    return _from_elements(elements, gtin_error)


def _parse_digital_link(raw: str) -> TraceCode:
    scheme, rest = raw.split(":", 1)
    result = biip_parse(scheme.lower() + ":" + rest)  # a URI scheme is case-insensitive
    link = result.gs1_digital_link_uri
    if link is None:
        raise CodeError(
            "unparseable",
            f"not a GS1 Digital Link URI: {result.gs1_digital_link_uri_error or 'no GS1 data'}",
        )
    elements = {e.ai.ai: (e.value, e.date) for e in link.element_strings}
    return _from_elements(elements, result.gtin_error)


def _gtin_error(gtin: str) -> str | None:
    result = biip_parse(gtin)
    return result.gtin_error


def _refuse_swallowed_fields(elements: dict[str, GS1ElementString]) -> None:
    """A keyboard-wedge scanner that drops GS lets a variable-length field swallow the rest.

    Suspect a swallow when a variable field's tail reads as a date (11, 17) or as the serial
    (21) that the message itself lacks; an AI the message already has was not swallowed.
    """
    for ai in _VARIABLE_AIS_WE_READ:
        element = elements.get(ai)
        if element is None:
            continue
        value = element.value
        for start in range(1, len(value) - 1):
            tail = value[start:]
            if not tail.startswith(("10", "11", "17", "21")):
                continue
            try:
                swallowed = biip_parse(tail).gs1_message
            except Exception:
                continue
            if swallowed is None:
                continue
            found = [
                e
                for e in swallowed.element_strings
                if e.ai.ai not in elements
                and ((e.ai.ai in _DATE_AIS and e.date) or (e.ai.ai == "21" and ai != "21"))
            ]
            if found:
                names = ", ".join(f"({e.ai.ai}){e.value}" for e in swallowed.element_strings)
                raise CodeError(
                    "gs_separator_missing",
                    f"the GS separator after AI ({ai}) seems missing: its value {value!r} "
                    f"swallowed {names}; configure the scanner to transmit GS (0x1D) "
                    "or scan again",
                )


def _from_elements(
    elements: dict[str, tuple[str, date | None]], gtin_error: str | None
) -> TraceCode:
    if "01" not in elements:
        raise CodeError("gs1_missing_gtin", "a GS1 trace code needs a GTIN, AI (01)")
    if gtin_error:
        raise CodeError("gs1_bad_gtin", f"AI (01): {gtin_error}")
    if "21" not in elements:
        raise CodeError("gs1_missing_serial", "a GS1 trace code needs a serial number, AI (21)")
    gtin = elements["01"][0]
    serial = elements["21"][0]
    return TraceCode(
        family=CodeFamily.GS1,
        value=gs1_canonical(gtin, serial),
        identification_code=gtin,
        serial=serial,
        batch_no=elements["10"][0] if "10" in elements else None,
        expiry=elements["17"][1] if "17" in elements else None,
        production_date=elements["11"][1] if "11" in elements else None,
    )


# --- writing codes back out ---------------------------------------------------------------


def gs1_canonical(gtin: str, serial: str) -> str:
    """The canonical stored form of a GS1 code: ``01`` GTIN-14 ``21`` serial (no GS needed)."""
    return f"01{gtin}21{serial}"


def split_canonical(value: str) -> TraceCode:
    """Re-read a stored canonical value (never a scan) into its parts."""
    if value.startswith("01") and value[16:18] == "21":
        return TraceCode(CodeFamily.GS1, value, value[2:16], value[18:])
    if len(value) == 20 and _is_digits(value):
        return _parse_nmpa20(value)
    raise CodeError("unparseable", f"not a canonical trace code: {value!r}")


def format_human(code: TraceCode) -> str:
    """Human-readable form printed under the barcode: 7 + 13 digits, or GS1 (AI) notation."""
    if code.family is CodeFamily.NMPA20:
        return f"{code.value[:7]} {code.value[7:]}"
    parts = [f"(01){code.identification_code}", f"(21){code.serial}"]
    return "".join(parts)


def element_string(
    code: TraceCode, *, batch_no: str | None = None, expiry: date | None = None
) -> str:
    """The GS1 DataMatrix content (without symbology prefix), GS after variable fields."""
    if code.family is not CodeFamily.GS1:
        raise CodeError("not_gs1", "only GS1 codes have an element string")
    text = f"01{code.identification_code}"
    if expiry is not None:
        text += f"17{expiry:%y%m%d}"
    if batch_no is not None:
        text += f"10{batch_no}{GS}"
    return text + f"21{code.serial}"


def digital_link(code: TraceCode, base: str = "https://id.gs1.org") -> str:
    """The GS1 Digital Link URI of a GS1 code."""
    if code.family is not CodeFamily.GS1:
        raise CodeError("not_gs1", "only GS1 codes have a Digital Link URI")
    return f"{base.rstrip('/')}/01/{code.identification_code}/21/{quote(code.serial, safe='')}"
