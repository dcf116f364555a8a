import { RunError } from "@pulumi/pulumi";
import { z } from "zod";
import { addressesPerAz, azBlockPrefix, isNetworkAddress, isPrivate, MAX_AZS, parseCidr } from "../facts/cidr";
import { checkSizing, databaseSchema, domainName, serviceSizing } from "./shapes";
import { GITALY_INSTANCE_TYPES } from "../components/gitlab/facts";
import { gitlabSchema } from "./sections/gitlab";
import { ciSchema } from "./sections/ci";
import { rdsDefaultMaxConnections, RESERVED_CONNECTIONS } from "../facts/rds";
import { appConnections } from "../components/app/facts";
import { runnerSchema } from "./sections/runner";

export { isDomainName } from "./shapes";

/**
 * The one place where stack configuration is read, validated and defaulted.
 * Components never call `pulumi.Config`; index.ts calls `loadConfig()` once and
 * hands typed slices of the result to each component.
 */

export const PROJECT = "platform";

/** Retention periods CloudWatch Logs accepts (PutRetentionPolicy); anything else is an API error. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
] as const;

const subnetMask = z.number().int().min(16).max(28);

const networkSchema = z
    .strictObject({
        /** VPC CIDR: an RFC 1918 network address, /16 to /24. */
        cidr: z.string().default("10.0.0.0/16"),
        /** 2 in dev, 3 in prod: ELB and RDS need at least two; three survive an AZ loss with headroom. */
        availabilityZones: z.union([z.literal(2), z.literal(3)], {
            error: (iss) => `${JSON.stringify(iss.input)} must be 2 or 3`,
        }).default(2),
        /** Single: one NAT gateway (cheap, one AZ is a single point of egress). OnePerAz: HA egress. */
        natGateways: z.enum(["Single", "OnePerAz"], {
            error: (iss) => `${JSON.stringify(iss.input)} is not a NAT mode (Single, OnePerAz)`,
        }).default("Single"),
        /** Netmask of each tier's subnet in every AZ. */
        subnetMasks: z
            .strictObject({
                // An ALB needs at least a /27 with 8 free addresses in each subnet.
                public: subnetMask.max(27).default(24),
                private: subnetMask.default(20),
                isolated: subnetMask.default(24),
            })
            .prefault({}),
        /** Interface endpoints for ecr.api, ecr.dkr, logs and secretsmanager (keeps that traffic off the NAT). */
        interfaceEndpoints: z.boolean().default(false),
        /** VPC flow logs to CloudWatch Logs. */
        flowLogs: z.boolean().default(false),
    })
    .superRefine((n, ctx) => {
        const c = parseCidr(n.cidr);
        if (!c) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${JSON.stringify(n.cidr)} is not an IPv4 CIDR (a.b.c.d/prefix)` });
            return;
        }
        if (c.prefix < 16 || c.prefix > 24) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${n.cidr}: prefix /${c.prefix} is outside /16–/24` });
            return;
        }
        if (!isNetworkAddress(c)) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${n.cidr} has host bits set; use the network address` });
        }
        if (!isPrivate(c)) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${n.cidr} is not inside an RFC 1918 private range` });
        }
        // Blocks are sized for MAX_AZS whatever the count today, so a later third AZ moves nothing.
        const azPrefix = azBlockPrefix(c.prefix);
        const masks = n.subnetMasks;
        for (const tier of ["public", "private", "isolated"] as const) {
            if (masks[tier] < azPrefix) {
                ctx.addIssue({
                    code: "custom",
                    path: ["subnetMasks", tier],
                    message: `/${masks[tier]} is larger than the /${azPrefix} each AZ gets from ${n.cidr} (blocks are sized for ${MAX_AZS} AZs)`,
                });
                return;
            }
        }
        const need = addressesPerAz([masks.public, masks.private, masks.isolated]);
        const have = 2 ** (32 - azPrefix);
        if (need > have) {
            ctx.addIssue({
                code: "custom",
                path: ["subnetMasks"],
                message: `subnets need ${need} addresses per AZ but ${n.cidr} gives each AZ /${azPrefix} = ${have} (blocks are sized for ${MAX_AZS} AZs)`,
            });
        }
    });

const logsSchema = z.strictObject({
    /** Retention of every log group this program creates. */
    retentionDays: z
        .number()
        .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
            error: (iss) => `${JSON.stringify(iss.input)} is not a CloudWatch retention period (${LOG_RETENTION_DAYS.join(", ")})`,
        })
        .default(30),
});

const imagesSchema = z.strictObject({
    /** Build platform of every image, and the runtime platform of the tasks that run them. */
    platform: z.enum(["linux/amd64", "linux/arm64"]).default("linux/amd64"),
    /** Tagged images kept per repository; older ones expire (untagged ones after a day). */
    keepTaggedImages: z.number().int().min(1).max(1000).default(30),
});

const clusterSchema = z.strictObject({
    /** Container Insights level: enhanced adds per-container metrics at a higher CloudWatch cost. */
    containerInsights: z.enum(["enabled", "enhanced"]).default("enabled"),
    /** Offer FARGATE_SPOT capacity to services (up to 70 % cheaper, may be reclaimed with 2 minutes' notice). */
    fargateSpot: z.boolean().default(false),
});

const dnsSchema = z.strictObject({
    /** The Route 53 public hosted zone that holds every host name of the stack. */
    zoneName: domainName,
    /** An existing ACM certificate covering every host name; unset: one is issued and DNS-validated. */
    certificateArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an ACM certificate ARN` })
        .optional(),
});

const loadBalancerSchema = z.strictObject({
    /** ELB deletion protection (prod). */
    deletionProtection: z.boolean().default(false),
    /** HTTP desync mitigation; "monitor" is not accepted (Security Hub ELB.12). */
    desyncMitigation: z.enum(["defensive", "strictest"]).default("defensive"),
    /** Days to keep ALB access logs in their bucket. */
    accessLogDays: z.number().int().min(1).max(3650).default(90),
    /** Idle timeout in seconds. */
    idleTimeout: z.number().int().min(1).max(4000).default(60),
    /** AWS WAF on the load balancer: AWS managed rule groups plus a per-IP rate limit. */
    waf: z
        .strictObject({
            enabled: z.boolean().default(true),
            /** Requests one client IP may send in any 5 minutes before it is blocked (WAF's range 10–2,000,000,000). */
            rateLimitPer5Minutes: z.number().int().min(10).max(2_000_000_000).default(2000),
        })
        .prefault({}),
});

const alarmsSchema = z.strictObject({
    /** Optional e-mail subscribed to the stack's alarm topic (confirm the subscription mail). */
    email: z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an e-mail address` }).optional(),
    /** Target 5xx responses as a percentage of requests, over 5 minutes. */
    http5xxPercent: z.number().positive().max(100).default(5),
    /** Target response time p99, seconds. */
    p99LatencySeconds: z.number().positive().max(60).default(2),
    /** Service average CPU, percent. */
    cpuPercent: z.number().positive().max(100).default(85),
    /** Service average memory, percent. */
    memoryPercent: z.number().positive().max(100).default(85),
});

const deploymentSchema = z
    .strictObject({
        /**
         * ROLLING: replace tasks behind one target group (dev). CANARY / BLUE_GREEN:
         * ECS shifts traffic between two target groups and can roll back within the
         * bake time on the deployment alarms (prod).
         */
        strategy: z.enum(["ROLLING", "CANARY", "BLUE_GREEN"]).default("ROLLING"),
        /** Minutes the new revision runs with full traffic before the old one is removed. */
        bakeTimeMinutes: z.number().int().min(0).max(1440).default(10),
        /** CANARY: share of traffic sent to the new revision first; ECS takes steps of 0.1. */
        canaryPercent: z
            .number()
            .min(0.1)
            .max(100)
            .refine((p) => Math.abs(p * 10 - Math.round(p * 10)) < 1e-9, { error: (iss) => `${JSON.stringify(iss.input)} is not a multiple of 0.1 (ECS's step)` })
            .default(10),
        /**
         * The target group that serves traffic now: "blue" (the service's first
         * group) or "green" (its alternate). ROLLING uses only this group;
         * CANARY/BLUE_GREEN start from it. ECS moves traffic between the two on
         * every canary/blue-green deployment and Pulumi does not undo that, so
         * before switching strategy set this to the group that has the traffic
         * (README: "Switching deployment strategy").
         */
        liveTargetGroup: z.enum(["blue", "green"]).default("blue"),
        /** CANARY: minutes at canaryPercent before shifting the rest. */
        canaryBakeTimeMinutes: z.number().int().min(0).max(1440).default(5),
    });

const autoscalingSchema = z.strictObject({
    /** Target average CPU percent. */
    cpuTarget: z.number().min(10).max(95).default(60),
    /** Target ALB requests per task per minute. */
    requestsPerTarget: z.number().int().min(1).default(1000),
    /** Seconds after a scale-out before the next one. */
    scaleOutCooldown: z.number().int().min(0).max(3600).default(60),
    /** Seconds after a scale-in before the next one; longer than scale-out so capacity drains slowly. */
    scaleInCooldown: z.number().int().min(0).max(3600).default(300),
}).superRefine((a, ctx) => {
    if (a.scaleInCooldown <= a.scaleOutCooldown) {
        ctx.addIssue({ code: "custom", path: ["scaleInCooldown"], message: `${a.scaleInCooldown} must be longer than scaleOutCooldown ${a.scaleOutCooldown}` });
    }
});

const appSchema = z
    .strictObject({
        /** Public host name of the Django app; must sit inside dns.zoneName. */
        hostName: domainName,
        /** Container port gunicorn listens on. */
        port: z.number().int().min(1024).max(65535).default(8000),
        /** Readiness path the target group checks (checks the database). */
        healthCheckPath: z.string().regex(/^\/[A-Za-z0-9._~\/-]*$/, { error: (iss) => `${JSON.stringify(iss.input)} is not a URL path` }).default("/readyz"),
        /** Run on FARGATE_SPOT (needs cluster.fargateSpot). */
        spot: z.boolean().default(false),
        /**
         * ECS Exec (a shell in a running task through SSM). Off by default: it is a
         * way into production. When on, the root filesystem stays read-only and the
         * SSM agent gets writable volumes for its state and logs (README).
         */
        execCommand: z.boolean().default(false),
        deployment: deploymentSchema.prefault({}),
        autoscaling: autoscalingSchema.prefault({}),
        ...serviceSizing,
        cpu: serviceSizing.cpu.default(512),
        memory: serviceSizing.memory.default(1024),
        desiredCount: serviceSizing.desiredCount.default(2),
        minCount: serviceSizing.minCount.default(2),
        maxCount: serviceSizing.maxCount.default(4),
    })
    .superRefine(checkSizing);

const statefulSchema = z.strictObject({
    /** `protect` and deletion protection on databases, file systems and buckets. */
    protect: z.boolean().default(false),
});

/** Every `platform:<key>` section; the schema is the documentation of defaults (README mirrors it). */
const sectionsSchema = z
    .strictObject({
        network: networkSchema.prefault({}),
        logs: logsSchema.prefault({}),
        images: imagesSchema.prefault({}),
        cluster: clusterSchema.prefault({}),
        dns: dnsSchema,
        app: appSchema,
        loadBalancer: loadBalancerSchema.prefault({}),
        database: databaseSchema({ engineVersions: ["16", "17"], instanceClass: "db.t4g.micro", masterPasswordRotationDays: 7 }).prefault({}),
        gitlab: gitlabSchema,
        runner: runnerSchema.prefault({}),
        ci: ciSchema.prefault({}),
        alarms: alarmsSchema.prefault({}),
        stateful: statefulSchema.prefault({}),
    })
    .superRefine((c, ctx) => {
        if (c.app.spot && !c.cluster.fargateSpot) {
            ctx.addIssue({ code: "custom", path: ["app", "spot"], message: "true needs cluster.fargateSpot: true" });
        }
        if (c.app.spot && c.images.platform !== "linux/amd64") {
            ctx.addIssue({ code: "custom", path: ["app", "spot"], message: "Fargate Spot runs x86_64 only; images.platform must be linux/amd64" });
        }
        if (typeof c.app.maxCount === "number" && typeof c.app.cpu === "number" && typeof c.database?.instanceClass === "string") {
            // Every app task's workers keep their connections; a deployment doubles the tasks.
            const limit = rdsDefaultMaxConnections(c.database.instanceClass);
            const need = appConnections(c.app.maxCount, c.app.cpu) + RESERVED_CONNECTIONS;
            if (limit !== undefined && need > limit) {
                ctx.addIssue({
                    code: "custom",
                    path: ["app", "maxCount"],
                    message: `${c.app.maxCount} tasks can hold ${need - RESERVED_CONNECTIONS} database connections during a deployment (2 × tasks × workers × 2, plus ${RESERVED_CONNECTIONS} kept free), over the ${limit} of database.instanceClass ${c.database.instanceClass}: fewer tasks, fewer vCPUs per task, or a larger class`,
                });
            }
        }
        if (c.stateful.protect && c.alarms.email === undefined) {
            // A protected stack is one somebody depends on: its alarms must reach a person.
            ctx.addIssue({ code: "custom", path: ["alarms", "email"], message: "required when stateful.protect is true: alarms would notify a topic nobody reads" });
        }
        const zone = c.dns.zoneName;
        // Zod runs this even when a section above failed (and skipped its defaults):
        // every check below looks only at values that parsed.
        const hosts: [string[], string | undefined][] = [
            [["app", "hostName"], c.app.hostName],
            [["gitlab", "hostName"], c.gitlab?.hostName],
            [["gitlab", "registryHostName"], c.gitlab?.registryHostName],
            [["gitlab", "sshHostName"], c.gitlab?.sshHostName],
        ];
        for (const [path, host] of hosts) {
            if (typeof host !== "string" || typeof zone !== "string") {
                continue;
            }
            if (host !== zone && !host.endsWith(`.${zone}`)) {
                ctx.addIssue({ code: "custom", path, message: `${host} is not inside dns.zoneName ${zone}` });
            }
        }
        const seen = new Map<string, string>();
        for (const [path, host] of hosts) {
            if (typeof host !== "string") {
                continue;
            }
            const other = seen.get(host);
            if (other !== undefined) {
                ctx.addIssue({ code: "custom", path, message: `${host} is already used by ${other}; every service needs its own host name` });
            }
            seen.set(host, path.join("."));
        }
        if (c.gitlab?.spot && !c.cluster.fargateSpot) {
            ctx.addIssue({ code: "custom", path: ["gitlab", "spot"], message: "true needs cluster.fargateSpot: true" });
        }
        const g = c.gitlab;
        if (g?.topology === "split") {
            if (c.stateful.protect && typeof g.web?.minCount === "number" && g.web.minCount < 2) {
                // One web task is one outage per deployment, Spot reclaim or AZ failure.
                ctx.addIssue({ code: "custom", path: ["gitlab", "web", "minCount"], message: `${g.web.minCount} is below 2, the least a protected stack runs (one per AZ at least)` });
            }
            const gitaly = g.gitaly;
            if (gitaly?.storage === "ebs" && typeof gitaly.instanceType === "string") {
                const wanted = c.images.platform === "linux/arm64" ? "ARM64" : "X86_64";
                if (GITALY_INSTANCE_TYPES[gitaly.instanceType].arch !== wanted) {
                    ctx.addIssue({ code: "custom", path: ["gitlab", "gitaly", "instanceType"], message: `${gitaly.instanceType} cannot run the ${c.images.platform} image (images.platform)` });
                }
            }
            if (typeof gitaly?.availabilityZone === "number" && typeof c.network.availabilityZones === "number" && gitaly.availabilityZone >= c.network.availabilityZones) {
                ctx.addIssue({ code: "custom", path: ["gitlab", "gitaly", "availabilityZone"], message: `${gitaly.availabilityZone} is not one of the network's ${c.network.availabilityZones} AZs (0-based)` });
            }
            if (c.stateful.protect && g.redis?.multiAz === false) {
                ctx.addIssue({ code: "custom", path: ["gitlab", "redis", "multiAz"], message: "false in a protected stack: Sidekiq's queues and every session would be down with one node" });
            }
        }
        if (c.stateful.protect && typeof c.gitlab?.backup?.retentionDays === "number" && c.gitlab.backup.retentionDays < 30) {
            ctx.addIssue({ code: "custom", path: ["gitlab", "backup", "retentionDays"], message: `${c.gitlab.backup.retentionDays} is below 30, the least a protected stack keeps` });
        }
    });

export type Sections = z.infer<typeof sectionsSchema>;

export interface PlatformConfig extends Sections {
    readonly stack: string;
    readonly region: string;
}


/**
 * Raised for any invalid configuration; its message names the stack file and
 * the key path, one problem per line. A RunError because Pulumi's language
 * host prints those as their bare message (no stack trace, no object dump).
 * No field may be called `stack`: that would overwrite Error.stack, and the
 * host formats errors from their stack.
 */
export class ConfigError extends RunError {
    readonly stackName: string;
    readonly problems: readonly string[];

    constructor(stackName: string, problems: readonly string[]) {
        super(problems.map((p) => `${stackFile(stackName)}: ${p}`).join("\n"));
        this.name = "ConfigError";
        this.stackName = stackName;
        this.problems = problems;
    }
}

export function stackFile(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((k) => `${path ? `${path}.` : ""}${k}: unknown key`);
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && "input" in issue) {
        message = `expected ${issue.expected}, got ${JSON.stringify(issue.input)}`;
    }
    return [`${path || "(root)"}: ${message}`];
}

/**
 * Validates the raw config of one stack. `raw` maps full keys
 * (`platform:network`, `aws:region`, ...) to already-parsed values.
 * Pure: no Pulumi runtime needed, so it is unit-tested directly.
 */
export function parseConfig(raw: Readonly<Record<string, unknown>>, stack: string): PlatformConfig {
    const problems: string[] = [];
    const region = raw["aws:region"];
    if (typeof region !== "string" || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
        problems.push(`aws:region: ${JSON.stringify(region)} is not an AWS region (e.g. us-east-1)`);
    }
    // Stack names are part of every physical name and IAM pattern (`platform-prod-*`): with a
    // '-' in them, one stack's patterns would cover another's (prod and prod-eu).
    if (!/^[a-z0-9]{1,20}$/.test(stack)) {
        problems.push(`stack name ${JSON.stringify(stack)}: use 1-20 lower-case letters and digits (no '-': names and IAM scopes start with <project>-<stack>-)`);
    }
    const sections: Record<string, unknown> = {};
    const prefix = `${PROJECT}:`;
    for (const [key, value] of Object.entries(raw)) {
        if (key.startsWith(prefix)) {
            sections[key.slice(prefix.length)] = value;
        }
    }
    const parsed = sectionsSchema.safeParse(sections, { reportInput: true });
    if (!parsed.success) {
        problems.push(...parsed.error.issues.flatMap(formatIssue));
    }
    if (problems.length > 0 || !parsed.success) {
        throw new ConfigError(stack, problems);
    }
    return { ...parsed.data, stack, region: region as string };
}

/**
 * What is allowed but probably a mistake, as one line each naming the stack
 * file and key. The program logs them as Pulumi warnings; the plan prints them.
 */
export function configWarnings(c: PlatformConfig): string[] {
    const warnings: string[] = [];
    if (c.alarms.email === undefined) {
        warnings.push("alarms.email is unset: alarms notify an SNS topic with no subscriber");
    }
    return warnings.map((w) => `${stackFile(c.stack)}: ${w}`);
}

/**
 * Turns the engine's string-valued config into values: structured YAML values
 * arrive as JSON text. Plain strings that are not JSON stay strings.
 */
export function decodeConfigValues(all: Readonly<Record<string, string>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(all)) {
        try {
            out[key] = JSON.parse(text);
        } catch {
            out[key] = text;
        }
    }
    return out;
}
