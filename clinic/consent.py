"""The consent a patient accepts, per language: its text and the version stored with the consultation.

The English text is ``db.consultations.CONSENT_TEXT`` (version ``CONSENT_VERSION``); each language's text is
its catalog's translation of it. The stored version names the language (``2026-11-en``, ``2026-11-zh_CN``),
so what the patient read can be told from the consultation. :data:`TEXT_SHA256` pins each version's text:
a changed text (English or a translation) must come with a new ``CONSENT_VERSION`` (tests/i18n checks it).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from db.consultations import CONSENT_TEXT, CONSENT_VERSION
from i18n import DEFAULT, LANGUAGES, translation

TEXT_SHA256 = {
    "2026-11-en": "bccd3ca238eff03d5ffe477722a7456adfdb49c606e62b2a4caf0fe425d2ec25",
    "2026-11-zh_CN": "339293c73db384115f7504015ea6c60e85fcb81df7f8fcd2d8a8ebd05cb32011",
}


@dataclass(frozen=True)
class Consent:
    """What the patient reads and ticks, and the version stored with the consultation."""

    language: str
    version: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def consent_for(language: str) -> Consent:
    """The consent in ``language``; the English one for a language without its own translation."""
    text = translation(language).gettext(CONSENT_TEXT) if language in LANGUAGES else CONSENT_TEXT
    if text == CONSENT_TEXT:
        language = DEFAULT
    return Consent(language, f"{CONSENT_VERSION}-{language}", text)
