#!/usr/bin/env bash
# Stops the throwaway PostgreSQL cluster pg-start.sh started (same PGPORT /
# PGDATA_DIR). A cluster that is not running is not an error.
set -euo pipefail

port="${PGPORT:-55432}"
datadir="${PGDATA_DIR:-/tmp/app-pg-$port}"
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
[ -n "$bindir" ] && [ -x "$bindir/pg_ctl" ] || bindir="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
[ -x "$bindir/pg_ctl" ] || { echo "pg-stop: no pg_ctl found" >&2; exit 1; }
[ -s "$datadir/PG_VERSION" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
cd /tmp
if as_pg "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
  echo "pg-stop: stopping 127.0.0.1:$port" >&2
  as_pg "$bindir/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >&2
fi
