import { RunError } from "@pulumi/pulumi";
import { z } from "zod";
import { addressesPerAz, azBlockPrefix, isNetworkAddress, isPrivate, MAX_AZS, parseCidr } from "./cidr";
import { GITALY_INSTANCE_TYPES, GitalyInstanceType, instanceCpuUnits, taskMemoryLimit } from "./ec2";
import { describeMemoryOptions, FARGATE_CPU_SIZES, fargateMemoryOptions, isFargateSize } from "./fargate";

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

const HOSTNAME_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** RFC 1123 host name with at least two labels, lower case, no trailing dot. */
export function isDomainName(s: string): boolean {
    if (s.length > 253) {
        return false;
    }
    const labels = s.split(".");
    return labels.length >= 2 && labels.every((l) => HOSTNAME_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}

const domainName = z.string().refine(isDomainName, {
    error: (iss) => `${JSON.stringify(iss.input)} is not a valid domain name (lower-case labels of a-z, 0-9 and '-', at least two)`,
});

const nonNegativeInt = z.number().int().min(0);

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

/** RDS instance sizes too small for GitLab: it needs at least 400 connections (GitLab's PostgreSQL tuning guide). */
const TOO_SMALL_FOR_GITLAB = ["nano", "micro", "small"];

const RDS_INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;

/** The keys of an RDS PostgreSQL instance; the app's and GitLab's differ only in defaults and limits. */
function databaseSchema(defaults: { engineVersions: readonly [string, ...string[]]; instanceClass: string; minimumForGitLab?: boolean }) {
    return z
        .strictObject({
            /** PostgreSQL major version (RDS). */
            engineVersion: z.enum(defaults.engineVersions, {
                error: (iss) => `${JSON.stringify(iss.input)} is not a supported PostgreSQL major version (${defaults.engineVersions.join(", ")})`,
            }).default(defaults.engineVersions[defaults.engineVersions.length - 1]),
            /** RDS instance class; burstable t4g is fine for dev, use m/r classes for steady prod load. */
            instanceClass: z
                .string()
                .regex(RDS_INSTANCE_CLASS, { error: (iss) => `${JSON.stringify(iss.input)} is not an RDS instance class (db.t4g.micro, ...)` })
                .refine((c) => !defaults.minimumForGitLab || !TOO_SMALL_FOR_GITLAB.includes(c.split(".")[2]), {
                    error: (iss) => `${JSON.stringify(iss.input)} is too small for GitLab (it needs at least 400 connections): use db.t4g.medium or larger`,
                })
                .default(defaults.instanceClass),
            /** Initial storage in GiB (gp3). */
            allocatedStorageGb: z.number().int().min(20).max(65536).default(20),
            /** Storage autoscaling ceiling in GiB; must be ≥ allocatedStorageGb. */
            maxAllocatedStorageGb: z.number().int().min(20).max(65536).default(100),
            /** Standby in a second AZ. */
            multiAz: z.boolean().default(false),
            /** Automated backup retention; 0 is refused (it disables backups). */
            backupRetentionDays: z.number().int().min(1).max(35).default(7),
            /** Performance Insights (7 days free retention). */
            performanceInsights: z.boolean().default(false),
            /** Enhanced Monitoring (OS metrics) every N seconds; 0 turns it off (Security Hub RDS.6 wants it on). */
            monitoringIntervalSeconds: z
                .literal([0, 1, 5, 10, 15, 30, 60], {
                    error: (iss) => `${JSON.stringify(iss.input)} is not an RDS monitoring interval (0, 1, 5, 10, 15, 30, 60)`,
                })
                .default(60),
        })
        .superRefine((d, ctx) => {
            if (d.maxAllocatedStorageGb < d.allocatedStorageGb) {
                ctx.addIssue({ code: "custom", path: ["maxAllocatedStorageGb"], message: `${d.maxAllocatedStorageGb} is below allocatedStorageGb ${d.allocatedStorageGb}` });
            }
        });
}

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

const serviceSizing = {
    /** Fargate CPU units. */
    cpu: z.number().refine((v) => FARGATE_CPU_SIZES.includes(v), {
        error: (iss) => `${JSON.stringify(iss.input)} is not a Fargate CPU size (${FARGATE_CPU_SIZES.join(", ")})`,
    }),
    /** Fargate memory MiB; must pair with cpu on the Fargate table. */
    memory: z.number().int().positive(),
    /** Tasks at rest. */
    desiredCount: nonNegativeInt,
    /** Autoscaling floor. */
    minCount: nonNegativeInt,
    /** Autoscaling ceiling. */
    maxCount: nonNegativeInt,
};

/** memory must pair with cpu on the Fargate table (an unknown cpu is reported by its own check). */
function checkFargateSize(s: { cpu: number; memory: number }, ctx: z.RefinementCtx): void {
    if (fargateMemoryOptions(s.cpu).length > 0 && !isFargateSize(s.cpu, s.memory)) {
        ctx.addIssue({
            code: "custom",
            path: ["memory"],
            message: `${s.memory} MiB does not pair with cpu ${s.cpu} on Fargate (allowed: ${describeMemoryOptions(s.cpu)})`,
        });
    }
}

function checkSizing(s: { cpu: number; memory: number; minCount: number; desiredCount: number; maxCount: number }, ctx: z.RefinementCtx): void {
    checkFargateSize(s, ctx);
    if (!(s.minCount <= s.desiredCount && s.desiredCount <= s.maxCount)) {
        ctx.addIssue({
            code: "custom",
            path: ["desiredCount"],
            message: `need minCount ≤ desiredCount ≤ maxCount, got ${s.minCount} ≤ ${s.desiredCount} ≤ ${s.maxCount}`,
        });
    }
}

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

/** A CIDR written as its network address, e.g. 203.0.113.0/24 or 0.0.0.0/0. */
const cidrBlock = z.string().refine((v) => {
    const c = parseCidr(v);
    return c !== undefined && isNetworkAddress(c);
}, { error: (iss) => `${JSON.stringify(iss.input)} is not an IPv4 CIDR network address (a.b.c.d/prefix)` });

/** IANA time zones EventBridge Scheduler accepts, as this Node.js knows them. */
function isTimeZone(tz: string): boolean {
    return tz === "UTC" || Intl.supportedValuesOf("timeZone").includes(tz);
}

/** The smallest Gitaly data volume: repositories plus the free space a repack of the largest one needs (about its size again). */
export const GITALY_MIN_VOLUME_GB = 50;

/**
 * The gp3 limits checked here: EC2's ratio of 0.25 MiB/s per provisioned IOPS,
 * and the long-standing maxima (AWS raised them in 2025 to 80,000 IOPS, 2,000
 * MiB/s and 64 TiB; the provider bundled with @pulumi/aws 7.48 may still
 * validate the old ones). 500 IOPS per GiB cannot bind above the 50 GiB floor.
 */
export const GP3 = { minIops: 3000, maxIops: 16000, minThroughput: 125, maxThroughput: 1000, throughputPerIops: 0.25, maxSizeGb: 16384 } as const;

/** ElastiCache node sizes below GitLab's AWS guide (cache.t3.medium or larger). */
const TOO_SMALL_FOR_GITLAB_REDIS = ["micro", "small"];

const GITLAB_DEFAULT_SIZE = { cpu: 4096, memory: 8192 } as const;

/** One stateless tier of the split topology: its Fargate size and its autoscaling range and targets. */
function tierShape(d: { cpu: number; memory: number; minCpu: number; minMemory: number; minCount: number; maxCount: number; what: string }) {
    return {
        /** Fargate CPU units per task. */
        cpu: serviceSizing.cpu.refine((c) => c >= d.minCpu, { error: (iss) => `${JSON.stringify(iss.input)} is below the ${d.what} minimum of ${d.minCpu}` }).default(d.cpu),
        /** Fargate memory MiB per task. */
        memory: z.number().int().min(d.minMemory, { error: (iss) => `${JSON.stringify(iss.input)} is below the ${d.what} minimum of ${d.minMemory} MiB` }).default(d.memory),
        /** Autoscaling floor. */
        minCount: z.number().int().min(1).default(d.minCount),
        /** Autoscaling ceiling. */
        maxCount: z.number().int().min(1).max(50).default(d.maxCount),
        /** Target average CPU percent. */
        cpuTarget: z.number().min(10).max(95).default(60),
    };
}

function checkTier(t: { cpu: number; memory: number; minCount: number; maxCount: number }, ctx: z.RefinementCtx): void {
    checkFargateSize(t, ctx);
    if (t.minCount > t.maxCount) {
        ctx.addIssue({ code: "custom", path: ["maxCount"], message: `${t.maxCount} is below minCount ${t.minCount}` });
    }
}

const webTierSchema = z
    .strictObject({
        ...tierShape({ cpu: 4096, memory: 8192, minCpu: 2048, minMemory: 4096, minCount: 2, maxCount: 6, what: "web tier" }),
        /** Target average memory percent (Puma workers grow until they are recycled). */
        memoryTarget: z.number().min(10).max(95).default(75),
    })
    .superRefine(checkTier);

const sidekiqTierSchema = z.strictObject(tierShape({ cpu: 2048, memory: 4096, minCpu: 1024, minMemory: 2048, minCount: 1, maxCount: 4, what: "Sidekiq tier" })).superRefine(checkTier);

const gitalySchema = z
    .strictObject({
        /**
         * How many Gitaly servers: exactly one. Each repository storage has one
         * writer; more than one needs Gitaly Cluster (Praefect) and its own
         * database, which this program does not build.
         */
        count: z
            .literal(1, { error: (iss) => `${JSON.stringify(iss.input)} Gitaly servers: a repository storage has exactly one Gitaly (more needs Gitaly Cluster, which this program does not build)` })
            .default(1),
        /**
         * ebs: one EC2 instance with an encrypted gp3 volume (GitLab's supported
         * layout). efs: a Fargate task on EFS (seed 000's design; GitLab does not
         * support network file systems for repositories, README).
         */
        storage: z.enum(["ebs", "efs"], { error: (iss) => `${JSON.stringify(iss.input)} is not a Gitaly storage kind (ebs, efs)` }).default("ebs"),
        /** ebs: the instance type (x86 or Graviton, matching images.platform). */
        instanceType: z
            .enum(Object.keys(GITALY_INSTANCE_TYPES) as [GitalyInstanceType, ...GitalyInstanceType[]], {
                error: (iss) => `${JSON.stringify(iss.input)} is not a Gitaly instance type (${Object.keys(GITALY_INSTANCE_TYPES).join(", ")})`,
            })
            .default("m7i.large"),
        /** CPU units of the Gitaly task (ebs: at most the instance's; efs: a Fargate size). */
        cpu: z.number().int().min(1024).default(2048),
        /** Memory MiB of the Gitaly task (ebs: at most the instance's less 1 GiB; efs: pairs with cpu on Fargate). */
        memory: z.number().int().min(4096).default(7168),
        /** Which of the network's AZs (0-based) holds the volume and the instance. */
        availabilityZone: z.number().int().min(0).default(0),
        volume: z
            .strictObject({
                /** GiB; EBS volumes only grow (README). */
                sizeGb: z
                    .number()
                    .int()
                    .min(GITALY_MIN_VOLUME_GB, { error: (iss) => `${JSON.stringify(iss.input)} GiB is below the Gitaly volume floor of ${GITALY_MIN_VOLUME_GB} GiB (repositories plus room to repack the largest)` })
                    .max(GP3.maxSizeGb)
                    .default(100),
                /** Provisioned IOPS (gp3: 3000 included). */
                iops: z.number().int().min(GP3.minIops).max(GP3.maxIops).default(GP3.minIops),
                /** Provisioned MiB/s (gp3: 125 included). */
                throughputMibps: z.number().int().min(GP3.minThroughput).max(GP3.maxThroughput).default(GP3.minThroughput),
                /** Restore: create the volume from this snapshot (README: "An AZ outage, and restoring Gitaly from a snapshot"). */
                snapshotId: z
                    .string()
                    .regex(/^snap-[0-9a-f]{8}([0-9a-f]{9})?$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an EBS snapshot id (snap-…)` })
                    .optional(),
            })
            .superRefine((v, ctx) => {
                if (v.throughputMibps > v.iops * GP3.throughputPerIops) {
                    ctx.addIssue({ code: "custom", path: ["throughputMibps"], message: `${v.throughputMibps} exceeds gp3's ${GP3.throughputPerIops} MiB/s per provisioned IOPS (${v.iops} IOPS)` });
                }
            })
            .prefault({}),
    })
    .superRefine((g, ctx) => {
        if (g.storage === "ebs") {
            const limit = taskMemoryLimit(g.instanceType);
            if (g.memory > limit) {
                ctx.addIssue({ code: "custom", path: ["memory"], message: `${g.memory} MiB does not fit ${g.instanceType} (at most ${limit} MiB)` });
            }
            if (g.cpu > instanceCpuUnits(g.instanceType)) {
                ctx.addIssue({ code: "custom", path: ["cpu"], message: `${g.cpu} is more than ${g.instanceType} has (${instanceCpuUnits(g.instanceType)})` });
            }
        } else {
            checkFargateSize(g, ctx);
        }
    });

const redisSchema = z.strictObject({
    /** ElastiCache for Valkey major.minor; GitLab supports Valkey 7.2 and later. */
    engineVersion: z.enum(["7.2", "8.0", "8.1"], { error: (iss) => `${JSON.stringify(iss.input)} is not a supported Valkey version (7.2, 8.0, 8.1)` }).default("7.2"),
    /** Node type; GitLab's AWS guide asks for medium or larger. */
    nodeType: z
        .string()
        .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an ElastiCache node type (cache.<family>.<size>)` })
        .refine((t) => !TOO_SMALL_FOR_GITLAB_REDIS.includes(t.split(".")[2]), { error: (iss) => `${JSON.stringify(iss.input)} is below GitLab's floor for Redis: use cache.t4g.medium or larger` })
        .default("cache.t4g.medium"),
    /** A replica in another AZ with automatic failover (prod). */
    multiAz: z.boolean().default(false),
    /** Days of daily snapshots (Sidekiq's queues live here); 0 turns them off. */
    snapshotRetentionDays: z.number().int().min(0).max(35).default(1),
});

const gitlabSchema = z
    .strictObject({
        /**
         * single: one Omnibus task holds everything (repositories on EFS); dev.
         * split: web and Sidekiq tiers on Fargate that autoscale, one Gitaly on
         * block storage, ElastiCache, migrations once per deploy; prod.
         */
        topology: z.enum(["single", "split"], { error: (iss) => `${JSON.stringify(iss.input)} is not a GitLab topology (single, split)` }).default("single"),
        /** GitLab's web host name (HTTPS through the shared ALB); inside dns.zoneName. */
        hostName: domainName,
        /** The container registry's host name (HTTPS through the ALB). Defaults to registry.<hostName>. */
        registryHostName: domainName.optional(),
        /** Where `git clone git@<sshHostName>:...` goes (TCP 22 through an NLB). Defaults to ssh.<hostName>. */
        sshHostName: domainName.optional(),
        /** single: Fargate CPU units of the one task; GitLab needs at least 4 vCPU. Default 4096. */
        cpu: serviceSizing.cpu.refine((c) => c >= 4096, { error: (iss) => `${JSON.stringify(iss.input)} is below GitLab's minimum of 4096 (4 vCPU)` }).optional(),
        /** single: Fargate memory MiB of the one task; GitLab needs at least 8 GB in its memory-constrained setup. Default 8192. */
        memory: z.number().int().min(8192, { error: (iss) => `${JSON.stringify(iss.input)} is below GitLab's minimum of 8192 MiB (8 GB)` }).optional(),
        /** Task-local disk in GiB (21–200) of every GitLab task: logs, temp files and the Omnibus image itself. */
        ephemeralStorageGb: z.number().int().min(21).max(200).default(50),
        /** Run GitLab's Fargate tasks on FARGATE_SPOT (dev): a reclaimed task means minutes of downtime. Needs cluster.fargateSpot. */
        spot: z.boolean().default(false),
        /** ECS Exec into GitLab's tasks (gitlab-rails console, gitlab-ctl). */
        execCommand: z.boolean().default(false),
        ssh: z
            .strictObject({
                /** Who may reach git over SSH (the NLB's security group). Default: anyone, as for the HTTPS side (README). */
                allowedCidrs: z.array(cidrBlock).min(1).default(["0.0.0.0/0"]),
            })
            .prefault({}),
        /** GitLab's own PostgreSQL 17 (not the app's instance). */
        database: databaseSchema({ engineVersions: ["17"], instanceClass: "db.t4g.medium", minimumForGitLab: true }).prefault({}),
        efs: z
            .strictObject({
                /** elastic: pay per use, no burst credits to run out; bursting: throughput grows with stored size. */
                throughputMode: z.enum(["elastic", "bursting"]).default("elastic"),
            })
            .prefault({}),
        /** split: Puma, Workhorse, NGINX, the registry and sshd; scales on CPU and memory. */
        web: webTierSchema.prefault({}),
        /** split: Sidekiq; scales on CPU. */
        sidekiq: sidekiqTierSchema.prefault({}),
        /** split: the one Gitaly server. */
        gitaly: gitalySchema.prefault({}),
        /** split: ElastiCache for Valkey (cluster mode disabled). */
        redis: redisSchema.prefault({}),
        backup: z
            .strictObject({
                /** Local time (HH:MM, 24 h) of the daily `gitlab-backup create`; the repository storage snapshot runs an hour later. */
                time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: (iss) => `${JSON.stringify(iss.input)} is not a time of day (HH:MM)` }).default("02:30"),
                /** IANA time zone of `time`. */
                timezone: z.string().refine(isTimeZone, { error: (iss) => `${JSON.stringify(iss.input)} is not an IANA time zone (e.g. UTC, Europe/Berlin)` }).default("UTC"),
                /** Days to keep backup archives in S3 and repository storage recovery points in AWS Backup. */
                retentionDays: z.number().int().min(1).max(3650).default(7),
            })
            .prefault({}),
        /** Sign-in through an OpenID Connect provider (seed 000's external authentication). */
        oidc: z
            .strictObject({
                /** The provider's issuer URL (its /.well-known/openid-configuration is discovered). */
                issuer: z.url({ protocol: /^https$/, error: (iss) => `${JSON.stringify(iss.input)} is not an https URL` }),
                clientId: z.string().min(1),
                /** A Secrets Manager secret whose whole value is the client secret (created outside this program). */
                clientSecretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, {
                    error: (iss) => `${JSON.stringify(iss.input)} is not a Secrets Manager secret ARN`,
                }),
                /** The sign-in button's text. */
                label: z.string().min(1).default("Single sign-on"),
                /** New users from the provider wait for an administrator's approval. */
                blockAutoCreatedUsers: z.boolean().default(true),
            })
            .optional(),
    })
    .superRefine((g, ctx) => {
        if (g.topology === "split") {
            for (const key of ["cpu", "memory"] as const) {
                if (g[key] !== undefined) {
                    ctx.addIssue({ code: "custom", path: [key], message: `sizes the single topology's one task; split sizes gitlab.web, gitlab.sidekiq and gitlab.gitaly` });
                }
            }
        } else {
            checkFargateSize({ cpu: g.cpu ?? GITLAB_DEFAULT_SIZE.cpu, memory: g.memory ?? GITLAB_DEFAULT_SIZE.memory }, ctx);
        }
    })
    .transform((g) => ({
        ...g,
        cpu: g.cpu ?? GITLAB_DEFAULT_SIZE.cpu,
        memory: g.memory ?? GITLAB_DEFAULT_SIZE.memory,
        registryHostName: g.registryHostName ?? `registry.${g.hostName}`,
        sshHostName: g.sshHostName ?? `ssh.${g.hostName}`,
    }));

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
        database: databaseSchema({ engineVersions: ["16", "17"], instanceClass: "db.t4g.micro" }).prefault({}),
        gitlab: gitlabSchema,
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
