"""Each reason code is written once, in ``vaxtrace/core/reasons.py``, and each has its HTTP
status in the one map (``vaxtrace.web.problems.STATUS``)."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import vaxtrace
from vaxtrace.core.reasons import DoseReason, DoseWarning, Reason, ScanReason
from vaxtrace.web.problems import STATUS

PACKAGE = Path(vaxtrace.__file__).parent
DEFINITIONS = PACKAGE / "core" / "reasons.py"
CODES = {m.value for enum in (Reason, ScanReason, DoseReason, DoseWarning) for m in enum}


def _is_enum(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Name) and b.id.endswith("Enum") for b in node.bases)


def _member_values(tree: ast.AST) -> set[int]:
    """ids of the string constants that define members of an enum (another vocabulary's
    word may spell the same as a reason: ``Status.EXPIRED`` is a status, not a reason)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and _is_enum(node):
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                    found.add(id(item.value))
    return found


def _reason_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    members = _member_values(tree)
    return [
        f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in CODES
        and id(node) not in members
    ]


def test_no_reason_code_is_written_outside_its_enum() -> None:
    sources = [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts and p != DEFINITIONS]
    found = [line for path in sorted(sources) for line in _reason_literals(path)]
    assert found == []


def test_every_refusal_reason_has_its_status() -> None:
    assert {r for r in Reason if r not in STATUS} == set()
    assert all(400 <= status < 600 for status in STATUS.values())


def test_a_code_two_vocabularies_share_is_written_once() -> None:
    """The dose gate's and the scan's words for a refusal reason are that reason."""
    shared = {m.value for m in DoseReason} & {m.value for m in Reason}
    assert {DoseReason(v) for v in shared} == {
        DoseReason.UNKNOWN_CODE,
        DoseReason.NOT_HELD,
        DoseReason.ALREADY_USED,
        DoseReason.LOCKED,
        DoseReason.RECALLED,
        DoseReason.EXPIRED,
        DoseReason.NO_LOT_RELEASE,
    }
    text = DEFINITIONS.read_text(encoding="utf-8")
    for value in CODES:
        assert text.count(f'"{value}"') == 1, value


def test_reason_enums_are_str_enums() -> None:
    for enum in (Reason, ScanReason, DoseReason, DoseWarning):
        assert issubclass(enum, StrEnum)
