#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at a PostgreSQL server:
#   - DATABASE_URL already set: the command runs against it, nothing else happens;
#   - otherwise pg-start.sh starts the throwaway cluster (PGPORT, PGDATA_DIR),
#     the command runs, and the cluster is stopped again on the way out, even
#     when the command fails or is interrupted, unless it was already running
#     before (then it belongs to someone else and is left alone).
# Exits with the command's status.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: with-postgres.sh COMMAND [ARG...]" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"

if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi

port="${PGPORT:-55432}"
datadir="${PGDATA_DIR:-/tmp/app-pg-$port}"
was_running=false
if [ -s "$datadir/postmaster.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  was_running=true
fi

if [ "$was_running" = false ]; then
  trap 'bash "$here/pg-stop.sh" || true' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
fi
DATABASE_URL="$(bash "$here/pg-start.sh" | tail -n 1)"
export DATABASE_URL
status=0
"$@" || status=$?
exit "$status"
