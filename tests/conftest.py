"""Fixtures shared by every test folder."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.factories import make_checkpoint  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _private_onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep ONNX exports made by tests out of the user's cache."""
    import os

    os.environ.setdefault("SCALPSCOPE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _forget_remembered_browsers() -> Iterator[None]:
    """What the server keeps per browser across reloads (security.remembered) is process-wide: no test
    leaves a sign-in or a result behind for the next one (several use the same made-up cookie)."""
    from security import remembered

    yield
    remembered.forget_all()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small checkpoint with non-degenerate maps, made once per test session."""
    return make_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.pt")


@pytest.fixture(scope="session")
def predictor(tiny_checkpoint: Path):
    from scalp_model.serving.predictor import Predictor

    return Predictor.from_path(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "scalp").is_dir():
        pytest.skip(f"real images not available at {SHARED_DATA}")
    return SHARED_DATA
