#!/usr/bin/env bash
# Benchmark: gunicorn (docker-entrypoint.sh web) against PostgreSQL on loopback.
# Starts the throwaway PostgreSQL (scripts/pg-start.sh) unless DATABASE_URL
# already names a PostgreSQL database; uses wrk (installed from Debian when
# running as root), else a Python load generator. Arguments go to
# bench/run_bench.py (e.g. --duration 10 --write-results bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*) ;;
  *) DATABASE_URL="$(bash scripts/pg-start.sh | tail -n 1)"; export DATABASE_URL ;;
esac
if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "bench: installing wrk from Debian" >&2
  (apt-get install -y wrk >&2 || { apt-get update >&2 && apt-get install -y wrk >&2; }) \
    || echo "bench: wrk unavailable, using the Python load generator" >&2
fi
exec .venv/bin/python bench/run_bench.py "$@"
