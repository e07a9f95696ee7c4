"""Fill in deploy/nginx.conf.template: one nginx config for N app processes on 127.0.0.1.

Used by ``deploy/run_cluster.sh`` and by ``tests/deploy/test_proxy_e2e.py`` so both run the same config::

    python deploy/render_nginx.py --prefix DIR --listen 127.0.0.1:8080 --port 8501 --port 8502 [--user nobody:nogroup]

writes ``DIR/nginx.conf``; then ``nginx -p DIR -c DIR/nginx.conf -e DIR/logs/error.log``. Every path in the
config is under DIR (pid, logs/, tmp/); the folders ``logs/`` and ``tmp/`` are created here. ``--user`` is
for a root master: its workers drop to that user, which must be able to enter DIR and write DIR/tmp
(the caller chowns tmp/, as run_cluster.sh does). Standard library only.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"


def render(prefix: Path | str, listen: str, ports: Sequence[int], user: str | None = None,
           template: str | None = None) -> str:
    """The config text for ``ports`` (app processes on 127.0.0.1) behind ``listen`` (``ADDR:PORT``)."""
    if not ports:
        raise ValueError("at least one upstream port is needed")
    text = TEMPLATE.read_text() if template is None else template
    servers = "\n".join(f"        server 127.0.0.1:{int(port)} max_fails=1 fail_timeout=10s;" for port in ports)
    user_line = ""
    if user:
        user_line = f"user {' '.join(user.split(':', 1))};"
    values = {"@PREFIX@": str(prefix), "@LISTEN@": listen, "@USER_LINE@": user_line,
              "@UPSTREAM_PORTS_RE@": "|".join(str(int(port)) for port in ports), "@UPSTREAM_SERVERS@": servers}
    for key, value in values.items():
        text = text.replace(key, value)
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # comments may mention @NAME@
    left = sorted(set(re.findall(r"@[A-Z_]+@", code)))
    if left:
        raise ValueError(f"placeholders left in the template: {', '.join(left)}")
    return text


def write(prefix: Path | str, listen: str, ports: Sequence[int], user: str | None = None) -> Path:
    """Render into ``prefix/nginx.conf`` and create ``prefix/logs`` and ``prefix/tmp``; return the config path."""
    prefix = Path(prefix)
    for folder in (prefix / "logs", prefix / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(render(prefix, listen, ports, user))
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", required=True, type=Path, help="nginx prefix folder (config, pid, logs, tmp)")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="public ADDR:PORT (%(default)s)")
    parser.add_argument("--port", type=int, action="append", required=True, dest="ports",
                        help="an app process's port on 127.0.0.1 (repeat for each)")
    parser.add_argument("--user", help="USER[:GROUP] for the workers of a root master, e.g. nobody:nogroup")
    args = parser.parse_args(argv)
    print(write(args.prefix.resolve(), args.listen, args.ports, args.user))
    return 0


if __name__ == "__main__":
    sys.exit(main())
