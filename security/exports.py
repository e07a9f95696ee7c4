"""CSV exports that a spreadsheet opens as data, not as formulas (OWASP "CSV injection").

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by Excel,
LibreOffice and Google Sheets: a study named ``=HYPERLINK("http://…","Study")`` would become a live link in
every row of the readings CSV. Such text cells get a leading apostrophe, which spreadsheets show as text and
do not evaluate. Numbers (int, float) are left alone: they are written by the exporter, not typed by a user.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would evaluate; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """:func:`safe_cell` of every value of a CSV row."""
    return [safe_cell(value) for value in values]
