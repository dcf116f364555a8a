#!/usr/bin/env bash
# The pipeline's own images, built from a Dockerfile in ci/:
#   bash .ci/tools-image.sh ci/Dockerfile ci-tools        # `ci tools image`: the Pulumi jobs' tools
#   bash .ci/tools-image.sh ci/test.Dockerfile ci-test    # `ci test image`: the test jobs'
# The image name decides the variables: ci-tools reads CI_TOOLS_VERSION and
# CI_TOOLS_MR_IMAGE and prints the line for CI_TOOLS_IMAGE (&ci-tools-image),
# ci-test the same with CI_TEST_.
#  - In a merge request: a throwaway image (<PREFIX>_MR_IMAGE) that only this
#    merge request's jobs run (the tools: its dev preview; the test image: its tests).
#  - On the protected default branch: the image the pipeline will run, under a
#    tag no other build reuses (an overwritten tag would leave the recorded
#    digest untagged, for the registry's garbage collection to delete), and
#    the moving version tag (run only before the first digest is ever
#    recorded, and by the tests of the pipeline that built it). Both tags come
#    from <PREFIX>_VERSION, which a bump raises; <PREFIX>_IMAGE keeps the
#    previous digest meanwhile. It prints the line to record in .gitlab-ci.yml
#    by a merge request (artifact <name>-image.txt): nothing runs the tools
#    image with a prod or deploy role before that review.
# Any other ref builds nothing: CI_JOB_TOKEN can write any tag, but the
# deploys pull only the digest recorded in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

dockerfile="${1:?usage: tools-image.sh <Dockerfile> <image name, e.g. ci-tools>}"
name="${2:?usage: tools-image.sh <Dockerfile> <image name, e.g. ci-tools>}"
[ -f "$dockerfile" ] || { echo "ci image: no $dockerfile" >&2; exit 1; }
[[ "$name" =~ ^ci-[a-z]+$ ]] || { echo "ci image: '$name' is not ci-<word>" >&2; exit 1; }
prefix="$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')"
version_var="${prefix}_VERSION"
mr_var="${prefix}_MR_IMAGE"
build() { docker build --pull -f "$dockerfile" "$@" "$(dirname "$dockerfile")"; }

# Only a ref that may build logs in.
login() { echo "$CI_REGISTRY_PASSWORD" | docker login --username "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"; }

if [ -n "${CI_MERGE_REQUEST_IID:-}" ]; then
    login
    mr_image="${!mr_var:?$mr_var is not set}"
    build -t "$mr_image"
    docker push "$mr_image"
    echo "$name image: $mr_image, for this merge request's jobs only"
    exit 0
fi
if [ "${CI_COMMIT_REF_PROTECTED:-}" != "true" ] || [ "${CI_COMMIT_BRANCH:-}" != "${CI_DEFAULT_BRANCH:-}" ]; then
    echo "$name image: only the protected default branch builds the image the pipeline runs" >&2
    exit 1
fi
login

version="${!version_var:?$version_var is not set}"
unique="$version-$CI_COMMIT_SHORT_SHA-$CI_JOB_ID"
image="$CI_REGISTRY_IMAGE/$name"
build -t "$image:$unique" -t "$image:$version"
docker push "$image:$unique"
docker push "$image:$version"
# The manifest digest the registry now serves for what this job built and pushed.
pushed="$(docker inspect --format '{{index .RepoDigests 0}}' "$image:$unique")"
digest="${pushed##*@}"
if ! [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "$name image: no digest for $image:$unique (got '$pushed')" >&2
    exit 1
fi
line="  ${prefix}_IMAGE: &$name-image \$CI_REGISTRY_IMAGE/$name:$unique@$digest"
printf '%s\n' "$line" >"$name-image.txt"
echo "$name image: built $image:$unique ($digest). Record it in .gitlab-ci.yml by a merge request:"
echo "$line"
