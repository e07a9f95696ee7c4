"""Imports point one way: the serving code never reaches into training, the CLI or test helpers, and neither
``scalp_model`` nor ``db`` imports Streamlit. Read from the source with ``ast`` (function-level imports
included), so a lazy import inside a function cannot hide."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SERVING_MUST_NOT_IMPORT = ("scalp_model.training", "scalp_model.cli", "tests")
NO_STREAMLIT_IN = ("scalp_model", "db")


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``source``, the source of ``module``.

    Relative imports are resolved against ``module``'s package; ``from pkg import name`` also yields
    ``pkg.name`` (the name may be a sub-module).
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                target = ".".join(filter(None, [base, node.module]))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
    return found


def python_files(folder: str) -> list[Path]:
    return sorted(p for p in (REPO_ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in files:
        for line, target in imported_modules(path.read_text(encoding="utf-8"), module_name(path),
                                             path.name == "__init__.py"):
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {target}")
    return sorted(set(out))


def test_serving_does_not_import_training_cli_or_test_helpers() -> None:
    files = python_files("scalp_model/serving")
    assert len(files) >= 9, "the serving package was not found"
    assert violations(files, SERVING_MUST_NOT_IMPORT) == []


@pytest.mark.parametrize("folder", NO_STREAMLIT_IN)
def test_no_streamlit_outside_the_pages(folder: str) -> None:
    files = python_files(folder)
    assert files
    assert violations(files, ("streamlit",)) == []


@pytest.mark.parametrize("source, module, expected", [
    ("def f():\n    from ..training.data import scan_dataset\n", "scalp_model.serving.engine",
     "scalp_model.training.data"),
    ("from .. import training\n", "scalp_model.serving.engine", "scalp_model.training"),
    ("import scalp_model.cli.bench as b\n", "scalp_model.serving.cam", "scalp_model.cli.bench"),
    ("from tests.images import texture_image\n", "scalp_model.serving.quality", "tests.images"),
])
def test_the_check_sees_function_level_relative_and_aliased_imports(tmp_path: Path, source: str, module: str,
                                                                   expected: str) -> None:
    found = [target for _, target in imported_modules(source, module)]
    assert expected in found
    assert any(expected == f or expected.startswith(f + ".") for f in SERVING_MUST_NOT_IMPORT)


def test_the_check_sees_streamlit_inside_a_function() -> None:
    found = [t for _, t in imported_modules("def page():\n    import streamlit as st\n", "db.reader_study")]
    assert "streamlit" in found
