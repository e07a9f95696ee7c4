"""A throwaway PostgreSQL server for tests, benchmarks and local clusters (not used by the app itself).

``temporary_postgres()`` runs ``initdb`` + ``pg_ctl`` from the PostgreSQL binaries on a free 127.0.0.1
port, with data, socket and log in a temporary folder, and removes everything afterwards::

    with temporary_postgres() as server:          # "postgresql+psycopg://postgres@127.0.0.1:PORT"
        url = create_database(server, "scalpscope")

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (``runuser``).
``durable=False`` (the default, for tests) turns off fsync; benchmarks that time commits pass
``durable=True`` to keep PostgreSQL's default durability.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from db import settings

PG_BIN_ENV = settings.PG_BIN.name
DEFAULT_PG_BIN = str(settings.PG_BIN.default)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed where we look."""


def pg_bin() -> Path:
    """``$SCALPSCOPE_PG_BIN`` or the Debian location of PostgreSQL 15."""
    return settings.PG_BIN.get()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def temporary_postgres(
    *,
    bin_dir: Path | None = None,
    port: int | None = None,
    durable: bool = False,
    settings: Sequence[str] = (),
    root: Path | None = None,
) -> Iterator[str]:
    """Start a private server; yield ``postgresql+psycopg://postgres@127.0.0.1:PORT``; stop and delete it.

    ``settings`` are extra ``name=value`` server settings (e.g. ``"shared_buffers=256MB"``). ``root``: the
    folder to hold data/socket/log (default: a new temporary folder, always deleted afterwards).
    """
    bin_dir = bin_dir or pg_bin()
    if not (bin_dir / "initdb").exists():
        raise PostgresUnavailable(f"PostgreSQL binaries not found in {bin_dir} (apt-get install postgresql-15)")
    root = Path(tempfile.mkdtemp(prefix="scalpscope-pg-", dir="/tmp")) if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    data, log = root / "data", root / "server.log"
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = port or free_port()

    def run(*args: str | Path) -> None:
        subprocess.run([*as_postgres, *map(str, args)], check=True, capture_output=True, timeout=120)

    try:
        run(bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
        options = [f"-k {root}", f"-p {port}", "-c listen_addresses=127.0.0.1"]
        if not durable:
            options += ["-c fsync=off", "-c full_page_writes=off"]
        options += [f"-c {setting}" for setting in settings]
        try:
            run(bin_dir / "pg_ctl", "-D", data, "-o", " ".join(options), "-l", log, "-w", "start")
        except subprocess.CalledProcessError as exc:
            server_log = log.read_text() if log.exists() else "no server log"
            raise RuntimeError(f"PostgreSQL did not start:\n{server_log}") from exc
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        finally:
            run(bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """``CREATE DATABASE name`` on the server; return its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(server_url.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"
