#!/usr/bin/env bash
# The one entrypoint of the image, also used by the tests and the benchmark.
#   docker-entrypoint.sh web [gunicorn args]   serve with gunicorn (gunicorn.conf.py)
#   docker-entrypoint.sh migrate [args]        migrate under a PostgreSQL advisory lock, then
#                                              the first superuser from DJANGO_SUPERUSER_USERNAME
#                                              and _PASSWORD when set (ensure_admin: created once,
#                                              never changed afterwards)
#   docker-entrypoint.sh collectstatic         collect static files (build time)
#   docker-entrypoint.sh manage CMD [args]     any manage.py command
#   docker-entrypoint.sh ANYTHING ELSE         exec'd as is (e.g. bash, python)
# With MIGRATE_ON_START=1, `web` runs migrate_locked first (safe when N tasks
# start at once, see core/management/commands/migrate_locked.py).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
# Read-only root filesystem: never write .pyc files; unbuffered logs.
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings}"

cmd="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$cmd" in
  web)
    if [ "${MIGRATE_ON_START:-0}" = "1" ]; then
      python manage.py migrate_locked --no-input
    fi
    exec gunicorn --config gunicorn.conf.py "$@"
    ;;
  migrate)
    python manage.py migrate_locked --no-input "$@"
    exec python manage.py ensure_admin
    ;;
  collectstatic)
    exec python manage.py collectstatic --no-input "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
