"""Helpers shared by ``tests/`` and ``scripts/``: the one place both may import.

``tests/`` and ``scripts/`` never import each other (``tests/test_layout.py`` checks it); what both need
lives here: :mod:`testing.live` (a ``streamlit run serve.py`` server on loopback and the one Chromium
launcher), :mod:`testing.factories` (generated photos and checkpoints) and :mod:`testing.apptest`
(reading AppTest pages). This package imports neither ``tests`` nor ``scripts`` nor pytest.
"""
