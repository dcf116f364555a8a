#!/usr/bin/env bash
# Every check, in order: type-check, lint, the Pulumi program's tests under
# mocks (both stacks), then the Django app's tests on a real PostgreSQL.
# Prints one closing line: "total: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -d)
status=0

step() { echo; echo "== $*"; }

step "tsc --noEmit (strict)"
npx tsc --noEmit -p . || status=1

step "eslint"
npx eslint . || status=1

step "mocha (Pulumi program under mocks)"
npx mocha 2>&1 | tee "$log/mocha.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

step "pytest (Django app)"
# Against $DATABASE_URL when set; otherwise on a throwaway PostgreSQL that is
# started for this step and stopped after it.
bash app/scripts/with-postgres.sh bash app/scripts/test.sh 2>&1 | tee "$log/pytest.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

num() { grep -Eo "[0-9]+ $2" "$1" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0; }
passed=$(( $(num "$log/mocha.txt" passing) + $(num "$log/pytest.txt" passed) ))
failed=$(( $(num "$log/mocha.txt" failing) + $(num "$log/pytest.txt" failed) + $(num "$log/pytest.txt" error) ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1  # a type or lint error, or a runner that died before counting
fi
echo
echo "total: $passed passed, $failed failed"
exit "$status"
