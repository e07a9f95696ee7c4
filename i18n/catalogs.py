"""The gettext catalogs, read from their ``.po`` files with Babel once per process and language."""
from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from i18n.languages import DEFAULT, LANGUAGES

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"


def po_path(language: str) -> Path:
    """Where ``language``'s catalog lives (``locales/<language>/LC_MESSAGES/messages.po``)."""
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    """A ``.po`` or ``.pot`` file as Babel's :class:`Catalog`."""
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


@functools.lru_cache(maxsize=len(LANGUAGES) + 1)
def translation(language: str) -> NullTranslations:
    """``language``'s translations (English and unknown languages: the message ids themselves).

    The ``.po`` file is compiled in memory (Babel's ``write_mo``), so nothing needs compiling after a clone;
    fuzzy entries are left out, as ``msgfmt`` would.
    """
    if language == DEFAULT or language not in LANGUAGES or not po_path(language).is_file():
        return NullTranslations()
    catalog = read_catalog(po_path(language), language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
