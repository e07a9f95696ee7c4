"""Reads in read transactions, audits once per view (issue 16, item 7).

While another writer holds SQLite's write lock (and the app's busy timeout is short), reruns of the queue,
the sign-in form and the reader-study pages must still render: they only read. What a page shows is audited
once per view of the page: reruns that show the same thing (a widget change) write nothing; opening the page
again, or a listing that changes, is a new view.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from db.audit import list_events
from tests.app.conftest import assert_clean, seed_consultation, queue_picker, sign_in, texts
from tests.reader.test_pages import open_page as open_reader_page
from tests.reader.test_pages import people, study_id  # noqa: F401 (fixtures)


@pytest.fixture
def short_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that finds the lock taken gives up after 0.3 s (the app opens its database after this)."""
    monkeypatch.setenv("SCALPSCOPE_DB_BUSY_TIMEOUT_MS", "300")


@contextmanager
def write_lock(app_env: Path) -> Iterator[None]:
    conn = sqlite3.connect(app_env / "app.db", timeout=5, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def count(database, action: str) -> int:
    with database.session() as s:
        return len(list_events(s, action=action))


def assert_rendered(at) -> None:
    assert_clean(at)
    assert not at.error, texts(at.error)


def test_queue_reads_without_the_write_lock_and_audits_each_view_once(short_busy, app_env, at, database, clinician):
    ids = [seed_consultation(database, p=p)[0] for p in (0.9, 0.8, 0.7)]
    sign_in(at)  # lands on the queue: one view
    assert_rendered(at)
    assert count(database, "queue.view") == 1
    with write_lock(app_env):
        for public_id in (ids[1], ids[2], ids[0]):  # picking a row reruns the page; the listing is the same
            queue_picker(at).select(public_id).run()
            assert_rendered(at)
        at.run()
        assert_rendered(at)
    assert count(database, "queue.view") == 1
    at.toggle(key="q_uncertain").set_value(True).run()  # another listing (empty): a new view
    assert count(database, "queue.view") == 2
    at.toggle(key="q_uncertain").set_value(False).run()  # the first listing again, in the same visit
    assert count(database, "queue.view") == 2
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/queue.py").run()  # opened again: a new view
    assert_rendered(at)
    assert count(database, "queue.view") == 3


def test_sign_in_form_reads_without_the_write_lock(short_busy, app_env, at, database, clinician):
    at.switch_page("pages/queue.py").run()
    with write_lock(app_env):
        at.switch_page("pages/queue.py").run()
        assert_rendered(at)
        assert at.text_input(key="sign_in_username") is not None


def test_reader_case_is_audited_once_per_view_and_reruns_read_only(short_busy, app_env, at, database, study_id):
    views = lambda: count(database, "study.case_view") + count(database, "consultation.view")  # noqa: E731
    open_reader_page(at, "pages/reader_study.py", "ann")
    assert_rendered(at)
    assert views() == 1
    case = at.subheader[0].value
    with write_lock(app_env):
        for _ in range(3):
            at.run()
            assert_rendered(at)
            assert at.subheader[0].value == case
    assert views() == 1
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/reader_study.py").run()
    assert views() == 2


def test_study_results_are_audited_once_per_view(short_busy, app_env, at, database, study_id):
    open_reader_page(at, "pages/reader_results.py", "root")
    assert_rendered(at)
    assert count(database, "study.results_view") == 1
    with write_lock(app_env):
        at.run()
        at.run()
        assert_rendered(at)
    assert count(database, "study.results_view") == 1
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/reader_results.py").run()
    assert count(database, "study.results_view") == 2
