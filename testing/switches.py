"""Switches of the test suite (CI sets them), registered with :mod:`config` like every other setting."""
from __future__ import annotations

from config import parsers, register

REQUIRE_BROWSER = register("SCALPSCOPE_REQUIRE_BROWSER", False, parsers.FLAG,
                           "1: a browser test fails, instead of skipping, when Chromium (or nginx and PostgreSQL "
                           "for the proxy test) is missing.", test_switch=True)
REQUIRE_POSTGRES = register("SCALPSCOPE_REQUIRE_POSTGRES", False, parsers.FLAG,
                            "1: a PostgreSQL test fails, instead of skipping, when no PostgreSQL server can be "
                            "started.", test_switch=True)
