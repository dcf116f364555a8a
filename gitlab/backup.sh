#!/bin/bash
# The daily backup, run by the backup task after reconfigure. Repositories are
# backed up by Gitaly itself, server-side, into the backup bucket (this task
# starts no Gitaly: the single task's Gitaly is the only writer of the
# repositories). The database dump and metadata go into the archive that
# gitlab-backup uploads to the same bucket. Blobs already in S3 (uploads,
# artifacts, LFS, packages, registry, ...) are not copied: their buckets are
# versioned and protected in prod.
set -uo pipefail

skip=uploads,builds,artifacts,pages,lfs,terraform_state,registry,packages,ci_secure_files,external_diffs
gitlab-backup create REPOSITORIES_SERVER_SIDE=true SKIP="$skip"
status=$?
gitlab-ctl stop >/dev/null 2>&1 || true
if [ "$status" -eq 0 ]; then
    echo "platform-backup: succeeded"
else
    echo "platform-backup: failed with status $status" >&2
fi
exit "$status"
