#!/bin/sh
# Entrypoint of the runner manager on ECS: writes config.toml from
# RUNNER_CONFIG_TOML (rendered by components/runner/runnerConfig.ts; no
# secret in it) and hands over to gitlab-runner, which expands ${RUNNER_TOKEN}
# (injected by ECS from Secrets Manager) when it loads the file.
# RUNNER_CONFIG_DIR and RUNNER_BIN exist for the tests.
set -eu

dir=${RUNNER_CONFIG_DIR:-/etc/gitlab-runner}
bin=${RUNNER_BIN:-gitlab-runner}

fail() {
    echo "runner-entrypoint: $*" >&2
    exit 64
}

[ -n "${RUNNER_CONFIG_TOML:-}" ] || fail "RUNNER_CONFIG_TOML is empty: the task definition must set it"
case "${RUNNER_TOKEN:-}" in
glrt-*) ;;
"") fail "RUNNER_TOKEN is empty: store the runner authentication token first (README: \"The runner token\")" ;;
*) fail "RUNNER_TOKEN is not a runner authentication token (glrt-…)" ;;
esac

mkdir -p "$dir"
umask 077
printf '%s\n' "$RUNNER_CONFIG_TOML" >"$dir/config.toml"
unset RUNNER_CONFIG_TOML

exec "$bin" run --config "$dir/config.toml" --working-directory /home/gitlab-runner
