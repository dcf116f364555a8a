#!/usr/bin/env bash
# `ci tools image` (.gitlab-ci.yml): builds ci/Dockerfile.
#  - In a merge request: a throwaway image ($CI_TOOLS_MR_IMAGE) that only this
#    merge request's dev preview runs.
#  - On the protected default branch: the image the deploys will run, under a
#    tag no other build reuses (an overwritten tag would leave the recorded
#    digest untagged, for the registry's garbage collection to delete), and
#    the moving version tag (only the dev preview runs it, and only before the
#    first digest is ever recorded). Both tags come from CI_TOOLS_VERSION,
#    which a bump raises; CI_TOOLS_IMAGE keeps the previous digest meanwhile.
#    It prints the line to record in .gitlab-ci.yml by a merge request:
#    nothing runs this image with a prod or deploy role before that review.
# Any other ref builds nothing: CI_JOB_TOKEN can write any tag, but the
# deploys pull only the digest recorded in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

# Only a ref that may build logs in.
login() { echo "$CI_REGISTRY_PASSWORD" | docker login --username "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"; }

if [ -n "${CI_MERGE_REQUEST_IID:-}" ]; then
    login
    docker build --pull -t "$CI_TOOLS_MR_IMAGE" ci
    docker push "$CI_TOOLS_MR_IMAGE"
    echo "ci tools image: $CI_TOOLS_MR_IMAGE, for this merge request's dev preview only"
    exit 0
fi
if [ "${CI_COMMIT_REF_PROTECTED:-}" != "true" ] || [ "${CI_COMMIT_BRANCH:-}" != "${CI_DEFAULT_BRANCH:-}" ]; then
    echo "ci tools image: only the protected default branch builds the image deploys run in" >&2
    exit 1
fi
login

unique="$CI_TOOLS_VERSION-$CI_COMMIT_SHORT_SHA-$CI_JOB_ID"
image="$CI_REGISTRY_IMAGE/ci-tools"
docker build --pull -t "$image:$unique" -t "$image:$CI_TOOLS_VERSION" ci
docker push "$image:$unique"
docker push "$image:$CI_TOOLS_VERSION"
# The manifest digest the registry now serves for what this job built and pushed.
pushed="$(docker inspect --format '{{index .RepoDigests 0}}' "$image:$unique")"
digest="${pushed##*@}"
if ! [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "ci tools image: no digest for $image:$unique (got '$pushed')" >&2
    exit 1
fi
line="  CI_TOOLS_IMAGE: &ci-tools-image \$CI_REGISTRY_IMAGE/ci-tools:$unique@$digest"
printf '%s\n' "$line" >ci-tools-image.txt
echo "ci tools image: built $image:$unique ($digest). Record it in .gitlab-ci.yml by a merge request:"
echo "$line"
