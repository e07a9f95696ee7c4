"""Pages lay out widgets and call the application layer (``clinic``); they hold no SQL, no model, no rule.

The rule, checked on every file in ``pages/`` by parsing it with ``ast`` (imports inside functions count):

* no page imports SQLAlchemy, torch (or torchvision, ONNX Runtime, OpenCV, pytorch-grad-cam), the
  database's engine or audit trail (``db.engine``, ``db.audit``, ``db.testing_pg``), or the model's
  decoding and inference internals (``scalp_model.serving.preprocess``, ``quality``, ``cam``, ``engine``,
  ``network``, ``data``);
* from ``db.models`` a page takes only display constants (the status, diagnosis, study enums) and
  ``utcnow``; from ``scalp_model.serving.predictor`` only ``label_for``, the service's one decision rule;
* the one exception is ``pages/_resources.py``, the single module that builds the process's shared
  resources: it may import ``db.engine.Database``, ``db.audit`` (to register where requests come from) and
  ``scalp_model.serving.predictor.Predictor``;
* pages that still open a unit of work themselves (``.begin()``, ``.session()``, ``.begin_nested()``) are
  listed in :data:`STILL_OPENING_SESSIONS`; a page not on that list that opens one fails, so the list
  only shrinks as pages move to ``clinic`` (``clinic.units.read`` / ``write`` run one ``db`` function in
  its own unit of work for pages that need nothing more).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PAGES = sorted((REPO_ROOT / "pages").glob("*.py"))
FORBIDDEN = ("sqlalchemy", "torch", "torchvision", "onnxruntime", "cv2", "pytorch_grad_cam", "db.engine",
             "db.audit", "db.testing_pg", "scalp_model.serving.preprocess", "scalp_model.serving.quality", "scalp_model.serving.cam",
             "scalp_model.serving.engine", "scalp_model.serving.network", "scalp_model.training.data")
ONLY_NAMES = {"db.models": {"Status", "Diagnosis", "StudySource", "StudyLabel", "Role", "utcnow"},
              "scalp_model.serving.predictor": {"label_for"}}
RESOURCES = {"db.engine": {"Database"}, "db": {"audit"}, "scalp_model.serving.predictor": {"Predictor"}}
# The browser module (moved out of _resources.py) tells the audit trail where a request came from: audit.Origin.
BROWSER = {"db": {"audit"}}
STILL_OPENING_SESSIONS = {"_resources.py"}  # the shared resources' own set-up and cached reads
SESSION_CALLS = {"begin", "session", "begin_nested"}


def imported(tree: ast.AST) -> list[tuple[str, str | None]]:
    """(module, name or None) of every import anywhere in the tree, functions included."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.module, alias.name) for alias in node.names]
            found += [(f"{node.module}.{alias.name}", None) for alias in node.names]  # from db import audit
    return found


def violations(source: str, filename: str) -> list[str]:
    allowed = {"_resources.py": RESOURCES, "_browser.py": BROWSER}.get(filename, {})
    problems = []
    for module, name in imported(ast.parse(source)):
        if name is not None and name in allowed.get(module, set()):
            continue
        if name is None and module.rpartition(".")[2] in allowed.get(module.rpartition(".")[0], set()):
            continue
        if name is None and any(module == f or module.startswith(f + ".") for f in FORBIDDEN):
            problems.append(f"imports {module}")
        elif name is not None and module in ONLY_NAMES and name not in ONLY_NAMES[module]:
            problems.append(f"imports {name} from {module}")
    return problems


def opens_sessions(source: str) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in SESSION_CALLS
               for n in ast.walk(ast.parse(source)))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_import_no_sql_model_internals_or_rules(page: Path) -> None:
    assert violations(page.read_text(), page.name) == []


def test_only_the_listed_pages_still_open_units_of_work() -> None:
    opening = {page.name for page in PAGES if opens_sessions(page.read_text())}
    assert opening <= STILL_OPENING_SESSIONS, f"use clinic instead in {sorted(opening - STILL_OPENING_SESSIONS)}"
    for moved in ("new_consultation.py", "review.py", "queue.py", "my_consultation.py", "accounts.py",
                  "reader_admin.py", "reader_results.py", "reader_study.py", "_auth.py"):
        assert moved not in opening


@pytest.mark.parametrize(("source", "problem"), [
    ("def f():\n    import torch\n", "imports torch"),
    ("from sqlalchemy.orm import Session\n", "imports sqlalchemy.orm.Session"),
    ("from db import audit\n", "imports db.audit"),
    ("import db.engine\n", "imports db.engine"),
    ("from db.models import Consultation\n", "imports Consultation from db.models"),
    ("def g():\n    from scalp_model.serving.preprocess import decode_image\n", "imports scalp_model.serving.preprocess.decode_image"),
    ("from scalp_model.serving.predictor import Predictor\n", "imports Predictor from scalp_model.serving.predictor"),
])
def test_the_rule_catches_what_it_forbids(source: str, problem: str) -> None:
    assert problem in violations(source, "some_page.py")


def test_the_rule_lets_a_page_use_clinic_and_display_constants() -> None:
    assert violations("from clinic import submit_consultation\nfrom db.models import Status, utcnow\n"
                      "from scalp_model.serving.predictor import label_for\n", "some_page.py") == []
    assert opens_sessions("with res.get_database().begin() as s:\n    pass\n")
