"""Every role has the same rooms and holds no SQL (issue 11): ``api.py`` with one router
factory, a ``service`` package with its facade, no SQLAlchemy and no table imported (every
statement is a function of ``vaxtrace.store.<role>``), and no role imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vaxtrace.roles

ROLES_DIR = Path(vaxtrace.roles.__file__).parent
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir() and p.name != "__pycache__")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_four_roles() -> None:
    assert ROLES == ["immunization", "platform", "supervision", "trace"]


@pytest.mark.parametrize("role", ROLES)
def test_a_role_imports_neither_sqlalchemy_nor_a_schema_nor_another_role(role: str) -> None:
    modules = sorted((ROLES_DIR / role).rglob("*.py"))
    others = {f"vaxtrace.roles.{r}" for r in ROLES if r != role}
    found = [
        f"{path.relative_to(ROLES_DIR)}: {name}"
        for path in modules
        for name in _imports(path)
        if name.split(".")[0] == "sqlalchemy"
        or "schema" in name.split(".")
        or any(name == o or name.startswith(o + ".") for o in others)
    ]
    assert found == []


@pytest.mark.parametrize("role", ROLES)
def test_a_role_has_the_same_rooms(role: str) -> None:
    home = ROLES_DIR / role
    assert (home / "api.py").is_file() and (home / "service" / "facade.py").is_file()
    assert (home / "service" / "__init__.py").is_file()
    tree = ast.parse((home / "api.py").read_text(encoding="utf-8"))
    factories = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_router")
    ]
    assert factories == [f"{role}_router"]
