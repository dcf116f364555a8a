/** GitLab's own facts, pure (no Pulumi): the config schema checks against them and the components build from them. */
import { GITLAB_MIN_CONNECTIONS, gitlabMaxConnections } from "./connections";

// The connection budget's pure parts, for the config schema (which reads this package through this file only).
export { connectionDemand, DEPLOY_MAXIMUM_PERCENT, GITLAB_MIN_CONNECTIONS, gitlabMaxConnections } from "./connections";
export type { Fleet } from "./connections";

/**
 * The EC2 instance types the Gitaly host may use, with what ECS needs to know
 * about them. A short list on purpose: general-purpose and memory-optimised
 * current generations (Gitaly leans on the page cache), never burstable ones
 * (GitLab's requirements advise against them). Figures from the EC2 instance
 * type pages.
 */
export const GITALY_INSTANCE_TYPES = {
    "m7i.large": { vcpu: 2, memoryGiB: 8, arch: "X86_64" },
    "m7i.xlarge": { vcpu: 4, memoryGiB: 16, arch: "X86_64" },
    "m7i.2xlarge": { vcpu: 8, memoryGiB: 32, arch: "X86_64" },
    "r7i.large": { vcpu: 2, memoryGiB: 16, arch: "X86_64" },
    "r7i.xlarge": { vcpu: 4, memoryGiB: 32, arch: "X86_64" },
    "m7g.large": { vcpu: 2, memoryGiB: 8, arch: "ARM64" },
    "m7g.xlarge": { vcpu: 4, memoryGiB: 16, arch: "ARM64" },
    "m7g.2xlarge": { vcpu: 8, memoryGiB: 32, arch: "ARM64" },
    "r7g.large": { vcpu: 2, memoryGiB: 16, arch: "ARM64" },
    "r7g.xlarge": { vcpu: 4, memoryGiB: 32, arch: "ARM64" },
} as const;

export type GitalyInstanceType = keyof typeof GITALY_INSTANCE_TYPES;

/**
 * MiB of an instance's memory a task may reserve: the instance's memory less
 * 1 GiB for the kernel, the ECS agent, the SSM agent and the page tables
 * (ECS registers somewhat less than the nominal size; a reservation above
 * what it registered leaves the task unplaceable).
 */
export function taskMemoryLimit(type: GitalyInstanceType): number {
    return GITALY_INSTANCE_TYPES[type].memoryGiB * 1024 - 1024;
}

/** CPU units of an instance (1024 per vCPU). */
export function instanceCpuUnits(type: GitalyInstanceType): number {
    return GITALY_INSTANCE_TYPES[type].vcpu * 1024;
}

/** One RDS parameter-group entry; static parameters apply at the next reboot. */
export interface GitLabDatabaseParameter {
    readonly name: string;
    readonly value: string;
    readonly applyMethod: "immediate" | "pending-reboot";
}

/**
 * GitLab's PostgreSQL parameters on its own RDS instance (GitLab's database
 * requirements; docs/decisions/gitlab.md). max_connections follows the
 * instance class (connections.ts); it is static, so a new value waits for the
 * instance's next reboot (a class change reboots it anyway).
 */
export function gitlabDatabaseParameters(instanceClass: string): GitLabDatabaseParameter[] {
    const maxConnections = gitlabMaxConnections(instanceClass);
    if (maxConnections === undefined) {
        throw new Error(`${instanceClass} cannot hold GitLab's ${GITLAB_MIN_CONNECTIONS} connections (the config schema refuses it)`);
    }
    return [
        { name: "max_connections", value: String(maxConnections), applyMethod: "pending-reboot" },
        { name: "work_mem", value: "8192", applyMethod: "immediate" },
        { name: "maintenance_work_mem", value: "65536", applyMethod: "immediate" },
        { name: "statement_timeout", value: "60000", applyMethod: "immediate" },
        // Migrations fail with "can't quote Array" when it is on (omnibus-gitlab database docs).
        { name: "quote_all_identifiers", value: "0", applyMethod: "immediate" },
    ];
}

/** ElastiCache node sizes below GitLab's AWS guide (cache.t3.medium or larger). */
export const TOO_SMALL_FOR_GITLAB_REDIS: readonly string[] = ["micro", "small"];

/** ECS's largest health check grace period (the API's int32 limit), in seconds. */
export const ECS_MAX_GRACE_SECONDS = 2147483647;

/**
 * How long ECS ignores failed health checks of the single topology's task
 * after its start while gitlab.holdForRestore is true (single.ts): long
 * enough for `gitlab-backup restore` with Puma stopped (docs/operations/restore.md).
 *
 * What a restore does in the task: fetch the archive from S3 onto the task's
 * own disk and unpack it there (the archive and its unpacked copy both fit
 * gitlab.ephemeralStorageGb, at most 200 GiB, so an archive of at most about
 * 100 GiB), replay the database dump with psql and rebuild its indexes (the
 * slow part, one stream), and have Gitaly pull each repository from its
 * server-side copy in the bucket. At an assumed 10 MiB/s end to end (an
 * allowance, not a measurement), the largest archive that fits takes
 * 100 GiB / 10 MiB/s = 10,240 s, about 2.8 h; an archive of a few GiB,
 * minutes. 12 h (43,200 s) leaves four times the largest, plus the operator's
 * pauses (gitlab:check, restart), and stays far below ECS's maximum
 * (ECS_MAX_GRACE_SECONDS, about 68 years): a task that really hangs while
 * held is not replaced for 12 h, which is why the hold is set only for a
 * restore and turned off afterwards.
 */
export const RESTORE_HOLD_SECONDS = 12 * 3600;
