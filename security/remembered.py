"""What one browser keeps across a page reload: a clinician's sign-in and a patient's just-sent result.

Streamlit keeps ``st.session_state`` per websocket; a reload opens a new websocket and a new, empty session,
which signed clinicians out and lost the patient's access code for good (issue 18, items 4 and 5). These
process-wide stores keep both on the server for the browser holding the HttpOnly ``scalpscope_client``
cookie (``security.headers``), keyed by :func:`security.client.binding_of` of it (a hash, never the secret):

- nothing goes into a URL or into a cookie the page can read, and another browser (another cookie) finds
  nothing;
- the cookie has no Max-Age, so it ends with the browser; every entry also expires on the server
  (:data:`RESULT_TTL_S` after a submission; a sign-in after the idle timeout, checked by ``pages._auth``,
  and at most :data:`SIGN_IN_MAX_S` after it began), and sign-out deletes it here (revocation);
- a sign-in is also bound to the browser's user agent and address (:func:`security.client.fingerprint`):
  the cookie copied into another client opens nothing and revokes the sign-in.

Behind the nginx template one browser always reaches the same process (the ``scalpscope_node`` cookie), so
a process-wide store suffices; a restart forgets everything (clinicians sign in again). No Streamlit here.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from db.users import Clinician

T = TypeVar("T")

RESULT_TTL_S = 30 * 60  # a patient's result page survives reloads for this long after the submission
SIGN_IN_MAX_S = 12 * 3600  # a sign-in ends this long after it began, however active (idle timeout: pages._auth)
MAX_RESULTS = 100  # a result holds 1-3 photos at 512 px and the PDF: about 2-3 MB each at most
MAX_SIGN_INS = 2000


class BrowserStore(Generic[T]):
    """Values kept per browser binding for ``ttl_s`` seconds, at most ``max_entries`` (oldest dropped first).
    Thread-safe; the values themselves are shared by every session of that browser (its tabs)."""

    def __init__(self, *, ttl_s: float, max_entries: int) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._values: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, binding: str, value: T) -> None:
        with self._lock:
            self._values[binding] = (time.monotonic(), value)
            self._values.move_to_end(binding)
            while len(self._values) > self._max_entries:
                self._values.popitem(last=False)

    def get(self, binding: str | None) -> T | None:
        """The value kept for this browser, or None (none, or expired: then it is dropped)."""
        if not binding:
            return None
        with self._lock:
            found = self._values.get(binding)
            if found is None:
                return None
            if time.monotonic() - found[0] > self._ttl_s:
                del self._values[binding]
                return None
            return found[1]

    def pop(self, binding: str | None) -> T | None:
        if not binding:
            return None
        with self._lock:
            found = self._values.pop(binding, None)
        return None if found is None else found[1]

    def clear(self) -> None:
        """Forget everything (tests and operators)."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


@dataclass
class SignIn:
    """A clinician's sign-in as the server remembers it for one browser."""

    clinician: Clinician  # the frozen db.users.Clinician
    via: str  # "password" or "oidc"
    fingerprint: str  # security.client.fingerprint of the browser that signed in
    last_seen: float  # time.monotonic() of the last activity in any tab of that browser


RESULTS: BrowserStore[dict[str, Any]] = BrowserStore(ttl_s=RESULT_TTL_S, max_entries=MAX_RESULTS)
SIGN_INS: BrowserStore[SignIn] = BrowserStore(ttl_s=SIGN_IN_MAX_S, max_entries=MAX_SIGN_INS)


def forget_all() -> None:
    """Both stores emptied (tests; an operator's process)."""
    RESULTS.clear()
    SIGN_INS.clear()
