"""The import graph between the project's packages: dependencies point one way.

server -> schema -> data <- etl; the tools (bench, evaluation, report) sit above the layers
they use; the ``movies`` CLI is the composition root, which nothing imports. Every import
statement counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.name for p in ROOT.iterdir()
                  if (p / "__init__.py").is_file() and p.name != "tests")

# What each package may import of the others.
ALLOWED = {
    "data": set(),
    "schema": {"data"},
    "server": {"schema", "data"},
    "etl": {"data"},
    "report": {"data"},
    "evaluation": {"etl", "schema", "data"},
    "bench": {"server", "schema", "data", "etl", "evaluation"},
    "cli": {"server", "schema", "data", "etl", "evaluation", "report", "bench"},
}


def imports_of(package: str) -> dict[str, set[str]]:
    """Other project packages ``package`` imports, each with the files that do."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in PACKAGES and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_package_is_placed() -> None:
    assert set(PACKAGES) == set(ALLOWED), "a new package needs its place in the layers"


def test_each_package_imports_only_what_its_layer_allows() -> None:
    wrong = {package: {other: sorted(files) for other, files in imports_of(package).items()
                       if other not in ALLOWED[package]}
             for package in PACKAGES}
    assert not any(wrong.values()), wrong


def test_the_allowed_graph_has_no_cycle_and_nothing_imports_the_cli() -> None:
    assert all("cli" not in allowed for allowed in ALLOWED.values())
    done: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, f"cycle: {' -> '.join((*path, package))}"
        if package not in done:
            for other in ALLOWED[package]:
                visit(other, (*path, package))
            done.add(package)

    for package in ALLOWED:
        visit(package, ())
