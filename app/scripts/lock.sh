#!/usr/bin/env bash
# Regenerate the hashed lock files from requirements*.in with pip-tools.
# The locks are compiled with the Python the venv and the image use (3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${TMPDIR:-/tmp}/app-piptools-venv"
if [ ! -x "$tools/bin/pip-compile" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --upgrade pip pip-tools
fi
opts=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links --no-emit-index-url "$@")
"$tools/bin/pip-compile" "${opts[@]}" --output-file requirements.txt requirements.in
"$tools/bin/pip-compile" "${opts[@]}" --output-file requirements-dev.txt requirements-dev.in
