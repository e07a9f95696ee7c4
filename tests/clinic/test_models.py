"""Registering checkpoints (issue 20): checked with their card, copied into the models folder, candidates until an
admin activates one; the command line ``python -m scalp_model register FILE`` does the same."""
from __future__ import annotations

from pathlib import Path

import pytest

from clinic import models
from db import audit
from db.engine import Database
from db.errors import ValidationError
from db.users import Clinician, create_user
from scalp_model.cli import main as scalp_model_main
from scalp_model.serving.checkpoint import card_path, file_sha256
from scalp_model.serving.registry_files import CardMissingError
from scalp_model.errors import WeightsCorruptError
from testing.models import carded_checkpoint
from tests.db.builders import TEST_PASSWORD


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("incoming")
    return carded_checkpoint(folder, "clinic-a", seed=1), carded_checkpoint(folder, "clinic-b", seed=2)


@pytest.fixture
def admin(database: Database) -> Clinician:
    with database.begin() as session:
        return create_user(session, "root", TEST_PASSWORD, "admin")


def test_register_copies_checkpoint_and_card_as_candidates(database: Database, admin: Clinician, tmp_path: Path,
                                                           two_checkpoints, monkeypatch) -> None:
    monkeypatch.setenv("SCALPSCOPE_MODELS_DIR", str(tmp_path / "models"))
    first = models.register_as(database, admin, two_checkpoints[0])
    second = models.register_as(database, admin, two_checkpoints[1])
    assert (first.version, first.state, first.architecture) == ("clinic-a", "candidate", "googlenet")
    assert first.sha256 == file_sha256(two_checkpoints[0]) != second.sha256
    stored = models.model_path(first)
    assert stored.parent == tmp_path / "models" and file_sha256(stored) == first.sha256
    assert card_path(stored).read_text(encoding="utf-8") == first.card
    assert first.figures == {"test": {"auc": pytest.approx(0.51)}}
    assert [m.version for m in models.list_models(database)] == ["clinic-b", "clinic-a"]
    with database.session() as session:
        events = audit.list_events(session, action="model.register")
    assert [(e.actor, e.detail["version"]) for e in events] == [(admin.actor, "clinic-a"), (admin.actor, "clinic-b")]


def test_a_file_registered_twice_is_refused(database: Database, admin: Clinician, tmp_path: Path,
                                            two_checkpoints) -> None:
    models.register_checkpoint(database, two_checkpoints[0], actor=admin.actor, models_dir=tmp_path)
    with pytest.raises(ValidationError, match="already registered as 'clinic-a'"):
        models.register_checkpoint(database, two_checkpoints[0], actor=admin.actor, models_dir=tmp_path)
    assert len(models.list_models(database)) == 1


def test_without_a_card_or_with_a_wrong_card_nothing_is_registered(database: Database, admin: Clinician,
                                                                    tmp_path: Path, two_checkpoints) -> None:
    bare = tmp_path / "in" / "bare.pt"
    bare.parent.mkdir()
    bare.write_bytes(two_checkpoints[0].read_bytes())
    with pytest.raises(CardMissingError, match="has no model card: write bare.md"):
        models.register_checkpoint(database, bare, actor=admin.actor, models_dir=tmp_path / "models")
    card_path(bare).write_text("# a card without the file's hash\n", encoding="utf-8")
    with pytest.raises(CardMissingError, match="does not name the checkpoint's sha256"):
        models.register_checkpoint(database, bare, actor=admin.actor, models_dir=tmp_path / "models")
    card_path(bare).write_text(f"sha256: {'0' * 64}\n", encoding="utf-8")
    with pytest.raises(WeightsCorruptError, match="does not match its model card"):
        models.register_checkpoint(database, bare, actor=admin.actor, models_dir=tmp_path / "models")
    assert models.list_models(database) == [] and not (tmp_path / "models").exists()


def test_only_an_admin_registers_or_activates(database: Database, clinician: Clinician, admin: Clinician,
                                              two_checkpoints, tmp_path: Path) -> None:
    with pytest.raises(models.AdminOnlyError):
        models.register_as(database, clinician, two_checkpoints[0])
    entry = models.register_checkpoint(database, two_checkpoints[0], actor=admin.actor, models_dir=tmp_path)
    with pytest.raises(models.AdminOnlyError):
        models.activate(database, clinician, entry.id, "mine")
    assert models.activate(database, admin, entry.id, "first model").state == "active"


def test_command_line_register(database: Database, two_checkpoints, tmp_path: Path, capsys) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    code = scalp_model_main(["register", str(two_checkpoints[1]), "--database-url", url,
                             "--models-dir", str(tmp_path / "m")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Registered 'clinic-b'" in out and "as a candidate" in out
    assert scalp_model_main(["register", str(two_checkpoints[1]), "--database-url", url]) == 3
    assert "already registered as 'clinic-b'" in capsys.readouterr().err
    assert scalp_model_main(["register", str(tmp_path / "missing.pt"), "--database-url", url]) == 3
    assert "No model weights at" in capsys.readouterr().err
    with database.session() as session:
        assert [e.actor for e in audit.list_events(session, action="model.register")] == [audit.SYSTEM]
