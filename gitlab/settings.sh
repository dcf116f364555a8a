#!/bin/bash
# Instance settings the split topology depends on, applied after each
# migration step (entrypoint.sh migrate and post-migrate), so before any new
# task serves. Idempotent: it runs on every deploy. GITLAB_RAILS exists for
# the tests.
#
# Incremental job logging: with several web and Sidekiq tasks and no shared
# disk, a running job's log must live in Redis and object storage, not on the
# task that happened to receive it. Since GitLab 18.0 this is the instance
# setting ci_job_live_trace_enabled (it replaced the ci_enable_live_trace
# feature flag); there is no gitlab.rb key for it.
set -euo pipefail

rails=${GITLAB_RAILS:-/opt/gitlab/bin/gitlab-rails}

if "$rails" runner 'ApplicationSetting.current_without_cache.update!(ci_job_live_trace_enabled: true)'; then
    echo "platform-settings: incremental job logging on"
else
    echo "platform-settings: failed to turn on incremental job logging" >&2
    exit 1
fi
