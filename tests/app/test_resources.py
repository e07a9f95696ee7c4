"""pages/_resources.py and the app's configuration: one place for errors, settings and shared resources."""
from __future__ import annotations

import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from db.errors import DatabaseBusyError
from pages import _resources as res
from scalp_model import settings as model_settings
from tests.conftest import REPO_ROOT


def _page(kind: str) -> None:
    import streamlit as st

    from db.errors import DatabaseBusyError, MigrationRequiredError
    from pages import _resources as res
    from scalp_model.errors import InvalidImageError

    error = {"image": InvalidImageError("Not a photo."), "busy": DatabaseBusyError(),
             "setup": MigrationRequiredError(), "bug": KeyError("bug")}[kind]
    with res.friendly_errors():
        raise error
    st.write("not reached")


@pytest.mark.parametrize(("kind", "message"), [
    ("image", "Not a photo."),
    ("busy", DatabaseBusyError.default_message),
    ("setup", "problem on our side"),
])
def test_named_errors_become_one_st_error(kind, message):
    at = AppTest.from_function(_page, kwargs={"kind": kind}).run()
    assert not at.exception
    assert message in at.error[0].value
    assert not [m for m in at.markdown if m.value == "not reached"]


def test_bugs_are_not_swallowed():
    at = AppTest.from_function(_page, kwargs={"kind": "bug"}).run()
    assert at.exception


def test_one_predictor_per_checkpoint(app_env, tiny_checkpoint):
    assert res.get_predictor() is res.get_predictor()
    assert res.get_predictor().version == "test-tiny"


def test_database_is_shared_and_migrated_once(app_env):
    database = res.get_database()
    assert database is res.get_database()
    assert database.current_revision() == database.head_revision()


@pytest.fixture
def secrets_at(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Point Streamlit's secrets at ``tmp_path/secrets.toml`` (written by the test or absent), freshly parsed."""
    import streamlit
    from streamlit import config
    from streamlit.runtime.secrets import Secrets

    path = tmp_path / "secrets.toml"
    previous = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    yield path
    config.set_option("secrets.files", previous)


def test_secrets_are_optional(app_env, secrets_at):
    assert not secrets_at.exists()
    assert res.secrets() == {}  # no secrets file: empty, never an error
    assert not res.oidc_configured()


def test_secrets_file_values_are_read_and_reach_the_environment(app_env, secrets_at, monkeypatch):
    monkeypatch.setenv("SCALPSCOPE_SESSION_TIMEOUT_MIN", "30")  # recorded, so the copy is undone afterwards
    monkeypatch.delenv("SCALPSCOPE_SESSION_TIMEOUT_MIN")
    secrets_at.write_text('SCALPSCOPE_SESSION_TIMEOUT_MIN = "7"\n\n[auth]\nredirect_uri = '
                          '"http://localhost:8501/oauth2callback"\n', encoding="utf-8")
    assert res.secrets() == {"SCALPSCOPE_SESSION_TIMEOUT_MIN": "7",
                             "auth": {"redirect_uri": "http://localhost:8501/oauth2callback"}}
    assert res.session_timeout_s() == 7 * 60  # top-level values were copied into the environment
    assert res.oidc_configured()


def test_streamlit_config_is_safe():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False
    # Streamlit refuses bigger uploads than the model core accepts, never smaller ones.
    assert config["server"]["maxUploadSize"] == float(model_settings.MAX_UPLOAD_MB.default)


def test_secrets_file_is_ignored_by_git():
    assert ".streamlit/secrets.toml" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").split()
