import { z } from "zod";
import { cidrBlock, checkFargateSize, domainName, invalid, isTimeZone, quoted, serviceSizing } from "../shapes";
import { GITALY_INSTANCE_TYPES, GitalyInstanceType, instanceCpuUnits, RESTORE_HOLD_SECONDS, taskMemoryLimit, TOO_SMALL_FOR_GITLAB_REDIS } from "../../components/gitlab/facts";
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

/** The split topology's keys: the single topology checks them and uses none (gitlab.topology's description says so). */
const SPLIT = "split only";

/** One stateless tier of the split topology: its Fargate size and its autoscaling range and targets. */
function tierShape(d: { cpu: number; memory: number; minCpu: number; minMemory: number; minCount: number; maxCount: number; what: string; minCountRule?: string }) {
    return {
        cpu: serviceSizing.cpu
            .refine((c) => c >= d.minCpu, { error: quoted((input) => `${input} is below the ${d.what} minimum of ${d.minCpu}`) })
            .default(d.cpu)
            .describe(`${SPLIT}: Fargate CPU units per ${d.what} task, at least ${d.minCpu}.`),
        memory: z
            .number()
            .int()
            .min(d.minMemory, { error: quoted((input) => `${input} is below the ${d.what} minimum of ${d.minMemory} MiB`) })
            .default(d.memory)
            .describe(`${SPLIT}: Fargate memory MiB per ${d.what} task, at least ${d.minMemory}; a valid pair with cpu on the AWS Fargate table.`),
        minCount: z
            .number()
            .int()
            .min(1)
            .default(d.minCount)
            .describe(`${SPLIT}: autoscaling floor, at most maxCount${d.minCountRule ?? ""}.`),
        maxCount: z
            .number()
            .int()
            .min(1)
            .max(50)
            .default(d.maxCount)
            .describe(
                `${SPLIT}: autoscaling ceiling. The connections the web and Sidekiq tasks can hold at their ceilings through a deployment must fit gitlab.database.instanceClass (docs/decisions/gitlab.md).`,
            ),
        cpuTarget: z.number().min(10).max(95).default(60).describe(`${SPLIT}: target average CPU percent.`),
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
        ...tierShape({ cpu: 4096, memory: 8192, minCpu: 2048, minMemory: 4096, minCount: 2, maxCount: 6, what: "web tier", minCountRule: "; at least 2 when stateful.protect is true" }),
        memoryTarget: z.number().min(10).max(95).default(75).describe(`${SPLIT}: target average memory percent (Puma workers grow until they are recycled).`),
    })
    .superRefine(checkTier);

const sidekiqTierSchema = z.strictObject(tierShape({ cpu: 2048, memory: 4096, minCpu: 1024, minMemory: 2048, minCount: 1, maxCount: 4, what: "Sidekiq tier" })).superRefine(checkTier);

const gitalySchema = z
    .strictObject({
        // Each repository storage has one writer; more than one needs Gitaly Cluster (Praefect) and its own database.
        count: z
            .literal(1, { error: quoted((input) => `${input} Gitaly servers: a repository storage has exactly one Gitaly (more needs Gitaly Cluster, which this program does not build)`) })
            .default(1)
            .describe(`${SPLIT}: how many Gitaly servers: 1 only (more needs Gitaly Cluster, which this program does not build).`),
        // efs was seed 000's design.
        storage: z
            .enum(["ebs", "efs"], { error: invalid("a Gitaly storage kind (ebs, efs)") })
            .default("ebs")
            .describe(
                `${SPLIT}: ebs: one EC2 instance with an encrypted gp3 volume (GitLab's supported layout). efs: a Fargate task on EFS, which GitLab does not support for repositories (docs/decisions/gitlab-split.md).`,
            ),
        instanceType: z
            .enum(Object.keys(GITALY_INSTANCE_TYPES) as [GitalyInstanceType, ...GitalyInstanceType[]], {
                error: invalid(`a Gitaly instance type (${Object.keys(GITALY_INSTANCE_TYPES).join(", ")})`),
            })
            .default("m7i.large")
            .describe(`${SPLIT}, ebs: the Gitaly instance type, x86 or Graviton, matching images.platform.`),
        cpu: z
            .number()
            .int()
            .min(1024)
            .default(2048)
            .describe(`${SPLIT}: CPU units of the Gitaly task; ebs: at most the instance's; efs: a Fargate size.`),
        memory: z
            .number()
            .int()
            .min(4096)
            .default(7168)
            .describe(`${SPLIT}: memory MiB of the Gitaly task; ebs: at most the instance's less 1 GiB; efs: a valid pair with cpu on the AWS Fargate table.`),
        availabilityZone: z
            .number()
            .int()
            .min(0)
            .default(0)
            .describe(`${SPLIT}, ebs: which of the network's AZs (0-based, below network.availabilityZones) holds the volume and the instance.`),
        volume: z
            .strictObject({
                sizeGb: z
                    .number()
                    .int()
                    .min(GITALY_MIN_VOLUME_GB, { error: quoted((input) => `${input} GiB is below the Gitaly volume floor of ${GITALY_MIN_VOLUME_GB} GiB (repositories plus room to repack the largest)`) })
                    .max(GP3.maxSizeGb)
                    .default(100)
                    .describe(
                        `${SPLIT}, ebs: GiB, at least ${GITALY_MIN_VOLUME_GB} (repositories plus room to repack the largest); grow only, EBS volumes never shrink (docs/operations/gitaly-host-patching.md).`,
                    ),
                iops: z
                    .number()
                    .int()
                    .min(GP3.minIops)
                    .max(GP3.maxIops)
                    .default(GP3.minIops)
                    .describe(`${SPLIT}, ebs: provisioned IOPS (gp3: ${GP3.minIops} included).`),
                throughputMibps: z
                    .number()
                    .int()
                    .min(GP3.minThroughput)
                    .max(GP3.maxThroughput)
                    .default(GP3.minThroughput)
                    .describe(`${SPLIT}, ebs: provisioned MiB/s (gp3: ${GP3.minThroughput} included), at most ${GP3.throughputPerIops} MiB/s per provisioned IOPS.`),
                snapshotId: z
                    .string()
                    .regex(/^snap-[0-9a-f]{8}([0-9a-f]{9})?$/, { error: invalid("an EBS snapshot id (snap-…)") })
                    .optional()
                    .describe(`${SPLIT}, ebs: create the volume from this snapshot, a restore; keep it set afterwards (docs/operations/az-outage.md).`),
                // A volume's key never changes in place.
                encryptionKey: z
                    .enum(["stack", "accountDefault"])
                    .default("stack")
                    .describe(
                        `${SPLIT}, ebs: stack: a KMS key of the stack's own (new stacks). accountDefault: the account's default EBS key, for a volume made before the stack key. Changing it replaces the volume (docs/decisions/gitlab-split.md).`,
                    ),
            })
            .superRefine((v, ctx) => {
                if (v.throughputMibps > v.iops * GP3.throughputPerIops) {
                    ctx.addIssue({ code: "custom", path: ["throughputMibps"], message: `${v.throughputMibps} exceeds gp3's ${GP3.throughputPerIops} MiB/s per provisioned IOPS (${v.iops} IOPS)` });
                }
            })
            .prefault({})
            .describe(`${SPLIT}, ebs: Gitaly's gp3 data volume.`),
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
    engineVersion: z
        .enum(["7.2", "8.0", "8.1"], { error: invalid("a supported Valkey version (7.2, 8.0, 8.1)") })
        .default("7.2")
        .describe(`${SPLIT}: ElastiCache for Valkey major.minor; GitLab supports Valkey 7.2 and later.`),
    nodeType: z
        .string()
        .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, { error: invalid("an ElastiCache node type (cache.<family>.<size>)") })
        .refine((t) => !TOO_SMALL_FOR_GITLAB_REDIS.includes(t.split(".")[2]), { error: quoted((input) => `${input} is below GitLab's floor for Redis: use cache.t4g.medium or larger`) })
        .default("cache.t4g.medium")
        .describe(`${SPLIT}: node type cache.<family>.<size>, medium or larger (GitLab's AWS guide).`),
    multiAz: z
        .boolean()
        .default(false)
        .describe(`${SPLIT}: a replica in another AZ with automatic failover (prod); must be true when stateful.protect is true.`),
    snapshotRetentionDays: z
        .number()
        .int()
        .min(0)
        .max(35)
        .default(1)
        .describe(`${SPLIT}: days of daily snapshots (Sidekiq's queues live here); 0 turns them off.`),
});

export const gitlabSchema = z
    .strictObject({
        topology: z
            .enum(["single", "split"], { error: invalid("a GitLab topology (single, split)") })
            .default("single")
            .describe(
                "single: one Omnibus task holds everything, repositories on EFS (dev; docs/decisions/gitlab.md). split: web and Sidekiq tiers on Fargate that autoscale, one Gitaly on block storage, ElastiCache, migrations once per deploy (prod; docs/decisions/gitlab-split.md). Keys marked split only are checked in single but unused. Moving: docs/operations/single-to-split.md.",
            ),
        hostName: domainName.describe("GitLab's web host name (HTTPS through the shared ALB); inside dns.zoneName."),
        registryHostName: domainName
            .optional()
            .describe("The container registry's host name (HTTPS through the ALB); inside dns.zoneName.")
            .meta({ computedDefault: "registry.<gitlab.hostName>" }),
        sshHostName: domainName
            .optional()
            .describe("Where git clone git@<sshHostName>:... goes (TCP 22 through an NLB); inside dns.zoneName.")
            .meta({ computedDefault: "ssh.<gitlab.hostName>" }),
        cpu: serviceSizing.cpu
            .refine((c) => c >= 4096, { error: quoted((input) => `${input} is below GitLab's minimum of 4096 (4 vCPU)`) })
            .optional()
            .describe(`single only (an error in split): Fargate CPU units of the one task, at least 4096 (4 vCPU).`)
            .meta({ computedDefault: `${GITLAB_DEFAULT_SIZE.cpu} (single)` }),
        memory: z
            .number()
            .int()
            .min(8192, { error: quoted((input) => `${input} is below GitLab's minimum of 8192 MiB (8 GB)`) })
            .optional()
            .describe(
                `single only (an error in split): Fargate memory MiB of the one task, at least 8192 (GitLab's memory-constrained setup), a valid pair with gitlab.cpu on the AWS Fargate table; its connections must fit gitlab.database.instanceClass.`,
            )
            .meta({ computedDefault: `${GITLAB_DEFAULT_SIZE.memory} (single)` }),
        ephemeralStorageGb: z
            .number()
            .int()
            .min(21)
            .max(200)
            .default(50)
            .describe("Task-local disk in GiB of every GitLab Fargate task: logs, temp files and the Omnibus image itself."),
        spot: z
            .boolean()
            .default(false)
            .describe("Run GitLab's Fargate tasks (never the migrations) on FARGATE_SPOT (dev): a reclaimed task means minutes of downtime. Needs cluster.fargateSpot."),
        execCommand: z.boolean().default(false).describe("ECS Exec into GitLab's tasks (gitlab-rails console, gitlab-ctl)."),
        holdForRestore: z
            .boolean()
            .default(false)
            .describe(
                `single only (an error in split, whose restore holds its tiers by scaling them: docs/operations/restore.md): while true, ECS ignores failed health checks of the GitLab task for ${RESTORE_HOLD_SECONDS / 3600} hours from its start, so a restore can stop Puma; the change starts a new task. Set it only for a restore and back afterwards.`,
            ),
        registryDatabase: z
            .enum(["on", "import"], { error: invalid("a registry database mode (on, import)") })
            .default("on")
            .describe(
                "The container registry's metadata database. on: the registry keeps its metadata in PostgreSQL, with online garbage collection. import: the database exists and is configured but unused, the state an existing registry's import starts from (docs/decisions/gitlab-registry.md).",
            ),
        ssh: z
            .strictObject({
                allowedCidrs: z
                    .array(cidrBlock)
                    .min(1)
                    .default(["0.0.0.0/0"])
                    .describe("IPv4 CIDRs that may reach git over SSH (the NLB's security group); default anyone, as for HTTPS."),
            })
            .prefault({})
            .describe("Git over SSH, through the NLB."),
        database: databaseSchema({ engineVersions: ["17"], instanceClass: "db.t4g.medium", minimumForGitLab: true })
            .prefault({})
            .describe("GitLab's own PostgreSQL 17 on RDS (not the app's instance)."),
        efs: z
            .strictObject({
                throughputMode: z
                    .enum(["elastic", "bursting"])
                    .default("elastic")
                    .describe("elastic: pay per use, no burst credits to run out; bursting: throughput grows with stored size."),
            })
            .prefault({})
            .describe("GitLab's EFS file system: single, and split with gitlab.gitaly.storage efs."),
        web: webTierSchema.prefault({}).describe(`${SPLIT}: the web tier (Puma, Workhorse, NGINX, the registry and sshd); scales on CPU and memory.`),
        sidekiq: sidekiqTierSchema.prefault({}).describe(`${SPLIT}: the Sidekiq tier; scales on CPU.`),
        gitaly: gitalySchema.prefault({}).describe(`${SPLIT}: the one Gitaly server.`),
        redis: redisSchema.prefault({}).describe(`${SPLIT}: ElastiCache for Valkey (cluster mode disabled).`),
        backup: z
            .strictObject({
                time: z
                    .string()
                    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: invalid("a time of day (HH:MM)") })
                    .default("02:30")
                    .describe("Local time (HH:MM, 24 h) of the daily gitlab-backup create; the repository storage snapshot runs an hour later."),
                timezone: z
                    .string()
                    .refine(isTimeZone, { error: invalid("an IANA time zone (e.g. UTC, Europe/Berlin)") })
                    .default("UTC")
                    .describe("IANA time zone of time."),
                retentionDays: z
                    .number()
                    .int()
                    .min(1)
                    .max(3650)
                    .default(7)
                    .describe("Days to keep backup archives in S3 and repository storage recovery points in AWS Backup; at least 30 when stateful.protect is true."),
            })
            .prefault({})
            .describe("GitLab's daily backup and how long it is kept (restoring: docs/operations/restore.md)."),
        // OIDC sign-in was seed 000's external authentication.
        oidc: z
            .strictObject({
                issuer: z
                    .url({ protocol: /^https$/, error: invalid("an https URL") })
                    .describe("The provider's https issuer URL (its /.well-known/openid-configuration is discovered)."),
                clientId: z.string().min(1).describe("The client ID this GitLab has at the provider."),
                clientSecretArn: z
                    .string()
                    .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, {
                        error: invalid("a Secrets Manager secret ARN"),
                    })
                    .describe("A Secrets Manager secret whose whole value is the client secret (created outside this program)."),
                label: z.string().min(1).default("Single sign-on").describe("The sign-in button's text."),
                blockAutoCreatedUsers: z.boolean().default(true).describe("New users from the provider wait for an administrator's approval."),
            })
            .optional()
            .describe("Sign-in through an OpenID Connect provider; unset: no single sign-on."),
        email: emailSchema,
    })
    .superRefine((g, ctx) => {
        if (g.topology === "split") {
            for (const key of ["cpu", "memory"] as const) {
                if (g[key] !== undefined) {
                    ctx.addIssue({ code: "custom", path: [key], message: `sizes the single topology's one task; split sizes gitlab.web, gitlab.sidekiq and gitlab.gitaly` });
                }
            }
            if (g.holdForRestore) {
                ctx.addIssue({ code: "custom", path: ["holdForRestore"], message: "true holds the single topology's one task; split holds its tiers by scaling them (docs/operations/restore.md)" });
            }
        } else {
            checkFargateSize({ cpu: g.cpu ?? GITLAB_DEFAULT_SIZE.cpu, memory: g.memory ?? GITLAB_DEFAULT_SIZE.memory }, ctx);
        }
    })
    // Each topology gets only its own keys, so code that reads gitlab.web has first asked for the split topology.
    .transform(({ cpu, memory, holdForRestore, web, sidekiq, gitaly, redis, ...g }) => {
        const common = { ...g, registryHostName: g.registryHostName ?? `registry.${g.hostName}`, sshHostName: g.sshHostName ?? `ssh.${g.hostName}`, email: emailDefaults(g.email, g.hostName) };
        return g.topology === "split"
            ? { ...common, topology: "split" as const, web, sidekiq, gitaly, redis }
            : { ...common, topology: "single" as const, cpu: cpu ?? GITLAB_DEFAULT_SIZE.cpu, memory: memory ?? GITLAB_DEFAULT_SIZE.memory, holdForRestore };
    })
    .describe("GitLab: its host names, its topology (single or split) and each topology's parts. A section with no default: every stack sets gitlab.hostName.");

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
