"""The trace role holds no SQL: its modules import neither SQLAlchemy nor a table (issue 11);
every statement is a function of ``vaxtrace.store.trace``."""

from __future__ import annotations

import ast
from pathlib import Path

import vaxtrace.roles.trace

ROLE = Path(vaxtrace.roles.trace.__file__).parent


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_trace_module_imports_sqlalchemy_or_a_schema() -> None:
    modules = sorted(ROLE.rglob("*.py"))
    assert modules
    found = [
        f"{path.relative_to(ROLE)}: {name}"
        for path in modules
        for name in _imports(path)
        if name.split(".")[0] == "sqlalchemy" or "schema" in name.split(".")
    ]
    assert found == []
