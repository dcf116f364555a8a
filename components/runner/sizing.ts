import { ecsOptimizedAmi, isGraviton } from "../../aws/ec2";

/** The manager's Fargate size: it schedules jobs and holds SSH tunnels; the work happens on the workers. */
export const MANAGER_SIZE = { cpu: 512, memory: 1024 } as const;

/** Days the CI cache keeps an object (a cache, not an archive). */
export const CACHE_EXPIRE_DAYS = 14;

/** The job image when a job names none. */
export const DEFAULT_JOB_IMAGE = "alpine:3.21";

/** The workers' AMI: ECS-optimized AL2023 (Docker, ec2-user in the docker group, EC2 Instance Connect) for their architecture. */
export function workerAmi(instanceType: string): string {
    return ecsOptimizedAmi(isGraviton(instanceType) ? "ARM64" : "X86_64");
}

/**
 * A worker's user data: the AMI's ECS agent would register the instance in a
 * cluster, so it is switched off; Docker is all a worker runs. `--no-block`:
 * user data must not wait for units ordered after cloud-init.
 */
export const WORKER_USER_DATA = `#!/bin/bash
systemctl disable --now --no-block ecs.service
systemctl enable --now --no-block docker.service
`;
