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

/** Graviton instance families carry a "g" after the generation (m7g, c7gn, t4g). */
export function isGraviton(instanceType: string): boolean {
    return /^[a-z]+\d+g[a-z]*\./.test(instanceType);
}

/**
 * The ECS-optimized Amazon Linux 2023 AMI (Docker, the ECS and SSM agents,
 * EC2 Instance Connect), resolved by EC2 at each launch from AWS's public
 * parameter: no plan diff per AMI release; a replaced instance is patched.
 */
export function ecsOptimizedAmi(arch: "X86_64" | "ARM64"): string {
    return `resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/${arch === "ARM64" ? "arm64/" : ""}recommended/image_id`;
}

/** Launch-template metadata options: IMDSv2 only, one hop, so containers on the host cannot reach its credentials. */
export const IMDSV2_ONE_HOP = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" };

/** Launch-template block devices: the AMI's root volume as encrypted gp3 of this size, gone with the instance. */
export function encryptedRoot(sizeGb: number) {
    return [{ deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: sizeGb, encrypted: "true", deleteOnTermination: "true" } }];
}
