"""Process-wide shared objects that no client message can drop.

Streamlit's ``st.cache_resource`` and ``st.cache_data`` are cleared for the whole process by a
``clear_cache`` message, which any browser session may send (it is the "Clear caches" menu entry; the
server does not check who asks). Anonymous clients could thus make the server reload the model and rebuild
the database engine over and over. :class:`SharedResource` keeps the same objects in this module instead;
only code (tests, an operator's process) can clear it.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import update_wrapper
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class SharedResource(Generic[P, T]):
    """``factory(*args)`` built once per distinct arguments and shared by every thread of the process.

    At most ``max_entries`` results are kept (least recently used dropped first); with ``ttl_s`` a result
    older than that is rebuilt on the next call. Two threads asking for the same missing value build it
    once: the second waits for the first.
    """

    def __init__(self, factory: Callable[P, T], *, max_entries: int, ttl_s: float | None = None) -> None:
        self._factory = factory
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._values: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        update_wrapper(self, factory)

    def _fresh(self, key: Hashable) -> tuple[bool, T | None]:
        with self._lock:
            found = self._values.get(key)
            if found is None or (self._ttl_s is not None and time.monotonic() - found[0] > self._ttl_s):
                return False, None
            self._values.move_to_end(key)
            return True, found[1]

    def has(self, *args: Hashable) -> bool:
        """Whether a call with these arguments would return a kept value without building."""
        return self._fresh(args)[0]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        if kwargs:
            raise TypeError("SharedResource takes positional arguments only")
        key: Hashable = args
        ok, value = self._fresh(key)
        if ok:
            return value  # type: ignore[return-value]
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            ok, value = self._fresh(key)  # built by another thread while this one waited
            if ok:
                return value  # type: ignore[return-value]
            value = self._factory(*args)
            with self._lock:
                self._values[key] = (time.monotonic(), value)
                self._values.move_to_end(key)
                while len(self._values) > self._max_entries:
                    self._values.popitem(last=False)
                self._building.pop(key, None)
            return value

    def clear(self) -> None:
        """Forget every kept value (for tests and operators; no browser message reaches this)."""
        with self._lock:
            self._values.clear()


def shared_resource(*, max_entries: int, ttl_s: float | None = None
                    ) -> Callable[[Callable[P, T]], SharedResource[P, T]]:
    """Decorator form of :class:`SharedResource`."""
    def wrap(factory: Callable[P, T]) -> SharedResource[P, T]:
        return SharedResource(factory, max_entries=max_entries, ttl_s=ttl_s)
    return wrap
