"""The served app's Streamlit settings as Streamlit itself reads them from .streamlit/config.toml."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def streamlit_option(name: str) -> str:
    code = ("from streamlit import config; config.get_config_options(force_reparse=True); "
            f"print(config.get_option({name!r}))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()


def test_a_served_app_does_not_watch_files() -> None:
    """Issue 18, item 11: ./scalpscope app logged thousands of "Inotify queue overflowed" lines (the
    watcher walked .venv inside the project folder)."""
    assert streamlit_option("server.fileWatcherType") == "none"
    assert streamlit_option("server.runOnSave") == "False"
