"""Helpers shared by ``tests/`` and ``scripts/``: the one place both may import.

``tests/`` and ``scripts/`` never import each other (``tests/test_shared_helpers.py`` checks it); what both
need lives here:

* :mod:`testing.live` — a ``streamlit run serve.py`` server on loopback (``live_app``, ``live_server``) and
  the one Chromium launcher (``launch_chromium``, ``chromium``, ``chromium_page``);
* :mod:`testing.factories` — generated photos and checkpoints (``tests.factories`` re-exports them);
* :mod:`testing.pages` — what the pages show, read the same way by tests and scripts;
* :mod:`testing.load` with :mod:`testing.concurrent_apptest` — many AppTest sessions at once
  (``scripts/load_test.py``, ``tests/hardening/test_concurrent_sessions.py``);
* :mod:`testing.switches` — the test suite's settings (``SCALPSCOPE_REQUIRE_*``), registered with ``config``.

This package imports neither ``tests`` nor ``scripts`` nor pytest.
"""
