/**
 * How many Puma workers and Sidekiq threads a GitLab task runs, from the
 * Fargate size it was given (pure; the rendered gitlab.rb sets them).
 */

/** MiB a web task keeps for Workhorse, NGINX, the registry and sshd beside Puma. */
export const WEB_RESERVED_MB = 1536;

/**
 * Puma workers: one per vCPU while memory allows about 1.2 GB each beside
 * what the task runs besides Puma (the single task: 4 GB for Sidekiq, Gitaly,
 * Redis, NGINX and the registry); at least 2. Set
 * explicitly because a Fargate task may see more CPUs than it was given.
 */
export function pumaWorkers(cpu: number, memory: number, reservedMb = 4096): number {
    return Math.max(2, Math.min(cpu / 1024, Math.floor((memory - reservedMb) / 1200)));
}

/** Sidekiq threads: 5 per vCPU up to GitLab's default of 20. */
export function sidekiqConcurrency(cpu: number): number {
    return Math.min(20, 5 * Math.max(1, Math.floor(cpu / 1024)));
}
