"""Two OS processes on the same database see one queue, and one's review shows in the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from db.consultations import list_queue, lookup_by_code, submit_consultation
from db.engine import Database
from tests.db.builders import HISTORY, new_image, new_prediction

REPO_ROOT = Path(__file__).resolve().parents[2]

LIST_QUEUE = """
import json
from db.engine import Database
from db.consultations import list_queue
with Database.from_env().begin() as s:
    print(json.dumps([c.public_id for c in list_queue(s).items]))
"""
REVIEW_FIRST = """
from db.engine import Database
from db.consultations import claim, list_queue, record_review
from db.users import authenticate
with Database.from_env().begin() as s:
    alice = authenticate(s, "alice", "correct horse battery staple")
    first = list_queue(s, limit=1).items[0]
    claim(s, first.id, alice)
    record_review(s, first.id, alice, "psoriasis", "from another process")
"""


def run_python(database: Database, code: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_share_queue_and_reviews(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    codes = []
    with database.begin() as s:
        for p in (0.3, 0.9, 0.6):
            _, code = submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(p)])
            codes.append(code)
    first = json.loads(run_python(database, LIST_QUEUE))
    second = json.loads(run_python(database, LIST_QUEUE))
    assert first == second and len(first) == 3
    run_python(database, REVIEW_FIRST)
    assert json.loads(run_python(database, LIST_QUEUE)) == first[1:]  # reviewed leaves the open queue
    with database.begin() as s:
        assert [c.public_id for c in list_queue(s).items] == first[1:]
        view = lookup_by_code(s, codes[0])  # submitted first, so due first (db.triage): first in the queue
    assert view is not None and (view.status, view.notes) == ("reviewed", "from another process")


def test_processes_starting_together_migrate_once(empty_database: Database) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": empty_database.engine.url.render_as_string(hide_password=False),
        "PYTHONPATH": str(REPO_ROOT),
    }
    code = "from db.engine import Database; Database.from_env().migrate()"
    starts = [
        subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=60)[1] for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0], errors
    empty_database.require_current_schema()


def test_one_database_shared_by_threads(database: Database) -> None:
    """Streamlit's cache_resource hands one Database to every session thread."""
    from concurrent.futures import ThreadPoolExecutor

    def submit_one(i: int) -> str:
        with database.begin() as s:
            return submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction(i / 10)])[1]

    with ThreadPoolExecutor(max_workers=4) as pool:
        issued = list(pool.map(submit_one, range(8)))
    with database.begin() as s:
        assert len(list_queue(s).items) == 8
        assert all(lookup_by_code(s, code) is not None for code in issued)
