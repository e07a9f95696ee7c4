"""Many ``AppTest`` sessions at once in one process, arranged as a Streamlit server arranges its sessions:
one runtime, one script cache, ``app.py`` run on every page. Used by :mod:`testing.load`."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def server_like_navigation() -> Iterator[None]:
    """Run app.py on every AppTest run, as a server does (see ``tests/app/conftest.py``)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self: PagesManager, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        PagesManager.__init__ = original  # type: ignore[method-assign]


@contextmanager
def shared_like_a_server() -> Iterator[None]:
    """One Streamlit runtime for every session, as in a server.

    Each ``AppTest.run`` installs its own mock runtime and removes it (``Runtime._instance = None``) when
    it finishes, which under concurrency pulls the runtime from under the other sessions' runs. While
    this is active, every run sees the first runtime ever installed. Likewise a server compiles each
    page once into one ``ScriptCache``, while AppTest compiles on every run; concurrent compiles hit a
    CPython 3.11 bug ("AST constructor recursion depth mismatch"), so the sessions share one cache too.
    And each run patches ``config.get_option`` for its duration (``global.appTest``); overlapping
    patches restore each other's mocks out of order, so the option is set once around the whole load.
    """
    from contextlib import nullcontext

    from streamlit.runtime.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    script_cache = ScriptCache()
    modules = (app_test, local_script_runner)
    for module in modules:
        module.ScriptCache = lambda: script_cache  # type: ignore[assignment,misc,attr-defined]
    patch_config = app_test.patch_config_options
    app_test.patch_config_options = lambda overrides: nullcontext()  # type: ignore[assignment]

    sticky: dict[str, Runtime] = {}
    original_instance, original_exists = Runtime.__dict__["instance"], Runtime.__dict__["exists"]

    def instance(cls: type[Runtime]) -> Runtime:
        current = cls._instance
        if current is not None:
            return sticky.setdefault("runtime", current)
        if "runtime" in sticky:
            return sticky["runtime"]
        raise RuntimeError("Runtime hasn't been created!")

    def exists(cls: type[Runtime]) -> bool:
        return cls._instance is not None or "runtime" in sticky

    Runtime.instance, Runtime.exists = classmethod(instance), classmethod(exists)  # type: ignore[method-assign]
    try:
        with patch_config({"global.appTest": True}):
            yield
    finally:
        app_test.patch_config_options = patch_config  # type: ignore[assignment]
        Runtime.instance, Runtime.exists = original_instance, original_exists  # type: ignore[method-assign]
        for module in modules:
            module.ScriptCache = ScriptCache  # type: ignore[misc,attr-defined]
