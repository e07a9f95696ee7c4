"""The shipped EfficientNet-Lite0 reference checkpoint (issue 20, item 5) registers as a candidate beside the
GoogLeNet and never becomes the active model by being registered."""
from __future__ import annotations

from pathlib import Path

import pytest

from clinic import models
from db import audit
from db import model_registry as registry
from db.engine import Database
from scalp_model.cli import main as scalp_model_main
from testing.models import carded_checkpoint
from tests.conftest import REPO_ROOT

REFERENCE = REPO_ROOT / "weights" / "scalpscope-efficientnet-lite0-reference.pt"


def test_registering_the_reference_leaves_the_active_model_unchanged(database: Database, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    assert REFERENCE.is_file(), f"the reference checkpoint {REFERENCE} is missing"
    googlenet = models.register_checkpoint(database, carded_checkpoint(tmp_path / "in", "clinic-googlenet"),
                                           actor=audit.SYSTEM, models_dir=tmp_path / "models")
    with database.begin() as session:
        registry.activate_model(session, googlenet.id, actor=audit.SYSTEM, reason="the clinic's model")
    url = database.engine.url.render_as_string(hide_password=False)
    code = scalp_model_main(["register", str(REFERENCE), "--database-url", url, "--models-dir", str(tmp_path / "models")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "efficientnet_lite0" in out and "as a candidate" in out
    entries = {m.version: m for m in models.list_models(database)}
    reference = next(m for m in entries.values() if m.architecture == "efficientnet_lite0")
    assert reference.state == "candidate" and not reference.shadow
    assert entries["clinic-googlenet"].state == "active"
    with database.session() as session:
        assert registry.active_model(session).id == googlenet.id
    assert models.model_path(reference, tmp_path / "models").is_file()


def test_registering_the_reference_first_activates_nothing(database: Database, tmp_path: Path) -> None:
    entry = models.register_checkpoint(database, REFERENCE, actor=audit.SYSTEM, models_dir=tmp_path / "models")
    assert (entry.architecture, entry.state) == ("efficientnet_lite0", "candidate")
    with database.session() as session:
        assert registry.active_model(session) is None  # SCALPSCOPE_WEIGHTS (the GoogLeNet) keeps serving
