"""One parser per kind of setting. Each takes the non-empty, stripped text of a variable and returns its
value, or raises ``ValueError`` (turned into a :class:`~config.errors.ConfigurationError` naming the
variable by :meth:`config.registry.Setting.get`). Each carries ``accepted``: what it takes, in words.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Parser(Generic[T]):
    """A named conversion from text to a value, with ``accepted`` to put in error messages."""

    kind: str
    accepted: str
    convert: Callable[[str], T]

    def __call__(self, text: str) -> T:
        return self.convert(text)


def _text(text: str) -> str:
    return text


def _path(text: str) -> Path:
    return Path(text).expanduser()


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError(text)


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return value


def _whole(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


TEXT: Parser[str] = Parser("text", "any text", _text)
PATH: Parser[Path] = Parser("path", "a file or folder path (~ is expanded)", _path)
FLAG: Parser[bool] = Parser("flag", "1, true, yes or on to turn it on; 0, false, no or off to turn it off", _flag)
POSITIVE_NUMBER: Parser[float] = Parser("positive number", "a number greater than 0, e.g. 20 or 2.5", _number)
POSITIVE_INTEGER: Parser[int] = Parser("positive integer", "a whole number of at least 1, e.g. 5000", _whole)


def choice(*options: str, prefixes: tuple[str, ...] = ()) -> Parser[str]:
    """One of ``options`` (case-insensitive, returned in lower case); ``prefixes`` also admits e.g.
    ``cuda:1`` for the prefix ``cuda:`` followed by a whole number."""
    allowed = ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else options[0]
    extra = "".join(f", or {p}N (N a whole number)" for p in prefixes)

    def convert(text: str) -> str:
        lowered = text.lower()
        if lowered in options:
            return lowered
        for prefix in prefixes:
            if lowered.startswith(prefix) and lowered[len(prefix):].isdigit():
                return lowered
        raise ValueError(text)

    return Parser("choice", f"one of {allowed}{extra}", convert)
