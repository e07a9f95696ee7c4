"""Find English catalog text left in what a page rendered in another language (issue 21's "no English word").

Each catalog entry whose translation differs from its English id is cut into its literal pieces (between
``{placeholders}``, Markdown emphasis and line breaks); a piece of two words or more, or one long word, that
appears in the rendered text is text that should have been translated. Shared by the AppTest and the
real-browser tests (``testing`` is what ``tests/`` and ``scripts/`` share).
"""
from __future__ import annotations

import functools
import re

from babel.messages.pofile import read_po

from i18n.catalogs import po_path

_CUT = re.compile(r"\{[^{}]*\}|\*\*|\*|\n|  +|^- |\n- ")


@functools.lru_cache(maxsize=4)
def english_pieces(language: str) -> tuple[str, ...]:
    """Literal English pieces of ``language``'s catalog entries that are translated differently, longest first."""
    with po_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    pieces: set[str] = set()
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english, translated in zip(ids, strings):
            if not translated or translated == english:
                continue
            for piece in _CUT.split(english):
                piece = piece.strip(" .,:;()-—–")
                words = re.findall(r"[A-Za-z]+", piece)
                if len(words) >= 2 or (len(words) == 1 and len(words[0]) >= 6 and words[0] == piece):
                    pieces.add(piece)
    return tuple(sorted(pieces, key=len, reverse=True))


def untranslated(text: str, language: str) -> list[str]:
    """The English catalog pieces found in ``text`` (rendered in ``language``); [] when there is none.

    Whole words only ("Sex" does not match inside "Sexual", "readers" not inside a widget key "ra_readers");
    case-sensitive, as the catalog writes them."""
    found = []
    for piece in english_pieces(language):
        if re.search(rf"(?<![A-Za-z_]){re.escape(piece)}(?![A-Za-z_])", text):
            found.append(piece)
    return found
