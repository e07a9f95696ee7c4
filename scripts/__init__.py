"""Operator and CI scripts (load and crash tests); each runs with ``python scripts/NAME.py --help``."""
