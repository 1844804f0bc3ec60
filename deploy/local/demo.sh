#!/usr/bin/env bash
# Runs the whole Pulse stack on this machine: web, workers, beat and Flower (and Redis if none
# answers). Called by `make demo` after the virtualenv is installed. Ctrl-C stops everything.
set -euo pipefail

cd "$(dirname "$0")/../.."
export PYTHON="${PYTHON:-.venv/bin/python}"
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export PYTHONUNBUFFERED=1
# The start scripts in deploy/ are the same ones the image runs; they call `celery` from PATH.
export PATH="$(cd "$(dirname "$PYTHON")" && pwd):$PATH"
export PULSE_HTTP_CONCURRENCY="${PULSE_HTTP_CONCURRENCY:-2}" PULSE_BROWSER_CONCURRENCY="${PULSE_BROWSER_CONCURRENCY:-1}"
WEB_PORT="${PULSE_WEB_PORT:-8000}"
FLOWER_PORT="${FLOWER_PORT:-5555}"
mkdir -p var

redis_answers() {
  "$PYTHON" -c "import os, redis; redis.Redis.from_url(os.environ['REDIS_URL'], socket_connect_timeout=1).ping()" \
    >/dev/null 2>&1
}

PROCFILE=var/Procfile.demo
cp deploy/Procfile "$PROCFILE"
if ! redis_answers; then
  if ! command -v redis-server >/dev/null; then
    echo "No Redis answers at $REDIS_URL and redis-server is not installed." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)" >&2
    echo "or set REDIS_URL to a running Redis, then run make demo again." >&2
    exit 1
  fi
  REDIS_PORT="$("$PYTHON" -c "import os; from urllib.parse import urlparse; print(urlparse(os.environ['REDIS_URL']).port or 6379)")"
  echo "No Redis answers at $REDIS_URL; starting redis-server on port $REDIS_PORT for this demo."
  echo "redis: redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir var" >> "$PROCFILE"
fi

# Offline by default: the platform simulator stands in for news, YouTube, Facebook, Instagram and
# the web, so mentions arrive without internet or accounts. Set PULSE_SIMULATOR_URL=off to scrape
# the real platforms instead.
if [ "${PULSE_SIMULATOR_URL:-}" = "off" ]; then
  unset PULSE_SIMULATOR_URL
elif [ -z "${PULSE_SIMULATOR_URL:-}" ]; then
  SIMULATOR_PORT="${PULSE_SIMULATOR_PORT:-$("$PYTHON" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}"
  export PULSE_SIMULATOR_URL="http://127.0.0.1:$SIMULATOR_PORT"
  echo "simulator: \$PYTHON manage.py simulate_platforms --port $SIMULATOR_PORT" >> "$PROCFILE"
fi

"$PYTHON" manage.py migrate --noinput -v 0
"$PYTHON" manage.py setup_operations_tasks >/dev/null
SETUP_OUTPUT="$("$PYTHON" manage.py demo_setup)"
CREDENTIALS="$(grep '^Admin user:' <<<"$SETUP_OUTPUT")"
grep -v '^Admin user:' <<<"$SETUP_OUTPUT" || true

FLOWER_FILE=var/flower-credentials
if [ -z "${FLOWER_BASIC_AUTH:-}" ]; then
  [ -s "$FLOWER_FILE" ] || echo "flower:$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(12))')" > "$FLOWER_FILE"
  FLOWER_BASIC_AUTH="$(cat "$FLOWER_FILE")"
fi
export FLOWER_BASIC_AUTH PULSE_WEB_PORT="$WEB_PORT" FLOWER_PORT

cat <<BANNER

  Pulse is starting.
    Admin    http://127.0.0.1:$WEB_PORT/admin/   $CREDENTIALS
    Flower   http://127.0.0.1:$FLOWER_PORT/      user: ${FLOWER_BASIC_AUTH%%:*}  password: ${FLOWER_BASIC_AUTH#*:}
    Health   http://127.0.0.1:$WEB_PORT/healthz
    Platforms ${PULSE_SIMULATOR_URL:-the real sites (no simulator)}
  Press Ctrl-C to stop every process.

BANNER

exec "$PYTHON" -m honcho -f "$PROCFILE" -d . start
