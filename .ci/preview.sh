#!/usr/bin/env bash
# Merge-request preview of one stack ($STACK), run by .gitlab-ci.yml: the
# offline plan (mocks, what the code builds) and the real `pulumi preview
# --diff` (what would change in AWS, checked by the policy pack), both kept as the job's artifacts in
# preview/ (the job log shows only the change counts). Whoever reads the
# merge request reads its note (docs/operations/ci-setup.md, step 3), so the one
# note per stack carries the same counts and the job's link, never the diff.
# A preview never builds or pushes an image (docker.Image buildOnPreview:
# false; no engine, DOCKER_HOST ssh://).
# Exits with the preview's status; a failed note only warns.
set -uo pipefail
cd "$(dirname "$0")/.."
stack=${STACK:?STACK is required}
mkdir -p preview
plan="preview/plan-$stack.txt"
out="preview/preview-$stack.txt"

# The plan writes its text, JSON and architecture picture (DOT, SVG, Mermaid)
# into preview/ itself; what it prints (and any error) goes to a log beside them.
npm run --silent plan -- "$stack" --out preview >"preview/plan-$stack.log" 2>&1
plan_status=$?
# The diff (ARNs, configuration, outputs from the decrypted state) goes to the
# artifact only, which is `access: developer`; the job log, which anyone who can
# see the pipeline reads, gets the change counts and where the rest is.
# shellcheck disable=SC2046 # the flags are words
pulumi preview --stack "$stack" --diff --non-interactive --color never $(bash .ci/policy-args.sh "$stack") >"$out" 2>&1
status=$?
grep -E '^[[:space:]]*(Resources:|[-+~<>]+ [0-9]+ to [a-z]|[0-9]+ unchanged)' "$out" || true
echo "preview: pulumi preview exited $status; its output is in the artifacts ($out, project members only)"

if [ -n "${CI_MERGE_REQUEST_IID:-}" ]; then
    STACK="$stack" PREVIEW_FILE="$out" PLAN_FILE="$plan" node_modules/.bin/ts-node --transpile-only ci/mrNote.ts ||
        echo "preview: the merge-request note failed (the preview is in the artifacts)" >&2
else
    echo "preview: not a merge request: no note (the preview is in the artifacts)" >&2
fi

if [ "$plan_status" -ne 0 ]; then
    echo "preview: the offline plan failed, see preview/plan-$stack.log" >&2
    exit "$plan_status"
fi
exit "$status"
