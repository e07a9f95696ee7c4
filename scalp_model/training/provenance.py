"""Where a model's training photos came from, for its card: taken from the data, never assumed.

``--provenance FILE`` wins. Otherwise the data folder's ``README.md`` (or, for a class folder inside a
larger collection such as ``data/scalp``, the collection's ``README.md`` one level up): its section headed
``Provenance`` when it has one, else its first paragraph. Without either the record says so plainly, so a
clinic that retrains on its own photos never gets a card describing someone else's data.
"""
from __future__ import annotations

import re
from pathlib import Path

NOT_RECORDED = ("Not recorded: the training folder has no README.md and no --provenance file was given. "
                "Ask whoever trained this model where its photos came from and under what terms.")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def provenance_from_readme(text: str) -> str | None:
    """The ``Provenance`` section of a Markdown README (any heading level, up to the next heading of the same
    or a higher level), else its first paragraph that is not a heading; None when the text holds neither."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and m.group(2).strip().lower().startswith("provenance"):
            level, body = len(m.group(1)), []
            for rest in lines[i + 1:]:
                h = _HEADING.match(rest)
                if h and len(h.group(1)) <= level:
                    break
                body.append(rest)
            section = "\n".join(body).strip()
            if section:
                return section
    paragraph: list[str] = []
    for line in lines:
        if _HEADING.match(line) or not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line)
    return "\n".join(paragraph).strip() or None


def data_provenance(data_dir: Path | str, explicit: Path | str | None = None) -> str:
    """The provenance text to record for a model trained on ``data_dir``.

    ``explicit``: a Markdown file given with ``--provenance`` (its whole text). Raises ``FileNotFoundError``
    when that file does not exist. Returns :data:`NOT_RECORDED` when nothing describes the data.
    """
    if explicit:
        return Path(explicit).read_text(encoding="utf-8").strip()
    folder = Path(data_dir)
    for readme in (folder / "README.md", folder.parent / "README.md"):
        if readme.is_file():
            found = provenance_from_readme(readme.read_text(encoding="utf-8"))
            if found:
                return f"{found}\n\n(From `{readme.name}` of the training data folder `{readme.parent.name}/`.)"
    return NOT_RECORDED
