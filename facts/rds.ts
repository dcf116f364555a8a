/**
 * The app's database connection budget: what its tasks can hold at once
 * against what the instance allows, checked by the config schema.
 */

/** gunicorn's workers for a Fargate size, as the app's task sets WEB_CONCURRENCY: 2 × vCPU + 1, at least 2. */
export function webConcurrency(cpuUnits: number): number {
    return Math.max(2, Math.round((2 * cpuUnits) / 1024 + 1));
}

/**
 * Connections one gunicorn worker keeps (CONN_MAX_AGE): one for requests and
 * one for the throttles' database cache, its own connection
 * (app/config/settings.py). The app runs one thread per worker.
 */
export const CONNECTIONS_PER_WORKER = 2;

/** Kept free for others: PostgreSQL's superuser reserve, RDS's own, the migration task, a person with psql. */
export const RESERVED_CONNECTIONS = 15;

/** GiB of memory by size, for the general-purpose and burstable families (m, t); memory-optimised (r) have twice. */
const SIZE_GIB: Record<string, number> = {
    micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, "2xlarge": 32, "4xlarge": 64, "8xlarge": 128, "12xlarge": 192, "16xlarge": 256, "24xlarge": 384,
};

/**
 * RDS for PostgreSQL's default max_connections, LEAST(DBInstanceClassMemory /
 * 9531392, 5000), with DBInstanceClassMemory taken as 85 % of the class's
 * memory (RDS keeps the rest for itself); undefined for a class not in the table.
 */
export function rdsDefaultMaxConnections(instanceClass: string): number | undefined {
    const [, family, size] = instanceClass.split(".");
    const base = SIZE_GIB[size];
    if (base === undefined || !/^[mtr]\d/.test(family)) {
        return undefined;
    }
    const gib = family.startsWith("r") ? base * 2 : base;
    return Math.min(Math.floor((gib * 1024 ** 3 * 0.85) / 9531392), 5000);
}

/**
 * The most connections the app's tasks hold at once: during a deployment ECS
 * runs the new tasks beside the old (maximumPercent 200 %, a canary's full new
 * set), every worker with its connections.
 */
export function appConnections(maxCount: number, cpuUnits: number): number {
    return 2 * maxCount * webConcurrency(cpuUnits) * CONNECTIONS_PER_WORKER;
}
