#!/usr/bin/env bash
# First step of every job that runs the recorded tools image with a prod or
# deploy role or on the deploy runner: prod's preview, the drift checks, the deploys
# (.gitlab-ci.yml, `.recorded-image`). Such a job's `image:` is the text
# recorded in .gitlab-ci.yml (a YAML anchor, no variable to override); this
# fails when that record has no digest (a bare tag, which any pipeline's
# CI_JOB_TOKEN can push over) or when the job was given another image, before
# any package is installed or the role used. (The ID token is already in the
# job's environment: what this protects is the image, not the token.)
# docs/decisions/ci-images.md.
set -euo pipefail
cd "$(dirname "$0")/.."

recorded="$(sed -n 's/^  CI_TOOLS_IMAGE: &ci-tools-image //p' .gitlab-ci.yml)"
if ! [[ "$recorded" =~ ^\$CI_REGISTRY_IMAGE/ci-tools:[A-Za-z0-9_.-]+@sha256:[0-9a-f]{64}$ ]]; then
    echo "tools image: .gitlab-ci.yml records no digest ('$recorded'): jobs with a prod or deploy role run only a recorded digest." >&2
    echo "Run 'ci tools image' on the protected default branch and record the line it prints (docs/decisions/ci-images.md)." >&2
    exit 1
fi
# GitLab gives the job's image as written or expanded: compare both expanded.
expand() { printf '%s' "${1//\$CI_REGISTRY_IMAGE/${CI_REGISTRY_IMAGE:?}}"; }
if [ "$(expand "${CI_JOB_IMAGE:-}")" != "$(expand "$recorded")" ]; then
    echo "tools image: this job runs '${CI_JOB_IMAGE:-}', not the recorded $(expand "$recorded")" >&2
    exit 1
fi
echo "tools image: ${recorded##*@}, as recorded"
