"""``tests/`` and ``scripts/`` share their helpers through ``testing/`` and never import each other; one
live-server helper and one Chromium launcher (``testing/live.py``) serve every test and script."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

LIVE_HELPER = REPO_ROOT / "testing" / "live.py"


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO_ROOT / folder).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(("folder", "forbidden"), [("tests", {"scripts"}), ("scripts", {"tests"}),
                                                    ("testing", {"tests", "scripts", "pytest"}),
                                                    ("benchmarks", {"tests", "scripts"})])
def test_import_direction(folder: str, forbidden: set[str]) -> None:
    offenders = {str(p.relative_to(REPO_ROOT)): sorted(imported_packages(p) & forbidden)
                 for p in python_files(folder) if imported_packages(p) & forbidden}
    assert not offenders, f"{folder}/ must not import {sorted(forbidden)}: {offenders}"


def test_imports_are_read() -> None:  # the check above would pass vacuously if it read nothing
    assert {"testing", "pytest"} <= imported_packages(REPO_ROOT / "tests" / "app" / "browser.py")


@pytest.mark.parametrize("needle", ['"streamlit", "run"', "chromium.launch(", "executable_path="])
def test_one_server_launcher_and_one_chromium_launcher(needle: str) -> None:
    found = [str(p.relative_to(REPO_ROOT)) for p in python_files("tests", "scripts", "testing", "benchmarks")
             if needle in p.read_text() and p != Path(__file__).resolve()]
    assert found == [str(LIVE_HELPER.relative_to(REPO_ROOT))], f"{needle!r} outside testing/live.py: {found}"
