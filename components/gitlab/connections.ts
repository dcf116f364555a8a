/**
 * GitLab's database connections (pure): what its PostgreSQL allows, and what
 * its tasks hold. The parameter group sets the first (facts.ts), the config
 * schema weighs the second against it (config/sections/gitlabBudget.ts).
 */
import { rdsDefaultMaxConnections, RESERVED_CONNECTIONS } from "../../facts/rds";
import { PUMA_MAX_THREADS, railsProcesses, RailsProcesses, REGISTRY_DB_MAX_OPEN, REGISTRY_SERVERS, ServingRole } from "./processSizing";

/** GitLab's floor for max_connections (its PostgreSQL requirements and doc/administration/postgresql/tune.md). */
export const GITLAB_MIN_CONNECTIONS = 400;

/**
 * How far above RDS's own default (its memory rule) max_connections may be
 * raised to reach GitLab's floor: db.t4g.medium's 383 becomes 400 (4 %), a
 * class with half the memory would need twice its default and is refused.
 */
const MAX_ABOVE_RDS_DEFAULT = 1.05;

/**
 * max_connections of GitLab's instance: RDS's default for the class (its
 * memory rule, facts/rds.ts), raised to GitLab's floor of 400 where the
 * default falls short by at most 5 %; undefined for a class too small for the
 * floor, or whose memory this program does not know.
 */
export function gitlabMaxConnections(instanceClass: string): number | undefined {
    const rds = rdsDefaultMaxConnections(instanceClass);
    if (rds === undefined || rds * MAX_ABOVE_RDS_DEFAULT < GITLAB_MIN_CONNECTIONS) {
        return undefined;
    }
    return Math.max(GITLAB_MIN_CONNECTIONS, rds);
}

/**
 * What one GitLab process may hold: its pool, per database, is
 * Gitlab::Runtime.max_threads + DB_POOL_HEADROOM (Gitlab::Database
 * .default_pool_size, lib/gitlab/database.rb), and GitLab >= 16.0 keeps two
 * pools, main and ci, even on one database. max_threads
 * (lib/gitlab/runtime.rb) is
 *   Puma worker  1 main thread + puma['max_threads'] + ActionCable's worker pool (4)
 *   Sidekiq      1 main thread + concurrency + 2 (Sidekiq's and sidekiq-cron's pollers)
 *   rake         1
 * Pools open lazily, so this is the ceiling a busy process reaches, above the
 * planning formula of doc/administration/postgresql/tune.md (Puma workers ×
 * (max_threads + 10), Sidekiq concurrency + 1 + 10), which leaves out the main
 * thread, ActionCable and the pollers: 14 per worker where a worker can hold 19.
 * DB_POOL_HEADROOM is 10, GitLab's default (the guide: plan for it, do not
 * change it).
 */
export const DB_POOL_HEADROOM = 10;
const POOLS = 2;

/**
 * ActionCable's worker pool in every Puma worker: Omnibus's default
 * (node['gitlab']['actioncable']['worker_pool_size'] = 4, passed to Puma as
 * ACTION_CABLE_WORKER_POOL_SIZE). Left at that default and counted: 19.3's
 * gitlab.rb template does not document the key, and an unknown top-level key
 * would stop reconfigure.
 */
export const ACTIONCABLE_WORKER_POOL_SIZE = 4;

/** Threads Sidekiq runs beside its job threads that may touch the database: its scheduled-job poller and sidekiq-cron's. */
const SIDEKIQ_POLLERS = 2;

/** Connections one process may hold, both pools: its threads by GitLab's count and the headroom. */
const processConnections = (threads: number) => POOLS * (1 + threads + DB_POOL_HEADROOM);

/** Connections one task's Rails processes may hold. */
export function taskConnections(p: RailsProcesses): number {
    const puma = p.pumaWorkers * processConnections(PUMA_MAX_THREADS + ACTIONCABLE_WORKER_POOL_SIZE);
    // One Sidekiq process per task (no sidekiq['queue_groups']).
    const sidekiq = p.sidekiqConcurrency > 0 ? processConnections(p.sidekiqConcurrency + SIDEKIQ_POLLERS) : 0;
    return puma + sidekiq;
}

/** A one-off Rails task (migrate, post-migrate, backup): one rake thread and its headroom, both pools. */
export const ONE_OFF_TASK_CONNECTIONS = processConnections(0);

/**
 * The one-off tasks that may overlap a deployment: a migrate step (split runs
 * it before the tiers roll and post-migrate after; a retried `pulumi up` may
 * start one while the last still runs) and the scheduled backup.
 */
export const ONE_OFF_TASKS = 2;

/**
 * How far a deployment lets a service exceed its task count
 * (deploymentMaximumPercent): the split tiers start the new tasks beside the
 * old (200 %, splitTiers.ts), the single task stops first (100 %, single.ts).
 * The tests check these against the services in the graph.
 */
export const DEPLOY_MAXIMUM_PERCENT = { single: 100, split: 200 } as const;

/** One fleet of tasks of a serving role: its Fargate size and how many run. */
export interface Fleet {
    readonly role: ServingRole;
    readonly cpu: number;
    readonly memory: number;
    readonly minCount: number;
    readonly maxCount: number;
}

/** The connections GitLab's fleets hold, at both ends of autoscaling and during a deployment at each. */
export interface ConnectionDemand {
    /** Rails, by GitLab's pool sizes (taskConnections). */
    readonly atMinimum: number;
    readonly deployAtMinimum: number;
    readonly atMaximum: number;
    readonly deployAtMaximum: number;
    /** The registry's pools (one per REGISTRY_SERVERS task, not doubled: the registry is not Rails) during a deployment at the ceiling, and the migration task's while it migrates the registry. */
    readonly registry: number;
    /** The most GitLab may hold at once: a deployment at the ceiling, the registry, the one-off tasks and the reserve kept free. */
    readonly need: number;
}

export function connectionDemand(fleets: readonly Fleet[], deployPercent: number): ConnectionDemand {
    const at = (count: (f: Fleet) => number) => fleets.reduce((sum, f) => sum + count(f) * taskConnections(railsProcesses(f.role, f.cpu, f.memory)), 0);
    const [atMinimum, atMaximum] = [at((f) => f.minCount), at((f) => f.maxCount)];
    const deploy = (n: number) => Math.ceil((n * deployPercent) / 100);
    const deployAtMaximum = deploy(atMaximum);
    const registry = deploy(fleets.reduce((sum, f) => sum + (REGISTRY_SERVERS.includes(f.role) ? f.maxCount * REGISTRY_DB_MAX_OPEN : 0), 0)) + REGISTRY_DB_MAX_OPEN;
    return {
        atMinimum,
        deployAtMinimum: deploy(atMinimum),
        atMaximum,
        deployAtMaximum,
        registry,
        need: deployAtMaximum + registry + ONE_OFF_TASKS * ONE_OFF_TASK_CONNECTIONS + RESERVED_CONNECTIONS,
    };
}
