/**
 * How many Puma workers and Sidekiq threads a GitLab task runs, from the
 * Fargate size it was given (pure). The rendered gitlab.rb sets them and the
 * config's connection budget (connections.ts) counts them: one source.
 */

/** MiB a web task keeps for Workhorse, NGINX, the registry and sshd beside Puma. */
export const WEB_RESERVED_MB = 1536;

/**
 * Threads per Puma worker: Omnibus's default, rendered explicitly so the
 * connection budget counts the number gitlab.rb sets.
 */
export const PUMA_MAX_THREADS = 4;

/**
 * GitLab's single-node baseline (its requirements: 16 GB for up to 20 RPS).
 * An all-in-one task with less runs by Omnibus's memory-constrained guide
 * (doc/settings/memory_constrained_envs.md), as dev's 8 GB task does.
 */
export const SINGLE_NODE_BASELINE_MB = 16384;

/**
 * Below the baseline: Sidekiq at the guide's preferred concurrency of 10 (not
 * its default 20), and Puma at 2 workers, the least clustered mode runs. The
 * guide's single mode (0 workers) is an Alpha feature with known issues, and
 * 2 workers let one be recycled by the memory killer while the other serves.
 */
export const MEMORY_CONSTRAINED = { pumaWorkers: 2, sidekiqConcurrency: 10 } as const;

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

/** The Rails processes of one task: Puma workers (0: no Puma) and Sidekiq threads (0: no Sidekiq). */
export interface RailsProcesses {
    readonly pumaWorkers: number;
    readonly sidekiqConcurrency: number;
}

/** The roles whose tasks run Puma or Sidekiq. */
export type ServingRole = "single" | "web" | "sidekiq";

/** What a task of `role` at this Fargate size runs; the renderer and the budget both ask here. */
export function railsProcesses(role: ServingRole, cpu: number, memory: number): RailsProcesses {
    switch (role) {
        case "web":
            return { pumaWorkers: pumaWorkers(cpu, memory, WEB_RESERVED_MB), sidekiqConcurrency: 0 };
        case "sidekiq":
            return { pumaWorkers: 0, sidekiqConcurrency: sidekiqConcurrency(cpu) };
        case "single":
            return memory < SINGLE_NODE_BASELINE_MB ? MEMORY_CONSTRAINED : { pumaWorkers: pumaWorkers(cpu, memory), sidekiqConcurrency: sidekiqConcurrency(cpu) };
    }
}

/**
 * Connections each registry process may hold to its database. The registry's
 * own default is no limit; GitLab.com runs its registry with 8 open and 8 idle
 * per pod (gl-infra/delivery#1985). A number, so GitLab's connection budget
 * can count it per web task.
 */
export const REGISTRY_DB_MAX_OPEN = 8;

/**
 * The roles whose tasks serve the registry, each with a pool of
 * REGISTRY_DB_MAX_OPEN to its metadata database: the renderer gives only
 * these the registry (registryConfig.ts), and GitLab's connection budget
 * counts a pool per task of them (connections.ts).
 */
export const REGISTRY_SERVERS: readonly ServingRole[] = ["single", "web"];
