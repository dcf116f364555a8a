#!/usr/bin/env bash
# First step of every deploy (.gitlab-ci.yml, `.deploy`): the job runs in the
# tools image recorded in .gitlab-ci.yml by digest, or it stops before the ID
# token is written or any package installed. The deploy's `image:` is that
# recorded text itself (a YAML anchor, no variable to override), so this
# fails when the record has no digest yet (after a CI_TOOLS_VERSION bump) or
# when a job was given another image; README: "The tools image".
set -euo pipefail
cd "$(dirname "$0")/.."

recorded="$(sed -n 's/^  CI_TOOLS_IMAGE: &ci-tools-image //p' .gitlab-ci.yml)"
if ! [[ "$recorded" =~ ^\$CI_REGISTRY_IMAGE/ci-tools:[A-Za-z0-9_.-]+@sha256:[0-9a-f]{64}$ ]]; then
    echo "tools image: .gitlab-ci.yml records no digest ('$recorded'): deploys run only in a recorded digest." >&2
    echo "Run 'ci tools image' on the protected default branch and record the line it prints (README: \"The tools image\")." >&2
    exit 1
fi
# GitLab gives the job's image as written or expanded: compare both expanded.
expand() { printf '%s' "${1//\$CI_REGISTRY_IMAGE/${CI_REGISTRY_IMAGE:?}}"; }
if [ "$(expand "${CI_JOB_IMAGE:-}")" != "$(expand "$recorded")" ]; then
    echo "tools image: this job runs '${CI_JOB_IMAGE:-}', not the recorded $(expand "$recorded")" >&2
    exit 1
fi
echo "tools image: ${recorded##*@}, as recorded"
