#!/bin/bash
# User data of the Gitaly host (gitalyHost.ts prepends the variables below).
# It runs at every first boot of an instance the Auto Scaling group launches:
# attach the repository volume (still attached to the replaced instance for a
# while, so wait for it), format it only if it is brand new, mount it, and
# only then let the ECS agent register. ecs.service starts after cloud-init's
# final stage, so the agent cannot join the cluster before this script ends.
# If it fails, ecs.config names no cluster (no Gitaly task can land here: the
# service's placement constraint also needs the attribute written last) and
# the instance reports itself unhealthy, so the group replaces it. On later
# reboots the agent starts only once the volume is mounted (a systemd
# drop-in), so Gitaly never starts on an empty directory of the root disk.
#
#   VOLUME_ID    vol-...          the repository volume
#   REGION       us-east-1
#   CLUSTER      the ECS cluster's name
#   ATTRIBUTE    the container-instance attribute the Gitaly service is placed by
#   MOUNT_POINT  where the host mounts the volume (the task's host volume)
#   DEVICE_NAME  the name the volume is attached as (xvdf)
#
# GITALY_HOST_ROOT, IMDS_ENDPOINT, ATTACH_TRIES, DEVICE_TRIES and SLEEP exist
# for the tests (tests/gitalyHost.test.ts); EC2 sets none of them.
set -euo pipefail

root=${GITALY_HOST_ROOT:-}
imds=${IMDS_ENDPOINT:-http://169.254.169.254}
attach_tries=${ATTACH_TRIES:-90}
device_tries=${DEVICE_TRIES:-60}
pause=${SLEEP:-10}

log() { echo "gitaly-host: $*"; }
instance=""
fail() {
    echo "gitaly-host: $*" >&2
    trap - ERR
    # Let the Auto Scaling group replace this instance now (even within its grace
    # period), and power off anyway: a stopped instance is replaced as well.
    if [ -n "$instance" ] && command -v aws >/dev/null &&
        aws autoscaling set-instance-health --region "$REGION" --instance-id "$instance" --health-status Unhealthy --no-should-respect-grace-period; then
        echo "gitaly-host: marked $instance unhealthy" >&2
    fi
    shutdown -h now "gitaly-host: $*" || true
    exit 1
}
# Any other failing command fails the same way.
trap 'fail "line $LINENO: a command failed"' ERR

# IMDSv2 only (the launch template requires tokens).
token=$(curl -fsS -X PUT "$imds/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300") || fail "no IMDSv2 token"
instance=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/instance-id") || { instance=""; fail "no instance id"; }

# The ECS-optimized AMI is built on the minimal AL2023 image, without the AWS CLI.
if ! command -v aws >/dev/null; then
    dnf install -y awscli-2 >/dev/null || fail "cannot install the AWS CLI"
fi
if ! command -v mkfs.xfs >/dev/null; then
    dnf install -y xfsprogs >/dev/null || fail "cannot install xfsprogs"
fi

# Attach: the volume stays attached to a replaced instance until it has shut
# down, so retry while it is in use elsewhere.
attached=""
for _ in $(seq 1 "$attach_tries"); do
    if ! answer=$(aws ec2 describe-volumes --region "$REGION" --volume-ids "$VOLUME_ID" \
        --query 'Volumes[0].[State,Attachments[0].InstanceId]' --output text); then
        log "cannot describe $VOLUME_ID; retrying"
        sleep "$pause"
        continue
    fi
    read -r state holder <<<"$answer"
    if [ "$state" = "in-use" ] && [ "$holder" = "$instance" ]; then
        attached=yes
        break
    fi
    if [ "$state" = "available" ]; then
        log "attaching $VOLUME_ID to $instance as /dev/$DEVICE_NAME"
        aws ec2 attach-volume --region "$REGION" --volume-id "$VOLUME_ID" --instance-id "$instance" --device "/dev/$DEVICE_NAME" >/dev/null ||
            log "attach refused; retrying"
    else
        log "$VOLUME_ID is $state (attached to ${holder:-nothing}); waiting"
    fi
    sleep "$pause"
done
[ -n "$attached" ] || fail "$VOLUME_ID never became attached to $instance"

# On Nitro the volume is an NVMe device; udev names it after the volume id.
device="$root/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${VOLUME_ID/-/}"
for _ in $(seq 1 "$device_tries"); do
    [ -e "$device" ] && break
    udevadm settle || true
    sleep 1
done
[ -e "$device" ] || fail "$device did not appear"

# Format only a brand-new volume: no file system signature and nothing but
# zeros in its first MiB (coreutils only). Anything else is somebody's data: stop.
if ! blkid -p "$device" >/dev/null 2>&1; then
    read_bytes=$(head -c 1048576 "$device" | wc -c) || fail "cannot read $device"
    nonzero=$(head -c 1048576 "$device" | tr -d '\0' | wc -c) || fail "cannot read $device"
    if [ "$read_bytes" -eq 1048576 ] && [ "$nonzero" -eq 0 ]; then
        log "new volume: creating the file system"
        mkfs.xfs -q -L gitaly "$device" || fail "mkfs.xfs failed"
    else
        fail "$VOLUME_ID holds data without a file system this script knows; not formatting it"
    fi
fi

mkdir -p "$root$MOUNT_POINT"
if ! grep -q " $MOUNT_POINT " "$root/etc/fstab" 2>/dev/null; then
    # nofail: a missing volume must not stop the host from booting into SSM.
    echo "LABEL=gitaly $MOUNT_POINT xfs defaults,noatime,nofail 0 2" >>"$root/etc/fstab"
fi
mount "$device" "$root$MOUNT_POINT" || fail "cannot mount $device"
mountpoint -q "$root$MOUNT_POINT" || fail "$MOUNT_POINT is not a mount point"
# After a resize of the volume the file system grows to match; otherwise a no-op.
xfs_growfs "$root$MOUNT_POINT" >/dev/null || log "xfs_growfs failed; the file system keeps its size"

# Every later boot: no agent (so no Gitaly) unless the volume is mounted.
mkdir -p "$root/etc/systemd/system/ecs.service.d"
printf '[Unit]\nRequiresMountsFor=%s\n' "$MOUNT_POINT" >"$root/etc/systemd/system/ecs.service.d/10-gitaly-volume.conf"
systemctl daemon-reload || fail "systemctl daemon-reload failed"

# Only now: the agent's configuration, the attribute last.
mkdir -p "$root/etc/ecs"
cat >>"$root/etc/ecs/ecs.config" <<EOF
ECS_CLUSTER=$CLUSTER
ECS_AWSVPC_BLOCK_IMDS=true
ECS_ENABLE_TASK_IAM_ROLE=true
ECS_CONTAINER_STOP_TIMEOUT=120s
ECS_INSTANCE_ATTRIBUTES={"$ATTRIBUTE":"$VOLUME_ID"}
EOF
log "ready: $VOLUME_ID at $MOUNT_POINT, joining $CLUSTER"
