"""The layers written in pyproject.toml hold (lint-imports, as `make test` runs it), and no two
parts import each other, even through other modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("sohoa", "migrations", "api", "station", "quotas", "batch", "archive", "pipeline",
         "scanners", "ocr", "signing", "storage")


def test_import_linter_contract_is_kept():
    run = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 kept, 0 broken" in run.stdout


def test_no_import_circle_between_modules_of_different_parts():
    """A module importing one of another part never gets itself back through any chain."""
    graph = grimp.build_graph(*PARTS)
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported.split(".")[0] != module.split(".")[0] and graph.chain_exists(
                    importer=imported, imported=module):
                circles.append(graph.find_shortest_chain(importer=imported, imported=module))
    assert circles == []


def test_pipeline_modules_import_no_circle():
    """The stage contract, driver, dispatcher, actors, review and ingest import one way (they
    used to form one circle: actors <-> review <-> stages <-> inline <-> ingest)."""
    graph = grimp.build_graph(*PARTS)
    circles = sorted(
        (module, imported) for module in graph.find_descendants("pipeline")
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("pipeline.") and graph.chain_exists(importer=imported,
                                                                   imported=module))
    assert circles == []


def _imports_inside_functions() -> list[str]:
    """`file:line statement` of every first-party import made inside a function."""
    found = set()
    for part in PARTS:
        for path in sorted((ROOT / part).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom):
                        names = [node.module or ""] if node.level == 0 else [part]
                    elif isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    else:
                        continue
                    if any(name.split(".")[0] in PARTS for name in names):
                        found.add(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    return sorted(found)


def test_few_first_party_imports_inside_functions():
    """Imports sit at the top of their module: `sohoa --help` stays quick because the parts'
    command modules load lazily (`sohoa/commands.py`), not because each command hides its
    imports. The few left choose a backend (object store, scanner, key source, the runtime's
    services) or break a circle inside one part."""
    inside = _imports_inside_functions()
    assert len(inside) < 40, f"{len(inside)} first-party imports inside functions:\n" + \
        "\n".join(inside)
