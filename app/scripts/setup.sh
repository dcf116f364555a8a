#!/usr/bin/env bash
# Idempotent: create app/.venv and install the hashed dev lock (which contains
# the exact runtime lock). Re-running is a no-op when the lock did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.requirements-dev.sha256"
want="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: $venv up to date"
  exit 0
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --require-hashes --no-deps -r requirements-dev.txt
"$venv/bin/python" -m pip check
echo "$want" > "$stamp"
echo "setup: installed requirements-dev.txt into $venv"
