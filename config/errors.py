"""The one error a bad setting raises."""
from __future__ import annotations


class ConfigurationError(ValueError):
    """A setting holds a value its parser does not accept.

    The message names the variable, the value found and what is accepted, so that an operator can fix it
    without reading code; the app shows it as a plain message (``pages._resources.check_configuration``).
    It derives from ``ValueError`` (what bad settings raised before) and from neither ``ScalpScopeError`` nor
    ``DatabaseError``: configuration sits below both ``scalp_model`` and ``db``, which both register here.
    """

    def __init__(self, name: str, value: str, accepted: str, reason: str = "") -> None:
        self.name, self.value, self.accepted = name, value, accepted
        because = f" ({reason})" if reason else ""
        super().__init__(f"The setting {name}={value!r} is not valid{because}: {accepted}. "
                         f"Fix it in the environment or .streamlit/secrets.toml, or leave it empty for the default.")
