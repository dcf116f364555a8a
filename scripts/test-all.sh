#!/usr/bin/env bash
# Every check, in order: type-check, lint, the Pulumi program's tests under
# mocks (both stacks), then the Django app's tests on a real PostgreSQL.
# Prints the mocha step's wall time ("mocha: N s"), then one closing line:
# "total: N passed, M failed".
# With REPORTS_DIR set (the GitLab pipeline), also writes JUnit reports of
# both suites there and prints the Django app's line coverage.
# TEST_PART runs one part only, as the pipeline's parallel test jobs do:
# types (tsc, eslint), mocha, app (pytest); unset or "all": everything.
# With TEST_PART=mocha and CI_NODE_TOTAL over 1 (GitLab's `parallel:`), only
# shard CI_NODE_INDEX of the spec files (ci/mochaShard.ts).
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -d)
status=0
part="${TEST_PART:-all}"
case "$part" in
    all | types | mocha | app) ;;
    *) echo "test-all.sh: TEST_PART must be types, mocha, app or all, not '$part'" >&2; exit 2 ;;
esac
runs() { [ "$part" = all ] || [ "$part" = "$1" ]; }

step() { echo; echo "== $*"; }

if runs types; then
    step "tsc --noEmit (strict)"
    npx tsc --noEmit -p . || status=1

    step "eslint"
    npx eslint . || status=1
fi

# A `.only` left in a spec would run that test alone and pass: refused.
mocha_args=(--forbid-only)
pytest_args=()
if [ -n "${REPORTS_DIR:-}" ]; then
    mkdir -p "$REPORTS_DIR"
    reports=$(cd "$REPORTS_DIR" && pwd)
    # The spec output (counted below) and a JUnit file, side by side.
    export MOCHA_FILE="$reports/mocha.xml"
    mocha_args+=(--reporter mocha-multi-reporters --reporter-options configFile=.ci/mocha-reporters.json)
    pytest_args=(--junitxml="$reports/pytest.xml" --cov=config --cov=core --cov=releases --cov-report=term)
fi

: >"$log/mocha.txt"
: >"$log/pytest.txt"
mocha_seconds=0
if runs mocha; then
    step "mocha (Pulumi program under mocks)"
    mocha_start=$SECONDS
    if [ "$part" = mocha ] && [ "${CI_NODE_TOTAL:-1}" -gt 1 ]; then
        # Only this shard's files: a config of its own (mocha adds positional files to the config's spec).
        npx ts-node --transpile-only ci/mochaShard.ts "${CI_NODE_INDEX:?}" "$CI_NODE_TOTAL" --config "$log/mocharc.json" >/dev/null || exit 1
        mocha_args+=(--config "$log/mocharc.json")
    elif [ -z "${REPORTS_DIR:-}" ]; then
        # Locally, two mocha workers: on a 2-core machine they finish in some 85 % of the serial time
        # under the same load, all tests passing; no test writes into the repository, and
        # each worker keeps its own cache of stack runs. With JUnit reports (REPORTS_DIR)
        # mocha stays serial: the multi-reporter is not verified in parallel mode, and the
        # pipeline's mocha jobs are shards already.
        mocha_args+=(--parallel --jobs 2)
    fi
    npx mocha "${mocha_args[@]}" 2>&1 | tee "$log/mocha.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    mocha_seconds=$((SECONDS - mocha_start))
fi

if runs app; then
    step "pytest (Django app)"
    # Against $DATABASE_URL when set; otherwise on a throwaway PostgreSQL that is
    # started for this step and stopped after it.
    bash app/scripts/with-postgres.sh bash app/scripts/test.sh "${pytest_args[@]}" 2>&1 | tee "$log/pytest.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

num() { grep -Eo "[0-9]+ $2" "$1" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0; }
passed=$(( $(num "$log/mocha.txt" passing) + $(num "$log/pytest.txt" passed) ))
failed=$(( $(num "$log/mocha.txt" failing) + $(num "$log/pytest.txt" failed) + $(num "$log/pytest.txt" error) ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1  # a type or lint error, or a runner that died before counting
fi
echo
echo "mocha: $mocha_seconds s"
echo "total: $passed passed, $failed failed"
exit "$status"
