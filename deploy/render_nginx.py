"""Fill in deploy/nginx.conf.template: one nginx config for N app processes on 127.0.0.1.

Used by ``deploy/run_cluster.sh`` and by ``tests/deploy/test_proxy_e2e.py`` so both run the same config::

    python deploy/render_nginx.py --prefix DIR --listen 127.0.0.1:8080 --port 8501 --port 8502 [--user nobody:nogroup]
        [--tls-cert FULLCHAIN.pem --tls-key KEY.pem [--tls-listen 0.0.0.0:443]] [--expose-upstream]

writes ``DIR/nginx.conf``; then ``nginx -p DIR -c DIR/nginx.conf -e DIR/logs/error.log``. Every path in the
config is under DIR (pid, logs/, tmp/); the folders ``logs/`` and ``tmp/`` are created here. ``--user`` is
for a root master: its workers drop to that user, which must be able to enter DIR and write DIR/tmp
(the caller chowns tmp/, as run_cluster.sh does).

Every response carries the browser security headers of ``security/headers.py`` (the same
Content-Security-Policy, built for the installed Streamlit). With ``--tls-cert``/``--tls-key`` the app is served
over HTTPS on ``--tls-listen`` with HSTS, and ``--listen`` only redirects to it. ``--expose-upstream`` adds
``X-ScalpScope-Upstream`` (which process answered) for the stickiness tests; it names internal addresses, so
it is off by default.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
REPO = TEMPLATE.parent.parent
if str(REPO) not in sys.path:  # run as a script from deploy/: the security package lives at the top
    sys.path.insert(0, str(REPO))

from security.headers import content_security_policy  # noqa: E402

HSTS = "max-age=31536000; includeSubDomains"


def render(prefix: Path | str, listen: str, ports: Sequence[int], user: str | None = None,
           template: str | None = None, *, tls_cert: str | None = None, tls_key: str | None = None,
           tls_listen: str = "443", expose_upstream: bool = False) -> str:
    """The config text for ``ports`` (app processes on 127.0.0.1) behind ``listen`` (``ADDR:PORT``);
    with ``tls_cert`` and ``tls_key``, served over HTTPS on ``tls_listen`` and redirected from ``listen``."""
    if not ports:
        raise ValueError("at least one upstream port is needed")
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("give both --tls-cert and --tls-key, or neither")
    text = TEMPLATE.read_text() if template is None else template
    servers = "\n".join(f"        server 127.0.0.1:{int(port)} max_fails=1 fail_timeout=10s;" for port in ports)
    user_line = ""
    if user:
        user_line = f"user {' '.join(user.split(':', 1))};"
    if tls_cert:
        listen_lines = f"        listen {tls_listen} ssl;"
        tls_lines = "\n".join([
            f"        ssl_certificate {tls_cert};",
            f"        ssl_certificate_key {tls_key};",
            "        ssl_protocols TLSv1.2 TLSv1.3;",
            "        ssl_session_cache shared:scalpscope_tls:10m;",
            f'        add_header Strict-Transport-Security "{HSTS}" always;',
        ])
        redirect = "\n".join([
            "    server {  # plain HTTP only says where the app is",
            f"        listen {listen};",
            "        server_name _;",
            "        return 301 https://$host$request_uri;",
            "    }",
        ])
    else:
        listen_lines, tls_lines, redirect = f"        listen {listen};", "", ""
    upstream_line = ("        # Which process answered (tests of stickiness only: it names internal addresses).\n"
                     "        add_header X-ScalpScope-Upstream $upstream_addr always;") if expose_upstream else ""
    values = {"@PREFIX@": str(prefix), "@LISTEN_LINES@": listen_lines, "@TLS_LINES@": tls_lines,
              "@REDIRECT_SERVER@": redirect, "@UPSTREAM_HEADER_LINE@": upstream_line,
              "@CSP@": content_security_policy(), "@USER_LINE@": user_line,
              "@UPSTREAM_PORTS_RE@": "|".join(str(int(port)) for port in ports), "@UPSTREAM_SERVERS@": servers}
    for key, value in values.items():
        text = text.replace(key, value)
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # comments may mention @NAME@
    left = sorted(set(re.findall(r"@[A-Z_]+@", code)))
    if left:
        raise ValueError(f"placeholders left in the template: {', '.join(left)}")
    return text


def write(prefix: Path | str, listen: str, ports: Sequence[int], user: str | None = None, **options) -> Path:
    """Render into ``prefix/nginx.conf`` and create ``prefix/logs`` and ``prefix/tmp``; return the config path.

    ``options`` are :func:`render`'s keyword options (TLS, ``expose_upstream``).
    """
    prefix = Path(prefix)
    for folder in (prefix / "logs", prefix / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(render(prefix, listen, ports, user, **options))
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", required=True, type=Path, help="nginx prefix folder (config, pid, logs, tmp)")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="public ADDR:PORT (%(default)s)")
    parser.add_argument("--port", type=int, action="append", required=True, dest="ports",
                        help="an app process's port on 127.0.0.1 (repeat for each)")
    parser.add_argument("--user", help="USER[:GROUP] for the workers of a root master, e.g. nobody:nogroup")
    parser.add_argument("--tls-cert", help="certificate chain (PEM) for HTTPS; with --tls-key")
    parser.add_argument("--tls-key", help="private key (PEM) of --tls-cert")
    parser.add_argument("--tls-listen", default="443", help="HTTPS ADDR:PORT or PORT with TLS (%(default)s)")
    parser.add_argument("--expose-upstream", action="store_true",
                        help="add X-ScalpScope-Upstream (which process answered; for tests)")
    args = parser.parse_args(argv)
    print(write(args.prefix.resolve(), args.listen, args.ports, args.user, tls_cert=args.tls_cert,
                tls_key=args.tls_key, tls_listen=args.tls_listen, expose_upstream=args.expose_upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
