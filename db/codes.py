"""Patient access codes: generated with 140 bits of randomness, shown once, stored only as a hash.

A code is 28 symbols of Crockford base32 (no I, L, O, U) in groups of four, e.g.
``7KQ2-M9XD-4TRB-0ZHV-N3WC-8PGF-6YJS``. Because it is as strong as a random key, a fast keyed hash
(HMAC-SHA256 with a server-side pepper) is enough, and look-up by hash is a single index hit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import settings
from db.models import AppSetting

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: 5 bits per symbol
CODE_SYMBOLS = 28  # 28 * 5 = 140 bits >= 128
GROUP = 4
CODE_BITS = CODE_SYMBOLS * 5
_PEPPER_KEY = "access_code_pepper"
# What patients mistype: lower case, O for zero, I/L for one, spaces instead of dashes.
_TYPO_MAP = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def new_access_code() -> str:
    """A fresh code, grouped for reading aloud and typing."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return "-".join(symbols[i : i + GROUP] for i in range(0, CODE_SYMBOLS, GROUP))


def issue_code(session: Session) -> tuple[str, str]:
    """A new code for the patient and the hash to store in its place."""
    code = new_access_code()
    return code, hash_code(session, code.replace("-", ""))


def normalise_code(code: str) -> str | None:
    """The canonical 28 symbols, or None when ``code`` cannot be an access code at all."""
    canonical = code.strip().upper().translate(_TYPO_MAP)
    if len(canonical) != CODE_SYMBOLS or any(c not in ALPHABET for c in canonical):
        return None
    return canonical


def code_pepper(session: Session) -> bytes:
    """``SCALPSCOPE_CODE_PEPPER``, else this database's own random secret (created on first use)."""
    from_env = settings.CODE_PEPPER.get()
    if from_env:
        return from_env.encode()
    stored = session.get(AppSetting, _PEPPER_KEY)
    if stored is None:
        try:
            with session.begin_nested():  # another process may create it at the same moment
                stored = AppSetting(key=_PEPPER_KEY, value=secrets.token_hex(32))
                session.add(stored)
        except IntegrityError:
            stored = session.get(AppSetting, _PEPPER_KEY, populate_existing=True)
            assert stored is not None
    return stored.value.encode()


def hash_code(session: Session, canonical_code: str) -> str:
    """Hex HMAC-SHA256 of a normalised code under this deployment's pepper."""
    return hash_with_pepper(code_pepper(session), canonical_code)


def hash_with_pepper(pepper: bytes, canonical_code: str) -> str:
    """Hex HMAC-SHA256 (64 characters) of a normalised code under ``pepper`` (from :func:`code_pepper`);
    bulk writers read the pepper once and hash many codes with it."""
    return hmac.new(pepper, canonical_code.encode(), hashlib.sha256).hexdigest()
