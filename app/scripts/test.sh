#!/usr/bin/env bash
# Run the whole test suite with the venv's pytest, from app/.
# DATABASE_URL selects the database: PostgreSQL (as in CI; scripts/pg-start.sh
# prints a URL) or, when unset, SQLite; the PostgreSQL-only tests then FAIL
# unless ALLOW_NO_POSTGRES=1. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
if [ -n "${DATABASE_URL:-}" ]; then
  echo "test: DATABASE_URL=${DATABASE_URL%%://*}://... (passwords not shown)" >&2
else
  echo "test: DATABASE_URL unset: SQLite" >&2
fi
exec .venv/bin/pytest "$@"
