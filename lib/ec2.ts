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
