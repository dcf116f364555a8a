/** What the graph cannot say: traffic, data sizes, how busy the runner is. */
export interface Usage {
    /** Hours in a month (AWS's pricing pages use 730). */
    readonly hoursPerMonth: number;
    /** Fargate Spot's discount on the on-demand price (AWS: "up to 70 %"). */
    readonly spotDiscount: number;
    /** Data through each NAT gateway, GB per month. */
    readonly natGbPerGateway: number;
    /** Average load balancer capacity units (ALB LCUs, NLB NLCUs) per hour. */
    readonly albLcu: number;
    readonly nlbNlcu: number;
    /** Data through each interface endpoint, GB per month. */
    readonly endpointGb: number;
    /** Requests the WAF inspects, millions per month. */
    readonly wafMillionRequests: number;
    /** Log data ingested per log group, GB per month (stored for its retention, at most a year). */
    readonly logGbPerGroup: number;
    /** Images kept per ECR repository, GB. */
    readonly ecrGbPerRepository: number;
    /** Objects per S3 bucket, GB. */
    readonly s3GbPerBucket: number;
    /** Data on each EFS file system, GB. */
    readonly efsGb: number;
    /** Runner workers running on average (the group scales from 0 to its maximum). */
    readonly runnerWorkersAverage: number;
    /** Hours each scheduled task run lasts (GitLab's backup). */
    readonly scheduledTaskHours: number;
}

export const USAGE_DEFAULTS: Usage = {
    hoursPerMonth: 730,
    spotDiscount: 0.7,
    natGbPerGateway: 50,
    albLcu: 1,
    nlbNlcu: 1,
    endpointGb: 10,
    wafMillionRequests: 5,
    logGbPerGroup: 1,
    ecrGbPerRepository: 5,
    s3GbPerBucket: 10,
    efsGb: 50,
    runnerWorkersAverage: 1,
    scheduledTaskHours: 1,
};

/** Parses `key=value` usage overrides (numbers), refusing unknown keys. */
export function usageFrom(overrides: readonly string[], base: Usage = USAGE_DEFAULTS): Usage {
    const out: Record<string, number> = { ...base };
    for (const o of overrides) {
        const [key, raw] = o.split("=");
        if (!(key in base) || raw === undefined || !Number.isFinite(Number(raw)) || Number(raw) < 0) {
            throw new Error(`usage ${JSON.stringify(o)}: expected one of ${Object.keys(base).join(", ")} = a number ≥ 0`);
        }
        out[key] = Number(raw);
    }
    return out as unknown as Usage;
}
