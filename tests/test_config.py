"""The one configuration registry (``config``): parsers, empty values, errors, the README, the app's message."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import config
from config import ConfigurationError, parsers, register
from config.registry import _REGISTRY
from tests.conftest import REPO_ROOT

# Files whose SCALPSCOPE_* names must all be registered (what reads the environment, and what sets it).
SOURCES = ("*.py", "scalpscope", "deploy/*.sh", "deploy/*.template", ".ci/run")
EXAMPLES = {Path(__file__).resolve(), REPO_ROOT / "config" / "__init__.py"}  # made-up names in examples


def documented(readme: Path, heading: str) -> dict[str, str]:
    """``{variable: default}`` from the Markdown tables under ``heading`` (up to the next heading)."""
    text = readme.read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    section = re.split(r"\n#{1,3} ", section, maxsplit=1)[0]
    return dict(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", section, flags=re.M))


def test_readme_documents_every_setting_and_nothing_else() -> None:
    registered = {s.name for s in config.all_settings()}
    docs = {**documented(REPO_ROOT / "README.md", "## Configuration"),
            **documented(REPO_ROOT / "db" / "README.md", "## Settings")}
    assert len(registered) >= 20, registered  # the registry was really filled by its owners
    assert sorted(registered - docs.keys()) == [], "registered but not documented in README.md / db/README.md"
    assert sorted(docs.keys() - registered) == [], "documented but not registered (no such setting)"


def test_every_variable_the_code_names_is_registered() -> None:
    registered = {s.name for s in config.all_settings()}
    named: dict[str, str] = {}
    for pattern in SOURCES:
        for path in REPO_ROOT.glob(pattern if "/" in pattern or not pattern.startswith("*") else f"**/{pattern}"):
            if ".venv" in path.parts or path.relative_to(REPO_ROOT).parts[0] == "training" or path in EXAMPLES:
                continue
            for name in re.findall(r"\bSCALPSCOPE_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="replace")):
                named.setdefault(name, str(path.relative_to(REPO_ROOT)))
    assert "SCALPSCOPE_WEIGHTS" in named and "SCALPSCOPE_ADDRESS" in named  # the scan found the usual readers
    assert {n: f for n, f in named.items() if n not in registered} == {}


def test_importing_config_stays_light() -> None:
    code = ("import sys, config, config.app, config.parsers; "
            "heavy = {'torch', 'sqlalchemy', 'streamlit'} & set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)


@pytest.mark.parametrize(("name", "default"), [
    ("SCALPSCOPE_MAX_UPLOAD_MB", 20.0), ("SCALPSCOPE_DEVICE", "auto"), ("SCALPSCOPE_DEMO", False),
    ("SCALPSCOPE_DB_BUSY_TIMEOUT_MS", 5000), ("SCALPSCOPE_STUDY_ROOT", None), ("DATABASE_URL", None),
])
@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_value_means_the_default(monkeypatch, name: str, default: object, empty: str) -> None:
    setting = {s.name: s for s in config.all_settings()}[name]
    monkeypatch.setenv(name, empty)
    assert setting.get() == default
    monkeypatch.delenv(name)
    assert setting.get() == default


def test_an_empty_weights_path_is_the_shipped_checkpoint_not_the_current_folder(monkeypatch) -> None:
    from scalp_model import settings

    monkeypatch.setenv("SCALPSCOPE_WEIGHTS", "")
    assert settings.weights_path() == settings.DEFAULT_WEIGHTS != Path(".")
    monkeypatch.setenv("SCALPSCOPE_MAX_UPLOAD_MB", "")
    assert settings.max_upload_bytes() == 20 * 1024 * 1024  # was a bare ValueError


@pytest.mark.parametrize(("name", "value", "accepted"), [
    ("SCALPSCOPE_MAX_UPLOAD_MB", "twenty", "a number greater than 0"),
    ("SCALPSCOPE_MAX_UPLOAD_MB", "0", "a number greater than 0"),
    ("SCALPSCOPE_MAX_UPLOAD_MB", "nan", "a number greater than 0"),
    ("SCALPSCOPE_MAX_PIXELS", "6e7", "a whole number of at least 1"),
    ("SCALPSCOPE_DB_BUSY_TIMEOUT_MS", "-5", "a whole number of at least 1"),
    ("SCALPSCOPE_DEVICE", "tpu", "one of auto, cpu, cuda or mps, or cuda:N"),
    ("SCALPSCOPE_BACKEND", "tensorrt", "one of auto, torch or onnx"),
    ("SCALPSCOPE_PRECISION", "int4", "one of auto, fp32 or int8"),
    ("SCALPSCOPE_DEMO", "maybe", "1, true, yes or on"),
    ("SCALPSCOPE_SESSION_TIMEOUT_MIN", "half an hour", "a number greater than 0"),
])
def test_a_bad_value_names_the_variable_the_value_and_what_is_accepted(monkeypatch, name, value, accepted) -> None:
    setting = {s.name: s for s in config.all_settings()}[name]
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        setting.get()
    message = str(caught.value)
    assert f"{name}={value!r}" in message and accepted in message
    assert isinstance(caught.value, ValueError)  # what callers caught before
    assert [p.name for p in config.check_all()] == [name]


@pytest.mark.parametrize(("text", "value"), [("1", True), ("Yes", True), ("on", True), ("TRUE", True),
                                             ("0", False), ("no", False), ("Off", False)])
def test_flags(text: str, value: bool) -> None:
    assert parsers.FLAG(text) is value


@pytest.mark.parametrize(("text", "value"), [("CPU", "cpu"), ("cuda:1", "cuda:1"), ("auto", "auto")])
def test_choices_ignore_case_and_take_prefixed_numbers(text: str, value: str) -> None:
    assert parsers.choice("auto", "cpu", "cuda", "mps", prefixes=("cuda:",))(text) == value
    with pytest.raises(ValueError):
        parsers.choice("auto", "cpu", "cuda", prefixes=("cuda:",))("cuda:x")


def test_paths_expand_the_home_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parsers.PATH("~/weights.pt") == tmp_path / "weights.pt"


def test_a_setting_is_registered_once() -> None:
    first = register("SCALPSCOPE_TEST_ONLY_SETTING", 1, parsers.POSITIVE_INTEGER, "A test's.")
    try:
        assert register("SCALPSCOPE_TEST_ONLY_SETTING", 1, parsers.POSITIVE_INTEGER, "A test's.") is first
        with pytest.raises(ValueError, match="twice"):
            register("SCALPSCOPE_TEST_ONLY_SETTING", 2, parsers.POSITIVE_INTEGER, "A test's.")
        with pytest.raises(ValueError, match="SCALPSCOPE_"):
            register("OTHER_PREFIX", 1, parsers.POSITIVE_INTEGER, "Not ours.")
    finally:
        _REGISTRY.pop("SCALPSCOPE_TEST_ONLY_SETTING", None)


def test_the_database_folder_setting_feeds_the_default_url(monkeypatch, tmp_path) -> None:
    from db import settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SCALPSCOPE_DATA_DIR", str(tmp_path))
    assert settings.default_database_url() == f"sqlite:///{tmp_path.resolve() / 'scalpscope.db'}"
    monkeypatch.setenv("DATABASE_URL", "  ")
    assert settings.default_database_url().startswith("sqlite:///")


def test_the_app_shows_a_bad_setting_as_a_plain_message(monkeypatch, tmp_path) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SCALPSCOPE_DEVICE", "tpu")
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]  # no traceback
    errors = [str(e.value) for e in at.error]
    assert any("not set up correctly" in e for e in errors), errors
    assert any("SCALPSCOPE_DEVICE='tpu'" in e and "one of auto, cpu, cuda or mps" in e for e in errors), errors
    assert not (tmp_path / "app.db").exists()  # stopped before anything was opened


@pytest.mark.parametrize(("command", "name", "value"), [
    (["-m", "db", "migrate"], "SCALPSCOPE_DB_BUSY_TIMEOUT_MS", "soon"),
    (["-m", "scalp_model", "predict", "photo.jpg"], "SCALPSCOPE_DEVICE", "tpu"),
])
def test_the_command_lines_name_a_bad_setting_without_a_traceback(tmp_path, tiny_checkpoint, command, name,
                                                                   value) -> None:
    import os

    from tests.factories import image_bytes

    (tmp_path / "photo.jpg").write_bytes(image_bytes())
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SCALPSCOPE_WEIGHTS": str(tiny_checkpoint),
           "PYTHONPATH": str(REPO_ROOT), name: value}
    done = subprocess.run([sys.executable, *command], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode != 0
    assert f"{name}={value!r}" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


def test_no_module_reads_a_setting_around_the_registry() -> None:
    """Settings are read through ``config`` only (writing the environment for a child process is fine)."""
    read = re.compile(r"""(?:environ\.get|getenv)\(\s*["'](?:SCALPSCOPE_|DATABASE_URL)|"""
                      r"""environ\[\s*["'](?:SCALPSCOPE_\w+|DATABASE_URL)["']\s*\](?!\s*=[^=])""")
    assert read.search('os.environ["SCALPSCOPE_WEIGHTS"]') and not read.search('os.environ["DATABASE_URL"] = url')
    offenders = [str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob("**/*.py")
                 if ".venv" not in p.parts and p.relative_to(REPO_ROOT).parts[0] != "training"
                 and p.resolve() != Path(__file__).resolve() and read.search(p.read_text(errors="replace"))]
    assert offenders == []
