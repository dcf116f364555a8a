/**
 * RDS for PostgreSQL's connection limits: what an instance class allows, and
 * what to keep free. The connection budgets of the config schema weigh each
 * client's demand (components/app/facts.ts) against these.
 */

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
