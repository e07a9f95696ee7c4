"""Untrusted text as plain text in Streamlit elements that render Markdown.

``st.markdown``, ``st.caption``, ``st.error``/``warning``/``info``/``success``, ``st.table`` cells, ``st.toast``
and widget labels all render GitHub-flavoured Markdown plus Streamlit's own directives (``:red[..]``,
``:material/icon:``, emoji shortcodes, ``$math$``). A patient's answer such as
``![x](http://host/p.png) [Re-verify](http://host/phish)`` would make a clinician's browser fetch the image
and show a working link. :func:`plain` backslash-escapes every character that can start such a construct
(CommonMark renders a backslash before any ASCII punctuation as that character alone), so the reader sees
exactly the characters that were typed.

GFM's bare-URL, ``www.`` and e-mail autolinks, and Streamlit's ``:material/icon:`` and emoji shortcodes, are
not Markdown syntax but searches over the text once it is parsed (escapes already gone), so they are broken
with an invisible WORD JOINER (U+2060) after every ``:``, after ``www`` and after ``@``: the text reads the
same, but no longer matches.
"""
from __future__ import annotations

import re

# Inline constructs: emphasis, code, links and images, raw HTML and autolinks, headings, tables,
# strikethrough, math, Streamlit directives and shortcodes (``:``), entities (``&``), e-mail autolinks (``@``).
_ALWAYS = frozenset("\\`*[]<>#|~$:@&")
# A ``_`` between two letters or digits never starts emphasis (CommonMark's intraword rule), so names such
# as SCALPSCOPE_WEIGHTS stay readable; any other ``_`` is escaped.
_LONE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# Constructs that only act at the start of a line: lists (``-``, ``+``, ``1.``, ``1)``), setext underlines
# and thematic breaks (``=``, ``-``). Lines are joined (see plain), so only the very start matters.
_LEADING = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")
_WWW = re.compile(r"(?i)\b(www)\.")
_WHITESPACE = re.compile(r"\s+")
JOINER = "\u2060"  # WORD JOINER: invisible, and not part of any autolink pattern


def plain(value: object) -> str:
    """``value`` as text that Streamlit's Markdown shows literally: no link, image, formatting or HTML.

    Line breaks and runs of whitespace become one space (block constructs such as headings, lists and
    indented code need a line of their own); ``None`` becomes an empty string.
    """
    if value is None:
        return ""
    text = _WHITESPACE.sub(" ", str(value)).strip()
    out = []
    for index, char in enumerate(text):
        if char in _ALWAYS:
            out.append("\\" + char)
        elif char == "_" and _LONE_UNDERSCORE.match(text, index):
            out.append("\\_")
        else:
            out.append(char)
    escaped = "".join(out)
    escaped = _WWW.sub(r"\1" + JOINER + r"\\.", escaped)
    escaped = escaped.replace("\\:", "\\:" + JOINER).replace("\\@", "\\@" + JOINER)
    # A leading list marker or number: escape the marker (or the '.'/')' after the number).
    match = _LEADING.match(escaped)
    if match:
        start = match.end(1)
        if match.group(2)[0].isdigit():
            end = match.end(2)
            escaped = escaped[:end] + "\\" + escaped[end:]
        else:
            escaped = escaped[:start] + "\\" + escaped[start:]
    return escaped
