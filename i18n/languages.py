"""The languages ScalpScope speaks and how a browser's preference picks one (Babel's negotiation)."""
from __future__ import annotations

from collections.abc import Iterable

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale

DEFAULT = "en"
# Babel locale identifiers -> the language's name in itself (how the sidebar offers it).
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
# A browser that asks for Chinese without a region, or for Singapore's simplified script, reads zh_CN.
_ALIASES = {"zh": "zh_CN", "zh_Hans": "zh_CN", "zh_SG": "zh_CN", "zh_Hans_CN": "zh_CN"}


def normalise(tag: str | None) -> str | None:
    """A browser's language tag (``zh-CN``, ``en_GB``, ``zh-Hans``) as a supported identifier, or None."""
    if not tag:
        return None
    try:
        locale = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    for candidate in (str(locale), f"{locale.language}_{locale.territory}" if locale.territory else None,
                      f"{locale.language}_{locale.script}" if locale.script else None, locale.language):
        if candidate in LANGUAGES:
            return candidate
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    return None


def accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (``q=0`` dropped)."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*" and q > 0:
            weighted.append((-q, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(preferred: Iterable[str | None]) -> str:
    """The first supported language among the browser's ``preferred`` tags, else :data:`DEFAULT`."""
    tags = [t for t in preferred if t]
    for tag in tags:
        found = normalise(tag)
        if found is not None:
            return found
    return negotiate_locale([t.replace("-", "_") for t in tags], list(LANGUAGES)) or DEFAULT
