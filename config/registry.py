"""The one registry of ScalpScope's settings: each is registered once, by the package that reads it."""
from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import ConfigurationError
from .parsers import Parser

T = TypeVar("T")

# The modules that register settings; importing them all fills the registry (see :func:`all_settings`).
OWNERS = ("config.app", "db.settings", "scalp_model.settings", "testing.switches")
_REGISTRY: dict[str, Setting] = {}


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its name, typed default (None: none), parser and help text.

    An unset or empty (blank) variable means the default. ``read_by`` names who reads it when that is not
    Python (``./scalpscope``); ``test_switch`` marks switches of the test suite rather than of the app.
    """

    name: str
    default: T | None
    parser: Parser[T]
    help: str
    read_by: str = "python"
    test_switch: bool = False

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable's stripped text, or None when it is unset or empty."""
        text = (os.environ if environ is None else environ).get(self.name, "").strip()
        return text or None

    def parse(self, text: str) -> T:
        """``text`` through this setting's parser; :class:`ConfigurationError` when it is refused."""
        try:
            return self.parser(text)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(self.name, text, self.parser.accepted) from exc

    def get(self, environ: Mapping[str, str] | None = None) -> T | None:
        """The parsed value from the environment, or the default when unset or empty."""
        text = self.raw(environ)
        return self.default if text is None else self.parse(text)


def register(name: str, default: T | None, parser: Parser[T], help: str, *, read_by: str = "python",
             test_switch: bool = False) -> Setting[T]:
    """Declare a setting (once; registering the same name with another definition is a bug)."""
    if not name.startswith("SCALPSCOPE_") and name != "DATABASE_URL":
        raise ValueError(f"setting names start with SCALPSCOPE_: {name}")
    setting = Setting(name, default, parser, help, read_by, test_switch)
    known = _REGISTRY.setdefault(name, setting)
    if (known.default, known.parser.accepted, known.help, known.read_by) != (default, parser.accepted, help, read_by):
        raise ValueError(f"{name} is registered twice with different definitions")
    return known


def all_settings() -> tuple[Setting, ...]:
    """Every registered setting, by name (imports the owning modules first)."""
    for owner in OWNERS:
        importlib.import_module(owner)
    return tuple(sorted(_REGISTRY.values(), key=lambda s: s.name))


def check_all(environ: Mapping[str, str] | None = None) -> list[ConfigurationError]:
    """Parse every app setting (test switches aside); the errors found, empty when all are valid."""
    problems = []
    for setting in all_settings():
        if setting.read_by == "python" and not setting.test_switch:
            try:
                setting.get(environ)
            except ConfigurationError as exc:
                problems.append(exc)
    return problems
