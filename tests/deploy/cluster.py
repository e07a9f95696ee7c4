"""A throwaway ScalpScope cluster for tests: PostgreSQL, N ``streamlit run serve.py`` processes, nginx in front.

The pieces are the deployed ones: ``db.testing_pg`` for the server, ``deploy/render_nginx.py`` (which
``deploy/run_cluster.sh`` also uses) for the nginx config rendered from ``deploy/nginx.conf.template``.
Everything listens on 127.0.0.1 only; every wait is bounded; :func:`running_cluster` stops nginx, the app
processes and PostgreSQL and removes its folders also when the test fails. App and nginx logs are copied
to ``test-artifacts/`` on the way out.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from db.testing_pg import pg_bin
from testing.live import ARTIFACTS, CHROMIUM, REPO_ROOT, LiveServer, ServerStartError, free_port, wait_all_healthy
from testing.switches import REQUIRE_BROWSER

RENDER_NGINX = REPO_ROOT / "deploy" / "render_nginx.py"
START_TIMEOUT_S = 90
UPSTREAM_HEADER = "x-scalpscope-upstream"


def nginx_binary() -> Path | None:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                           if os.access(p, os.X_OK)), None)
    return Path(found) if found else None


def require_cluster_tools() -> Path:
    """Skip (or, with ``SCALPSCOPE_REQUIRE_BROWSER=1``, fail) unless Chromium, nginx and PostgreSQL are here.

    Returns the nginx binary.
    """
    nginx = nginx_binary()
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if nginx is None:
        missing.append("nginx (apt-get install nginx-light)")
    if not (pg_bin() / "initdb").exists() or not (pg_bin() / "pg_ctl").exists():
        missing.append(f"PostgreSQL binaries in {pg_bin()} (apt-get install postgresql-15, or set SCALPSCOPE_PG_BIN)")
    if missing:
        reason = "the proxy end-to-end test needs " + "; ".join(missing)
        if REQUIRE_BROWSER.get():
            pytest.fail(f"SCALPSCOPE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"{reason}; set SCALPSCOPE_REQUIRE_BROWSER=1 to fail instead")
    assert nginx is not None
    return nginx


def memory_kib(pid: int) -> dict[str, int]:
    """In KiB: VmRSS and VmHWM (peak RSS) from /proc/PID/status; Pss (shared pages split between the
    processes that map them) and Private (pages no other process maps: what one more process costs) from
    /proc/PID/smaps_rollup."""
    values: dict[str, int] = {}
    for path, keys in ((f"/proc/{pid}/status", ("VmRSS", "VmHWM")),
                       (f"/proc/{pid}/smaps_rollup", ("Pss", "Private_Clean", "Private_Dirty"))):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, rest = line.partition(":")
            if key in keys and key not in values:
                values[key] = int(rest.split()[0])
    if "Private_Clean" in values and "Private_Dirty" in values:
        values["Private"] = values.pop("Private_Clean") + values.pop("Private_Dirty")
    return values


def _stop(process: subprocess.Popen, first: int = signal.SIGTERM, grace_s: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(first)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class AppProcess:
    """One ``streamlit run serve.py`` (the Popen's pid is the Python process serving the app)."""

    name: str
    port: int
    log_path: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self) -> str:
        """How nginx names this process in ``X-ScalpScope-Upstream``."""
        return f"127.0.0.1:{self.port}"

    def memory_kib(self) -> dict[str, int]:
        return memory_kib(self.process.pid)


@dataclass
class Cluster:
    url: str  # nginx, the public address
    apps: list[AppProcess]
    database_url: str
    nginx_prefix: Path
    nginx: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def app_for(self, upstream: str | None) -> AppProcess:
        for app in self.apps:
            if app.upstream == upstream:
                return app
        raise AssertionError(f"upstream {upstream!r} is none of {[a.upstream for a in self.apps]}")


def start_apps(count: int, env: Mapping[str, str], log_prefix: str) -> list[AppProcess]:
    """Start ``count`` app processes at once (each on a free port), then wait until all are healthy."""
    servers = [LiveServer(free_port(), dict(env), ARTIFACTS / f"{log_prefix}-app-{chr(ord('A') + index)}.log")
               for index in range(count)]
    try:
        for server in servers:
            server.log_path.parent.mkdir(parents=True, exist_ok=True)
            server.log_path.write_text("")
            server.launch()
        wait_all_healthy(servers, START_TIMEOUT_S)
    except ServerStartError as exc:
        pytest.fail(str(exc))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return [AppProcess(chr(ord("A") + index), server.port, server.log_path, server.process)
            for index, server in enumerate(servers)]


def _get(url: str, timeout: float = 3) -> tuple[int, str, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode(errors="replace"), {
            k.lower(): v for k, v in response.headers.items()}


@contextmanager
def nginx_in_front(nginx: Path, ports: list[int], log_prefix: str) -> Iterator[tuple[str, Path, subprocess.Popen]]:
    """Render the deploy config into a temporary prefix and run nginx (in the foreground, our child).

    Yields (public URL, prefix, process); stops nginx (graceful, then forced) and removes the prefix.
    """
    prefix = Path(tempfile.mkdtemp(prefix="scalpscope-nginx-", dir="/tmp"))
    process: subprocess.Popen | None = None
    try:
        prefix.chmod(0o755)  # as root, the workers run as nobody and must reach tmp/ (proxied bodies)
        listen = f"127.0.0.1:{free_port()}"
        command = [sys.executable, str(RENDER_NGINX), "--prefix", str(prefix), "--listen", listen, "--expose-upstream"]
        for port in ports:
            command += ["--port", str(port)]
        if os.geteuid() == 0:
            command += ["--user", "nobody:nogroup"]
        subprocess.run(command, check=True, capture_output=True, timeout=30)
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(prefix / "tmp"):
                for name in [root, *(os.path.join(root, d) for d in dirs)]:
                    shutil.chown(name, "nobody", "nogroup")
        base = [str(nginx), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "logs/error.log")]
        checked = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"nginx rejected the rendered config:\n{checked.stderr}"
        with open(prefix / "logs/stderr.log", "w") as stderr:
            process = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=stderr)
        url = f"http://{listen}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if _get(f"{url}/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                logs = "".join(p.read_text() for p in sorted((prefix / "logs").glob("*.log")))
                pytest.fail(f"nginx did not answer on {listen}:\n{logs[-3000:]}")
            time.sleep(0.2)
        yield url, prefix, process
    finally:
        if process is not None:
            _stop(process, signal.SIGQUIT, grace_s=10)  # graceful; SIGKILL after 10 s
        for name in ("error.log", "access.log", "stderr.log"):
            if (prefix / "logs" / name).exists():
                ARTIFACTS.mkdir(exist_ok=True)
                shutil.copyfile(prefix / "logs" / name, ARTIFACTS / f"{log_prefix}-nginx-{name}")
        shutil.rmtree(prefix, ignore_errors=True)


@contextmanager
def running_cluster(database_url: str, app_env: Mapping[str, str], *, replicas: int = 2,
                    log_prefix: str = "proxy-e2e") -> Iterator[Cluster]:
    """``replicas`` app processes on ``database_url`` (already migrated) behind nginx; all stopped on exit."""
    nginx = require_cluster_tools()
    with ExitStack() as stack:
        apps = start_apps(replicas, {**app_env, "DATABASE_URL": database_url}, log_prefix)
        for app in apps:
            stack.callback(_stop, app.process)
        url, prefix, process = stack.enter_context(nginx_in_front(nginx, [a.port for a in apps], log_prefix))
        for app in apps:  # each process answers through the proxy (per-upstream health route)
            status, body, _ = _get(f"{url}/_upstream/{app.port}/_stcore/health")
            assert (status, body.strip()) == (200, "ok"), (app.name, status, body)
        yield Cluster(url, apps, database_url, prefix, process)
