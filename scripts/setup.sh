#!/usr/bin/env bash
# Installs everything the plan and the tests need on a fresh Debian machine:
# Node dependencies (npm ci, from the lock file), PostgreSQL, rsync, Ruby
# (evaluates the rendered gitlab.rb), ssh-keygen (the GitLab entrypoint's
# test) and Graphviz (the plan's architecture picture) from Debian's packages, and the Django app's virtualenv (hash-pinned).
# Idempotent: re-running only checks (the pipeline's test image, ci/test.Dockerfile,
# has the Debian packages, so there apt is skipped).
# TEST_PART (scripts/test-all.sh) set to one part skips what that part does not
# use: the virtualenv for types and mocha, node_modules for app.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v rsync >/dev/null 2>&1 || need_apt+=(rsync)
command -v ruby >/dev/null 2>&1 || need_apt+=(ruby)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

part="${TEST_PART:-all}"
[ "$part" = app ] || npm ci --no-audit --no-fund --loglevel=error
[ "$part" = types ] || [ "$part" = mocha ] || bash app/scripts/setup.sh
