"""The model page's registry for an admin (issue 20): register a checkpoint from the incoming folder, activate it
with a reason (none: refused), the page and new predictions follow, roll back; shadow runs; not for others."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clinic import active_model
from db import audit
from db.engine import Database
from db.users import create_user
from pages import _resources as res
from scalp_model.serving.checkpoint import card_path
from testing.models import carded_checkpoint
from tests.app.conftest import PASSWORD, assert_clean, sign_in, texts

PAGE = "pages/model.py"


@pytest.fixture(scope="module")
def incoming_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("made")
    return carded_checkpoint(folder, "page-a", seed=5), carded_checkpoint(folder, "page-b", seed=6)


@pytest.fixture
def models_dir(app_env: Path, monkeypatch: pytest.MonkeyPatch, incoming_checkpoints) -> Path:
    folder = app_env / "models"
    (folder / "incoming").mkdir(parents=True)
    for checkpoint in incoming_checkpoints:
        shutil.copy(checkpoint, folder / "incoming" / checkpoint.name)
        shutil.copy(card_path(checkpoint), folder / "incoming" / card_path(checkpoint).name)
    monkeypatch.setenv("SCALPSCOPE_MODELS_DIR", str(folder))
    monkeypatch.setenv("SCALPSCOPE_MODEL_POLL_S", "0.05")
    active_model.WATCH.forget()
    return folder


@pytest.fixture
def admin_at(at, database: Database, models_dir: Path):
    with database.begin() as session:
        create_user(session, "boss", PASSWORD, "admin")
    sign_in(at, "boss")
    return at.switch_page(PAGE).run()


def register(at, name: str):
    choice = next(option for option in at.selectbox(key="model_register_file").options if option.endswith(name))
    at.selectbox(key="model_register_file").set_value(Path(choice))
    return at.button(key="FormSubmitter:model_register-Register").click().run()


def activate(at, version: str, reason: str):
    box = at.selectbox(key="model_activate_choice")
    box.select_index(next(i for i, option in enumerate(box.options) if option.startswith(f"{version} (")))
    at.text_area(key="model_activate_reason").input(reason)
    return at.button(key="FormSubmitter:model_activate-Activate").click().run()


def test_admin_registers_activates_and_rolls_back(admin_at, database: Database, models_dir: Path) -> None:
    at = admin_at
    assert_clean(at)
    assert any("No model is registered yet" in i for i in texts(at.info))
    assert "**Version** test-tiny" in texts(at.markdown)  # SCALPSCOPE_WEIGHTS while nothing is active
    register(at, "page-a.pt")
    register(at, "page-b.pt")
    assert_clean(at)
    assert "Registered page-b as a candidate." in texts(at.success)
    table = at.dataframe[0].value
    assert sorted(table["Version"]) == ["page-a", "page-b"] and set(table["State"]) == {"candidate"}

    activate(at, "page-a", "")
    assert any("The reason is required" in e for e in texts(at.error))
    assert res.serving_model().entry is None
    activate(at, "page-a", "first registered model")
    assert_clean(at)
    assert any("page-a is now the active model" in s for s in texts(at.success))
    assert "**Version** page-a" in texts(at.markdown)
    assert res.get_predictor().version == "page-a"

    activate(at, "page-b", "better on our cases")
    assert "**Version** page-b" in texts(at.markdown)
    activate(at, "page-a", "roll back")
    assert "**Version** page-a" in texts(at.markdown)
    table = at.dataframe[0].value
    assert dict(zip(table["Version"], table["State"])) == {"page-a": "active", "page-b": "retired"}
    with database.session() as session:
        events = audit.list_events(session, action="model.activate")
    assert [(e.actor, e.detail["version"], e.detail["reason"]) for e in events] == [
        ("clinician:boss", "page-a", "first registered model"), ("clinician:boss", "page-b", "better on our cases"),
        ("clinician:boss", "page-a", "roll back")]


def test_a_dermatologist_sees_no_registry(at, database: Database, models_dir: Path) -> None:
    with database.begin() as session:
        create_user(session, "derm", PASSWORD)
    sign_in(at, "derm")
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert "Registered models" not in [h.value for h in at.header]
    with pytest.raises(KeyError):
        at.button(key="FormSubmitter:model_register-Register")


def test_admin_compares_two_models_in_the_background(admin_at, database: Database) -> None:
    from clinic import comparison
    from tests.app.conftest import seed_reviewed

    at = admin_at
    register(at, "page-a.pt")
    register(at, "page-b.pt")
    reviewer = database_user(database, "derm2")
    seed_reviewed(database, reviewer, ["psoriasis", "seborrheic_dermatitis"] * 3, images=[1, 2] * 3)
    at.selectbox(key="model_compare_a").select_index(0)
    at.selectbox(key="model_compare_b").select_index(1)
    at.button(key="FormSubmitter:model_compare-Compare").click().run()
    assert_clean(at)
    pair = at.session_state["_model_compare_pair"]
    assert comparison.JOBS.get(*pair).finished.wait(120)
    at.run()
    assert_clean(at)
    shown = " ".join(texts(at.markdown) + texts(at.caption))
    assert "6 reviewed consultations" in shown and "Paired DeLong test" in shown and "agree" in shown
    table = at.table[0].value
    assert {"page-a", "page-b"} <= set(table.columns) and "AUC (95 % CI)" in list(table["Figure"])


def database_user(database: Database, name: str):
    with database.begin() as session:
        return create_user(session, name, PASSWORD)


def test_retraining_with_too_few_reviews_says_so(admin_at) -> None:
    from clinic import retrain

    at = admin_at
    at.number_input(key="model_retrain_epochs").set_value(1)
    at.button(key="FormSubmitter:model_retrain-Retrain").click().run()
    assert retrain.JOBS.current.finished.wait(60)
    at.run()
    assert_clean(at)
    assert any("Too few reviewed photos to retrain" in e for e in texts(at.error))
