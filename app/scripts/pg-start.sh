#!/usr/bin/env bash
# Idempotent: start a throwaway PostgreSQL cluster on 127.0.0.1 for tests and
# the benchmark, and print its DATABASE_URL as the last line on stdout.
#   PGPORT   port (default 55432)
#   PGDATA_DIR   data directory (default /tmp/app-pg-$PGPORT)
# Installs Debian's postgresql package when no server binaries are found.
# As root, the server runs as the `postgres` OS user (initdb refuses root).
# The cluster trades durability for speed (fsync off): test data only.
set -euo pipefail

port="${PGPORT:-55432}"
datadir="${PGDATA_DIR:-/tmp/app-pg-$port}"
role="app"
password="app"
dbname="app"

log() { echo "pg-start: $*" >&2; }

find_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  elif command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  fi
}

bindir="$(find_bindir)"
if [ -z "$bindir" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed and we are not root: install the postgresql package"
    exit 1
  fi
  log "installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  bindir="$(find_bindir)"
  [ -n "$bindir" ] || { log "no pg_ctl after installing postgresql"; exit 1; }
fi

if [ "$(id -u)" -eq 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
  owner="postgres"
else
  as_pg() { "$@"; }
  owner="$(id -un)"
fi
cd /tmp  # a directory the postgres user can enter

if [ ! -s "$datadir/PG_VERSION" ]; then
  log "initialising $datadir"
  mkdir -p "$datadir"
  chown "$owner" "$datadir"
  chmod 700 "$datadir"
  as_pg "$bindir/initdb" -D "$datadir" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >&2
fi

if as_pg "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
  log "already running on 127.0.0.1:$port"
else
  log "starting on 127.0.0.1:$port"
  as_pg "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $datadir -c max_connections=200 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2 || {
    log "start failed; server log:"; tail -n 30 "$datadir/server.log" >&2; exit 1; }
fi

as_pg "$bindir/psql" -h "$datadir" -p "$port" -U postgres -d postgres -q \
  -v ON_ERROR_STOP=1 -v role="$role" -v pw="$password" -v db="$dbname" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
-- CREATEROLE, as RDS's master user has it: the migrate step creates the web
-- process's IAM login (core/dbroles.py).
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB CREATEROLE PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL

echo "postgres://$role:$password@127.0.0.1:$port/$dbname"
