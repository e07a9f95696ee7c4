"""Session ids stay out of the server's log.

A Streamlit session id is enough to reconnect to that browser session, and Streamlit's own warnings name
it (e.g. "Session with id … is already connected"). :func:`install_session_id_filter` rewrites every log
record of Streamlit and uvicorn so that UUIDs (session and upload-file ids) read ``<id>``.
"""
from __future__ import annotations

import logging
import re

UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
REDACTED = "<id>"
_PREFIXES = ("streamlit", "uvicorn", "starlette")
_installed = False


def redact(text: str) -> str:
    """``text`` with every UUID replaced by ``<id>``."""
    return UUID.sub(REDACTED, text)


def install_session_id_filter() -> None:
    """Redact UUIDs in every record of the Streamlit, uvicorn and Starlette loggers (idempotent).

    Done in the record factory rather than in a handler filter: Streamlit replaces its console handler when
    it reads its configuration, which would drop a filter attached there.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(_PREFIXES):
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - leave a record whose arguments do not fit its format alone
                return record
            if UUID.search(message):
                record.msg, record.args = redact(message), None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
