"""Imports flow one way: api/client -> service -> backends; nothing imports upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "conveyor"

# (importer prefix, forbidden import prefix)
FORBIDDEN = [
    ("conveyor.task", "conveyor."),
    ("conveyor.errors", "conveyor."),
    ("conveyor.backends", "conveyor.api"),
    ("conveyor.backends", "conveyor.worker"),
    ("conveyor.backends", "conveyor.service"),
    ("conveyor.backends", "conveyor.app"),
    ("conveyor.backends", "conveyor.registry"),
    ("conveyor.service", "conveyor.api"),
    ("conveyor.service", "conveyor.worker"),
    ("conveyor.worker", "conveyor.api"),
    ("conveyor.worker", "conveyor.service"),
    ("conveyor.registry", "conveyor.backends"),
    ("conveyor.web", "conveyor.backends"),
    ("conveyor.web", "conveyor.worker"),
    ("conveyor.web", "conveyor.node"),
    ("conveyor.backends", "conveyor.web"),
    ("conveyor.service", "conveyor.web"),
    ("conveyor.worker", "conveyor.web"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("conveyor")}


MODULES = sorted(PACKAGE.rglob("*.py"))
# Parsed at collection, before any test starts threads: CPython 3.11's ast.parse can fail
# with "AST constructor recursion depth mismatch" while other threads run (gh-106905).
IMPORTS = {path: imports_of(path) for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_forbidden_import(path: Path) -> None:
    importer = module_name(path)
    for imported in IMPORTS[path]:
        for source, target in FORBIDDEN:
            if (importer == source or importer.startswith(source + ".")) and (
                imported == target.rstrip(".") or imported.startswith(target)
            ):
                if imported == importer:
                    continue
                pytest.fail(f"{importer} must not import {imported}")


def test_the_walk_sees_the_package() -> None:
    assert len(MODULES) > 20
    assert "conveyor.backends.base" in IMPORTS[PACKAGE / "backends" / "sqlite" / "backend.py"]
