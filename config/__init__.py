"""ScalpScope's configuration: one registry of settings, one parser per kind, one error.

Every package registers the environment variables it reads, with name, default, parser and help:
``db/settings.py`` the database's, ``scalp_model/settings.py`` the model core's, :mod:`config.app` the app's
and the ``./scalpscope`` launcher's, ``testing/switches.py`` the test suite's switches. Values come from the
environment (the app first copies top-level ``.streamlit/secrets.toml`` values into it). An empty value
means unset, i.e. the default. A value a parser refuses raises :class:`ConfigurationError`, which names the
variable, the value and what is accepted. No heavy import here (no torch, SQLAlchemy or Streamlit).

    from config import parsers, register
    TIMEOUT = register("SCALPSCOPE_X_TIMEOUT_S", 5.0, parsers.POSITIVE_NUMBER, "How long to wait, in seconds.")
    TIMEOUT.get()  # 5.0 unless SCALPSCOPE_X_TIMEOUT_S holds another positive number

``README.md`` (and ``db/README.md`` for the database) documents every registered setting; a test checks it.
"""
from __future__ import annotations

from . import parsers
from .errors import ConfigurationError
from .registry import OWNERS, Setting, all_settings, check_all, register

__all__ = ["OWNERS", "ConfigurationError", "Setting", "all_settings", "check_all", "parsers", "register"]
