#!/usr/bin/env bash
# ScalpScope as a small cluster on one machine: PostgreSQL (or $DATABASE_URL), N `streamlit run` processes
# and nginx in front of them with sticky sessions. Everything lives in one work folder (default: a new
# folder under /tmp, deleted on exit); nothing is written to /etc, /var or the repository.
#
#   deploy/run_cluster.sh                      # PostgreSQL + 3 app processes (8501-8503) + nginx on 127.0.0.1:8080
#   DATABASE_URL=postgresql+psycopg://u:pw@db/scalpscope deploy/run_cluster.sh   # use an existing database
#   deploy/run_cluster.sh --seed-demo 1000     # also add 1,000 demo consultations (python -m db seed-demo)
#   deploy/run_cluster.sh --check              # start, check every upstream through nginx, print RSS, stop
#
# Options: --replicas N (3)  --base-port P (8501)  --listen ADDR:PORT (127.0.0.1:8080)  --app FILE (serve.py)
#          --workdir DIR (kept afterwards)  --python PY (venv python)  --seed-demo N  --check
#          --tls-cert PEM --tls-key PEM [--tls-listen ADDR:PORT (443)]: HTTPS with HSTS; --listen then redirects
# Environment: DATABASE_URL, SCALPSCOPE_PG_BIN (/usr/lib/postgresql/15/bin), SCALPSCOPE_VENV, and anything
# the app reads (SCALPSCOPE_DEMO, SCALPSCOPE_CODE_PEPPER, ...) is passed on to the app processes.
# Stop with Ctrl-C (or SIGTERM): nginx, the app processes and the private PostgreSQL are stopped in turn.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
REPLICAS=3
BASE_PORT=8501
LISTEN=127.0.0.1:8080
APP=serve.py  # app.py wrapped with the security headers and the client cookie
WORKDIR=""
KEEP=0
SEED_DEMO=0
CHECK=0
TLS_ARGS=()
PYTHON="${SCALPSCOPE_PYTHON:-}"
PG_BIN="${SCALPSCOPE_PG_BIN:-/usr/lib/postgresql/15/bin}"

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) REPLICAS="$2"; shift 2 ;;
    --base-port) BASE_PORT="$2"; shift 2 ;;
    --listen) LISTEN="$2"; shift 2 ;;
    --app) APP="$2"; shift 2 ;;
    --workdir) WORKDIR="$2"; KEEP=1; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    --seed-demo) SEED_DEMO="$2"; shift 2 ;;
    --check) CHECK=1; shift ;;
    --tls-cert|--tls-key|--tls-listen) TLS_ARGS+=("$1" "$2"); shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
done

say() { printf '\033[1m[cluster]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -z "$PYTHON" ]; then
  for candidate in "${SCALPSCOPE_VENV:-}/bin/python" "$REPO/.venv/bin/python" "$HOME/.cache/scalpscope-dev-venv/bin/python"; do
    if [ -x "$candidate" ]; then PYTHON="$candidate"; break; fi
  done
fi
[ -n "$PYTHON" ] && [ -x "$PYTHON" ] || die "no Python found: pass --python or set SCALPSCOPE_VENV"
command -v nginx >/dev/null || die "nginx is not installed (Debian: apt-get install nginx-light)"
command -v curl >/dev/null || die "curl is needed for health checks"
case "$APP" in /*) APP_PATH="$APP" ;; *) APP_PATH="$REPO/$APP" ;; esac
[ -f "$APP_PATH" ] || die "no app at $APP_PATH"

if [ -z "$WORKDIR" ]; then WORKDIR="$(mktemp -d /tmp/scalpscope-cluster-XXXXXX)"; fi
mkdir -p "$WORKDIR/logs" "$WORKDIR/nginx/logs" "$WORKDIR/nginx/tmp"
chmod 755 "$WORKDIR"
APP_PIDS=()
PG_DATA=""
AS_POSTGRES=()

cleanup() {
  set +e
  trap - EXIT INT TERM
  if [ -f "$WORKDIR/nginx/nginx.pid" ]; then
    say "stopping nginx"
    nginx -p "$WORKDIR/nginx" -c "$WORKDIR/nginx/nginx.conf" -e "$WORKDIR/nginx/logs/error.log" -s quit 2>/dev/null
    for _ in $(seq 50); do [ -f "$WORKDIR/nginx/nginx.pid" ] || break; sleep 0.1; done
  fi
  if [ ${#APP_PIDS[@]} -gt 0 ]; then
    say "stopping ${#APP_PIDS[@]} app processes"
    kill "${APP_PIDS[@]}" 2>/dev/null
    wait "${APP_PIDS[@]}" 2>/dev/null
  fi
  if [ -n "$PG_DATA" ]; then
    say "stopping PostgreSQL"
    "${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  fi
  if [ "$KEEP" = 0 ]; then rm -rf "$WORKDIR"; else say "logs kept in $WORKDIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- 1. database --------------------------------------------------------------------------------------
if [ -n "${DATABASE_URL:-}" ]; then
  say "using DATABASE_URL (${DATABASE_URL%%@*}@...)"
else
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL binaries not in $PG_BIN: install postgresql-15 or set DATABASE_URL"
  PG_ROOT="$WORKDIR/postgres"
  mkdir -p "$PG_ROOT"
  if [ "$(id -u)" = 0 ]; then  # PostgreSQL refuses to run as root
    chown postgres:postgres "$PG_ROOT"
    AS_POSTGRES=(runuser -u postgres --)
  fi
  PG_PORT="$(free_port)"
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT (data in $PG_ROOT)"
  "${AS_POSTGRES[@]}" "$PG_BIN/initdb" -D "$PG_ROOT/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
  PG_DATA="$PG_ROOT/data"
  "${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_ROOT/server.log" -w \
    -o "-k $PG_ROOT -p $PG_PORT -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
  "${AS_POSTGRES[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres scalpscope
  export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/scalpscope"
fi
cd "$REPO"
"$PYTHON" -m db migrate
if [ "$SEED_DEMO" != 0 ]; then "$PYTHON" -m db seed-demo "$SEED_DEMO"; fi

# --- 2. app processes ---------------------------------------------------------------------------------
for i in $(seq 0 $((REPLICAS - 1))); do
  port=$((BASE_PORT + i))
  if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then die "port $port is already in use"; fi
  "$PYTHON" -m streamlit run "$APP_PATH" --server.address 127.0.0.1 --server.port "$port" \
    --server.headless true --browser.gatherUsageStats false >"$WORKDIR/logs/app-$port.log" 2>&1 &
  APP_PIDS+=($!)
done
say "started ${REPLICAS} app processes on ports $BASE_PORT-$((BASE_PORT + REPLICAS - 1)); waiting for health"
for i in $(seq 0 $((REPLICAS - 1))); do
  port=$((BASE_PORT + i))
  for _ in $(seq 120); do
    if [ "$(curl -s "http://127.0.0.1:$port/_stcore/health")" = ok ]; then break; fi
    kill -0 "${APP_PIDS[$i]}" 2>/dev/null || { tail -20 "$WORKDIR/logs/app-$port.log" >&2; die "app on $port exited"; }
    sleep 0.5
  done
  [ "$(curl -s "http://127.0.0.1:$port/_stcore/health")" = ok ] || die "app on $port is not healthy after 60 s"
done

# --- 3. nginx -----------------------------------------------------------------------------------------
NGX="$WORKDIR/nginx"
USER_ARGS=()
if [ "$(id -u)" = 0 ]; then  # workers drop to nobody and must write their temp folders
  USER_ARGS=(--user nobody:nogroup)
  chown -R nobody:nogroup "$NGX/tmp"
fi
PORT_ARGS=()
for i in $(seq 0 $((REPLICAS - 1))); do PORT_ARGS+=(--port $((BASE_PORT + i))); done
# --check prints which process answered: only then does nginx name its upstreams in a header.
CHECK_ARGS=()
[ "$CHECK" = 1 ] && CHECK_ARGS=(--expose-upstream)
"$PYTHON" "$REPO/deploy/render_nginx.py" --prefix "$NGX" --listen "$LISTEN" "${PORT_ARGS[@]}" "${USER_ARGS[@]}" \
  "${TLS_ARGS[@]}" "${CHECK_ARGS[@]}" >/dev/null
nginx -t -q -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log" || die "nginx rejected $NGX/nginx.conf"
nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log"
say "nginx on http://$LISTEN -> ${REPLICAS} app processes (config $NGX/nginx.conf)"

# --- 4. check or wait ---------------------------------------------------------------------------------
check() {
  local failed=0 port body
  for i in $(seq 0 $((REPLICAS - 1))); do
    port=$((BASE_PORT + i))
    body="$(curl -s "http://$LISTEN/_upstream/$port/_stcore/health")"
    rss="$(awk '/VmRSS/ {print $2/1024 " MiB"}' "/proc/${APP_PIDS[$i]}/status" 2>/dev/null || echo '?')"
    printf '  upstream %s via nginx: %-3s  RSS %s\n' "$port" "$body" "$rss" >&2
    [ "$body" = ok ] || failed=1
  done
  body="$(curl -s -D "$WORKDIR/headers" "http://$LISTEN/_stcore/health")"
  printf '  /_stcore/health via the balancer: %s (%s)\n' "$body" \
    "$(grep -i '^x-scalpscope-upstream' "$WORKDIR/headers" | tr -d '\r')" >&2
  [ "$body" = ok ] || failed=1
  return $failed
}
if [ "$CHECK" = 1 ]; then
  check && say "all healthy" || die "a health check failed"
  exit 0
fi
say "open http://$LISTEN  (Ctrl-C stops everything)"
wait -n "${APP_PIDS[@]}" || true
say "an app process exited; see $WORKDIR/logs"
KEEP=1
exit 1
