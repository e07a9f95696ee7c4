"""What the app's pages show, as tests and scripts read it (the same text in both)."""
from __future__ import annotations

import re
from typing import Any

# The New consultation page's hint once the consent box is ticked (pages/new_consultation.py).
CONSENT_ACKNOWLEDGED = re.compile(r"^To submit: add 1 to \d+ photos\.$")
ACCESS_CODE_MARKDOWN = re.compile(r"### `([0-9A-Z-]+)`")


def shown_access_code(at: Any) -> str | None:
    """The access code the New consultation page shows in an ``AppTest`` (see
    ``pages._views.show_access_code``), if any."""
    for markdown in at.markdown:
        found = ACCESS_CODE_MARKDOWN.fullmatch(str(markdown.value))
        if found:
            return found.group(1)
    return None
