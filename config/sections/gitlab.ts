import { z } from "zod";
import { cidrBlock, checkFargateSize, domainName, invalid, isTimeZone, quoted, serviceSizing } from "../shapes";
import { GITALY_INSTANCE_TYPES, GitalyInstanceType, instanceCpuUnits, taskMemoryLimit, TOO_SMALL_FOR_GITLAB_REDIS } from "../../components/gitlab/facts";
import { ClusterConfig } from "./cluster";
import { databaseSchema } from "./database";
import { gitlabConnectionRules } from "./gitlabBudget";
import { ImagesConfig } from "./images";
import { NetworkConfig } from "./network";
import { StatefulConfig } from "./stateful";
import { emailDefaults, emailSchema } from "./gitlabEmail";

/** The `platform:gitlab` section: both topologies' keys, their defaults and their checks within the section. */

/** The smallest Gitaly data volume: repositories plus the free space a repack of the largest one needs (about its size again). */
export const GITALY_MIN_VOLUME_GB = 50;

/**
 * The gp3 limits checked here: EC2's ratio of 0.25 MiB/s per provisioned IOPS,
 * and the long-standing maxima (AWS raised them in 2025 to 80,000 IOPS, 2,000
 * MiB/s and 64 TiB; the provider bundled with @pulumi/aws 7.48 may still
 * validate the old ones). 500 IOPS per GiB cannot bind above the 50 GiB floor.
 */
export const GP3 = { minIops: 3000, maxIops: 16000, minThroughput: 125, maxThroughput: 1000, throughputPerIops: 0.25, maxSizeGb: 16384 } as const;

/** The single topology's one task when gitlab.cpu and gitlab.memory are unset. */
const GITLAB_DEFAULT_SIZE = { cpu: 4096, memory: 8192 } as const;

/** One stateless tier of the split topology: its Fargate size and its autoscaling range and targets. */
function tierShape(d: { cpu: number; memory: number; minCpu: number; minMemory: number; minCount: number; maxCount: number; what: string }) {
    return {
        /** Fargate CPU units per task. */
        cpu: serviceSizing.cpu.refine((c) => c >= d.minCpu, { error: quoted((input) => `${input} is below the ${d.what} minimum of ${d.minCpu}`) }).default(d.cpu),
        /** Fargate memory MiB per task. */
        memory: z.number().int().min(d.minMemory, { error: quoted((input) => `${input} is below the ${d.what} minimum of ${d.minMemory} MiB`) }).default(d.memory),
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
            .literal(1, { error: quoted((input) => `${input} Gitaly servers: a repository storage has exactly one Gitaly (more needs Gitaly Cluster, which this program does not build)`) })
            .default(1),
        /**
         * ebs: one EC2 instance with an encrypted gp3 volume (GitLab's supported
         * layout). efs: a Fargate task on EFS (seed 000's design; GitLab does not
         * support network file systems for repositories, README).
         */
        storage: z.enum(["ebs", "efs"], { error: invalid("a Gitaly storage kind (ebs, efs)") }).default("ebs"),
        /** ebs: the instance type (x86 or Graviton, matching images.platform). */
        instanceType: z
            .enum(Object.keys(GITALY_INSTANCE_TYPES) as [GitalyInstanceType, ...GitalyInstanceType[]], {
                error: invalid(`a Gitaly instance type (${Object.keys(GITALY_INSTANCE_TYPES).join(", ")})`),
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
                    .min(GITALY_MIN_VOLUME_GB, { error: quoted((input) => `${input} GiB is below the Gitaly volume floor of ${GITALY_MIN_VOLUME_GB} GiB (repositories plus room to repack the largest)`) })
                    .max(GP3.maxSizeGb)
                    .default(100),
                /** Provisioned IOPS (gp3: 3000 included). */
                iops: z.number().int().min(GP3.minIops).max(GP3.maxIops).default(GP3.minIops),
                /** Provisioned MiB/s (gp3: 125 included). */
                throughputMibps: z.number().int().min(GP3.minThroughput).max(GP3.maxThroughput).default(GP3.minThroughput),
                /** Restore: create the volume from this snapshot (README: "An AZ outage, and restoring Gitaly from a snapshot"). */
                snapshotId: z
                    .string()
                    .regex(/^snap-[0-9a-f]{8}([0-9a-f]{9})?$/, { error: invalid("an EBS snapshot id (snap-…)") })
                    .optional(),
                /**
                 * stack: a KMS key of the stack's own (new stacks). accountDefault: the account's
                 * default EBS key, for a volume made before the stack key (a key never changes in
                 * place; README: "The Gitaly volume's key").
                 */
                encryptionKey: z.enum(["stack", "accountDefault"]).default("stack"),
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
    engineVersion: z.enum(["7.2", "8.0", "8.1"], { error: invalid("a supported Valkey version (7.2, 8.0, 8.1)") }).default("7.2"),
    /** Node type; GitLab's AWS guide asks for medium or larger. */
    nodeType: z
        .string()
        .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, { error: invalid("an ElastiCache node type (cache.<family>.<size>)") })
        .refine((t) => !TOO_SMALL_FOR_GITLAB_REDIS.includes(t.split(".")[2]), { error: quoted((input) => `${input} is below GitLab's floor for Redis: use cache.t4g.medium or larger`) })
        .default("cache.t4g.medium"),
    /** A replica in another AZ with automatic failover (prod). */
    multiAz: z.boolean().default(false),
    /** Days of daily snapshots (Sidekiq's queues live here); 0 turns them off. */
    snapshotRetentionDays: z.number().int().min(0).max(35).default(1),
});

export const gitlabSchema = z
    .strictObject({
        /**
         * single: one Omnibus task holds everything (repositories on EFS); dev.
         * split: web and Sidekiq tiers on Fargate that autoscale, one Gitaly on
         * block storage, ElastiCache, migrations once per deploy; prod.
         */
        topology: z.enum(["single", "split"], { error: invalid("a GitLab topology (single, split)") }).default("single"),
        /** GitLab's web host name (HTTPS through the shared ALB); inside dns.zoneName. */
        hostName: domainName,
        /** The container registry's host name (HTTPS through the ALB). Defaults to registry.<hostName>. */
        registryHostName: domainName.optional(),
        /** Where `git clone git@<sshHostName>:...` goes (TCP 22 through an NLB). Defaults to ssh.<hostName>. */
        sshHostName: domainName.optional(),
        /** single: Fargate CPU units of the one task; GitLab needs at least 4 vCPU. Default 4096. */
        cpu: serviceSizing.cpu.refine((c) => c >= 4096, { error: quoted((input) => `${input} is below GitLab's minimum of 4096 (4 vCPU)`) }).optional(),
        /** single: Fargate memory MiB of the one task; GitLab needs at least 8 GB in its memory-constrained setup. Default 8192. */
        memory: z.number().int().min(8192, { error: quoted((input) => `${input} is below GitLab's minimum of 8192 MiB (8 GB)`) }).optional(),
        /** Task-local disk in GiB (21–200) of every GitLab task: logs, temp files and the Omnibus image itself. */
        ephemeralStorageGb: z.number().int().min(21).max(200).default(50),
        /** Run GitLab's Fargate tasks on FARGATE_SPOT (dev): a reclaimed task means minutes of downtime. Needs cluster.fargateSpot. */
        spot: z.boolean().default(false),
        /** ECS Exec into GitLab's tasks (gitlab-rails console, gitlab-ctl). */
        execCommand: z.boolean().default(false),
        /**
         * The container registry's metadata database. on: the registry keeps its
         * metadata in PostgreSQL, with online garbage collection. import: the
         * database exists and is configured but unused, the state an existing
         * registry's import starts from (README: "Container registry").
         */
        registryDatabase: z.enum(["on", "import"], { error: invalid("a registry database mode (on, import)") }).default("on"),
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
                time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: invalid("a time of day (HH:MM)") }).default("02:30"),
                /** IANA time zone of `time`. */
                timezone: z.string().refine(isTimeZone, { error: invalid("an IANA time zone (e.g. UTC, Europe/Berlin)") }).default("UTC"),
                /** Days to keep backup archives in S3 and repository storage recovery points in AWS Backup. */
                retentionDays: z.number().int().min(1).max(3650).default(7),
            })
            .prefault({}),
        /** Sign-in through an OpenID Connect provider (seed 000's external authentication). */
        oidc: z
            .strictObject({
                /** The provider's issuer URL (its /.well-known/openid-configuration is discovered). */
                issuer: z.url({ protocol: /^https$/, error: invalid("an https URL") }),
                clientId: z.string().min(1),
                /** A Secrets Manager secret whose whole value is the client secret (created outside this program). */
                clientSecretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, {
                    error: invalid("a Secrets Manager secret ARN"),
                }),
                /** The sign-in button's text. */
                label: z.string().min(1).default("Single sign-on"),
                /** New users from the provider wait for an administrator's approval. */
                blockAutoCreatedUsers: z.boolean().default(true),
            })
            .optional(),
        /** Outgoing mail (gitlabEmail.ts): ses (default), smtp (another relay) or none. */
        email: emailSchema,
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
    // Each topology gets only its own keys, so code that reads gitlab.web has first asked for the split topology.
    .transform(({ cpu, memory, web, sidekiq, gitaly, redis, ...g }) => {
        const common = { ...g, registryHostName: g.registryHostName ?? `registry.${g.hostName}`, sshHostName: g.sshHostName ?? `ssh.${g.hostName}`, email: emailDefaults(g.email, g.hostName) };
        return g.topology === "split"
            ? { ...common, topology: "split" as const, web, sidekiq, gitaly, redis }
            : { ...common, topology: "single" as const, cpu: cpu ?? GITLAB_DEFAULT_SIZE.cpu, memory: memory ?? GITLAB_DEFAULT_SIZE.memory };
    });

export type GitLabConfig = z.output<typeof gitlabSchema>;

/** What GitLab asks of other sections: Spot capacity, an AZ and an image its Gitaly can run, and a protected stack's floors. */
export function gitlabRules(c: { gitlab: GitLabConfig; cluster: ClusterConfig; images: ImagesConfig; network: NetworkConfig; stateful: StatefulConfig }, ctx: z.RefinementCtx): void {
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
    gitlabConnectionRules(c, ctx);
    if (c.stateful.protect && typeof c.gitlab?.backup?.retentionDays === "number" && c.gitlab.backup.retentionDays < 30) {
        ctx.addIssue({ code: "custom", path: ["gitlab", "backup", "retentionDays"], message: `${c.gitlab.backup.retentionDays} is below 30, the least a protected stack keeps` });
    }
}
