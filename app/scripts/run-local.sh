#!/usr/bin/env bash
# One command to run the app locally with no services: SQLite in app/,
# DJANGO_DEBUG=1, the Django dev server on http://127.0.0.1:8000/ (the API at /api/, its docs at /api/docs/; / itself has no page).
#   scripts/run-local.sh             dev server (auto-reload)
#   scripts/run-local.sh --gunicorn  production-like: collectstatic + gunicorn
# Any env var from README.md can be set (DATABASE_URL, PORT, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export PORT="${PORT:-8000}"
./docker-entrypoint.sh migrate
if [ "${DJANGO_SUPERUSER_PASSWORD:-}" != "" ]; then
  # e.g. DJANGO_SUPERUSER_USERNAME=admin DJANGO_SUPERUSER_PASSWORD=... for /admin/
  ./docker-entrypoint.sh manage createsuperuser --no-input --email "${DJANGO_SUPERUSER_EMAIL:-admin@example.com}" || true
fi
if [ "${1:-}" = "--gunicorn" ]; then
  ./docker-entrypoint.sh collectstatic
  GUNICORN_BIND_HOST="${GUNICORN_BIND_HOST:-127.0.0.1}" exec ./docker-entrypoint.sh web
fi
exec ./docker-entrypoint.sh manage runserver "127.0.0.1:$PORT"
