/** GitLab's own facts, pure (no Pulumi): the config schema checks against them and the components build from them. */

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

/**
 * GitLab's PostgreSQL parameters on its own RDS instance (GitLab's database
 * requirements; README: GitLab, "Database").
 */
export const GITLAB_DATABASE_PARAMETERS: readonly { readonly name: string; readonly value: string; readonly applyMethod: "immediate" | "pending-reboot" }[] = [
    { name: "max_connections", value: "400", applyMethod: "pending-reboot" },
    { name: "work_mem", value: "8192", applyMethod: "immediate" },
    { name: "maintenance_work_mem", value: "65536", applyMethod: "immediate" },
    { name: "statement_timeout", value: "60000", applyMethod: "immediate" },
    // Migrations fail with "can't quote Array" when it is on (omnibus-gitlab database docs).
    { name: "quote_all_identifiers", value: "0", applyMethod: "immediate" },
];

/** RDS instance sizes too small for GitLab: it needs at least 400 connections (GitLab's PostgreSQL tuning guide). */
export const TOO_SMALL_FOR_GITLAB: readonly string[] = ["nano", "micro", "small"];

/** ElastiCache node sizes below GitLab's AWS guide (cache.t3.medium or larger). */
export const TOO_SMALL_FOR_GITLAB_REDIS: readonly string[] = ["micro", "small"];
