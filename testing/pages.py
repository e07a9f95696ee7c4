"""What the app's pages show, as tests and scripts read it (the same text in both)."""
from __future__ import annotations

import re
import zlib
from typing import Any

# The New consultation page's hint once the consent box is ticked (pages/new_consultation.py).
CONSENT_ACKNOWLEDGED = re.compile(r"^To submit: add 1 to \d+ photos\.$")
ACCESS_CODE = re.compile(r"[0-9A-Z]{4}(?:-[0-9A-Z]{4})+")


def shown_access_code(at: Any) -> str | None:
    """The access code the New consultation page shows in an ``AppTest`` (see
    ``pages._views.show_access_code``: a code block with a copy button), if any."""
    for block in at.code:
        if ACCESS_CODE.fullmatch(str(block.value)):
            return str(block.value)
    return None


def pdf_lines(pdf: bytes) -> list[str]:
    """The text an fpdf2 document (core fonts) shows, one string per text operation, in page order.

    Enough for the app's own PDFs: their content streams are zlib-compressed and write Latin-1 strings with
    ``Tj``. Not a general PDF reader."""
    lines = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            content = stream
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content):
            text = re.sub(rb"\\([()\\])", rb"\1", literal).decode("latin-1")
            if text.strip():
                lines.append(text)
    return lines
