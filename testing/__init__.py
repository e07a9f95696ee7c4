"""Helpers shared by ``tests/`` and ``scripts/``: the one place both may import.

``tests/`` and ``scripts/`` never import each other (``tests/test_layout.py`` checks it); what both need
lives here: :mod:`testing.live` (a ``streamlit run serve.py`` server on loopback and the one Chromium
launcher), :mod:`testing.factories` (generated photos and checkpoints) and :mod:`testing.apptest`
(reading AppTest pages), :mod:`testing.load` with :mod:`testing.concurrent_apptest` (many AppTest
sessions at once, for ``scripts/load_test.py`` and ``tests/hardening``) and :mod:`testing.switches` (the test
suite's settings). This package imports neither ``tests`` nor ``scripts`` nor pytest.
"""
