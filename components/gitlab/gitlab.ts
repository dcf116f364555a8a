import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DailyTime } from "../../aws/backupPlan";
import { serviceAlarms } from "../../aws/alarms";
import { AccessLogTarget } from "../../aws/bucket";
import { SecretSource, secretRefs, taskRoles } from "../../aws/ecsTask";
import { PolicyStatement } from "../../aws/iam";
import { awslogs, logGroup } from "../../aws/logs";
import { Naming, physicalName } from "../../facts/naming";
import { httpTargetGroup } from "../../aws/targetGroup";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { allowDatabaseClient, DatabaseClientArgs } from "../database";
import { scheduledBackup } from "./backup";
import { FargateTaskBase, GITLAB_HEALTH, GitLabKit, RoleExtras } from "./kit";
import { GITLAB_PORTS, renderOmnibusConfig } from "./omnibusConfig";
import { gitlabSecrets, RAILS_SECRETS, SECRET_ENV, SecretName } from "./secrets";
import { singleTopology } from "./single";
import { SplitArgs, splitTopology } from "./split";
import { sshEntry } from "./ssh";
import { gitlabBuckets, OBJECT_TYPES, ObjectType } from "./storage";

export { GITLAB_GRACE_SECONDS, GITLAB_HEALTH } from "./kit";

/** The backup task's size: Rails for the rake task, a local Redis and pg_dump; no web or Sidekiq. */
export const BACKUP_TASK_SIZE = { cpu: 2048, memory: 6144 } as const;

/** What gitlab/backup.sh prints at the end of a run; metric filters count them. */
export const BACKUP_LOG_LINES = { succeeded: "platform-backup: succeeded", failed: "platform-backup: failed" } as const;

const BACKUP_METRIC_NAMESPACE = "Platform/GitLab";

/** The target group's readiness path (answers the VPC only: monitoring_whitelist). */
export const READINESS_PATH = "/-/readiness";

export interface GitLabArgs {
    readonly clusterArn: pulumi.Input<string>;
    readonly clusterName: pulumi.Input<string>;
    readonly vpcId: pulumi.Input<string>;
    readonly vpcCidr: pulumi.Input<string>;
    /** Private subnets for the tasks and the EFS mount targets. */
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** How many private subnets (one mount target each). */
    readonly privateSubnetCount: number;
    /** Isolated subnets (split: ElastiCache). */
    readonly isolatedSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Public subnets for the SSH load balancer. */
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The shared ALB: two host rules on its HTTPS listener (web and registry). */
    readonly loadBalancer: {
        readonly arnSuffix: pulumi.Input<string>;
        readonly httpsListenerArn: pulumi.Input<string>;
        readonly securityGroupId: pulumi.Input<string>;
        readonly zoneId: pulumi.Input<string>;
    };
    readonly hostName: string;
    readonly registryHostName: string;
    readonly sshHostName: string;
    /** Who may reach git over SSH. */
    readonly sshAllowedCidrs: readonly string[];
    /** The web rule's priority; the registry's is the next one. */
    readonly listenerPriority: number;
    /** The image by digest, and its repository (the execution role pulls only from it). */
    readonly image: pulumi.Input<string>;
    readonly repositoryArn: pulumi.Input<string>;
    /**
     * single: one Omnibus task holds everything (repositories on EFS).
     * split: web and Sidekiq tiers that autoscale, one Gitaly, ElastiCache,
     * migrations once per deploy (`split` says how).
     */
    readonly topology: "single" | "split";
    /** single: the one task's size. */
    readonly cpu: number;
    readonly memory: number;
    /** split: the tiers. */
    readonly split?: SplitArgs;
    readonly ephemeralStorageGb: number;
    readonly cpuArchitecture: "X86_64" | "ARM64";
    /** FARGATE_SPOT (dev). */
    readonly spot: boolean;
    readonly execCommand: boolean;
    /** GitLab's own PostgreSQL (the shared Database component). */
    readonly database: DatabaseClientArgs & { readonly username: string };
    readonly efsThroughputMode: "elastic" | "bursting";
    readonly backup: {
        /** When the daily gitlab-backup runs. */
        readonly time: DailyTime;
        /** When AWS Backup copies the repository storage. */
        readonly fileSystemTime: DailyTime;
        /** Days archives and recovery points are kept. */
        readonly retentionDays: number;
    };
    readonly oidc?: {
        readonly issuer: string;
        readonly clientId: string;
        readonly clientSecretArn: string;
        readonly label: string;
        readonly blockAutoCreatedUsers: boolean;
    };
    readonly logRetentionDays: number;
    readonly alarms: { readonly topicArn: pulumi.Input<string>; readonly http5xxPercent: number; readonly cpuPercent: number; readonly memoryPercent: number };
    /** Protect, version and keep the stateful parts (prod). */
    readonly protectData: boolean;
    /** Deletion protection on the SSH load balancer. */
    readonly deletionProtection: boolean;
    /** Where the buckets' S3 server access logs go. */
    readonly accessLogs: AccessLogTarget;
    readonly region: string;
    readonly accountId: pulumi.Input<string>;
    readonly naming: Naming;
}

/** What a topology builder gives back to the component. */
export interface Topology {
    /** The service behind the ALB and NLB (single: the one task; split: the web tier). */
    readonly frontService: aws.ecs.Service;
    readonly logGroupName: pulumi.Output<string>;
    /** Gitaly as the backup task reaches it, `host:port`. */
    readonly gitalyAddress: pulumi.Output<string>;
    /** EFS, where repositories live on it (single, or split with gitaly.storage efs). */
    readonly fileSystemId?: pulumi.Output<string>;
}

/** What the topology builders get besides the kit: the entry points every topology shares. */
export interface Entry {
    /** The security group of the tasks behind the ALB and NLB. */
    readonly frontSecurityGroup: aws.ec2.SecurityGroup;
    readonly backupSecurityGroup: aws.ec2.SecurityGroup;
    /** Rules the front tasks need before they start (ALB, NLB, egress, database). */
    readonly frontRules: pulumi.Resource[];
    readonly webTargetGroup: aws.lb.TargetGroup;
    readonly registryTargetGroup: aws.lb.TargetGroup;
    readonly sshTargetGroup: aws.lb.TargetGroup;
    /** The listener rules and the SSH listener: the front service registers only once they exist. */
    readonly listeners: pulumi.Resource[];
}

const BACKUP_CONTAINER = "backup";


/**
 * GitLab CE on ECS from the custom image in gitlab/, its configuration
 * rendered per role by omnibusConfig.ts, every secret generated once into
 * Secrets Manager, PostgreSQL on RDS, blobs and the registry in S3, HTTPS
 * through the shared ALB, git over SSH through an NLB, and a daily backup task.
 *
 * Two topologies share all of that (single.ts, split.ts): one Omnibus task
 * with its repositories on EFS, or web and Sidekiq tiers that autoscale in
 * front of exactly one Gitaly on block storage and ElastiCache.
 */
export class GitLab extends pulumi.ComponentResource {
    readonly url: string;
    readonly registryUrl: string;
    readonly sshHost: string;
    readonly serviceName: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly backupLogGroupName: pulumi.Output<string>;
    /** EFS, where the repositories live on it (absent for Gitaly on EBS). */
    readonly fileSystemId: pulumi.Output<string | undefined>;
    readonly taskSecurityGroupId: pulumi.Output<string>;
    readonly backupBucket: pulumi.Output<string>;
    /** Every bucket of GitLab's (objects, registry, backups), by ARN. */
    readonly bucketArns: pulumi.Output<string[]>;

    constructor(name: string, args: GitLabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:gitlab:GitLab", name, {}, opts);
        const a = args;
        const parent = { parent: this };
        const physical = physicalName(a.naming, name);
        const single = a.topology === "single";
        if (!single && !a.split) {
            throw new Error("the split topology needs `split`");
        }

        // --- network: web and registry from the ALB, SSH from the NLB; each topology adds Gitaly's rules.
        const sg = new aws.ec2.SecurityGroup(single ? `${name}-tasks` : `${name}-web`, { vpcId: a.vpcId, description: `${name}: ${single ? "the GitLab task" : "the web tier"}` }, parent);
        const backupSg = new aws.ec2.SecurityGroup(`${name}-backup-tasks`, { vpcId: a.vpcId, description: `${name}: the backup task` }, parent);
        const front = single ? name : `${name}-web`;
        const frontRules = [
            allowPortFrom(`${name}-web-from-alb`, { securityGroupId: sg.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: GITLAB_PORTS.http, description: "ALB to GitLab" }, parent),
            allowPortFrom(`${name}-registry-from-alb`, { securityGroupId: sg.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: GITLAB_PORTS.registry, description: "ALB to the registry" }, parent),
            allowAllEgress(single ? `${name}-tasks-out` : `${front}-out`, sg.id, parent),
            allowDatabaseClient(`${front}-to-db`, a.database.securityGroupId, sg.id, parent),
        ];
        const backupRules = [allowAllEgress(`${name}-backup-tasks-out`, backupSg.id, parent), allowDatabaseClient(`${name}-backup-to-db`, a.database.securityGroupId, backupSg.id, parent)];

        // --- data and secrets every topology shares
        const buckets = gitlabBuckets(name, { protect: a.protectData, backupRetentionDays: a.backup.retentionDays, accessLogs: a.accessLogs }, parent);
        const secrets = gitlabSecrets(name, { protect: a.protectData, naming: a.naming }, parent);
        const namespace = new aws.servicediscovery.PrivateDnsNamespace(`${name}-dns`, { name: `${a.naming.prefix}.internal`, vpc: a.vpcId, description: `${physical}: private names` }, parent);

        const kit = this.kit(name, physical, a, buckets, secrets, namespace);

        // --- entry: host rules on the shared ALB, SSH through an NLB
        const targetGroup = (suffix: string, path: string, matcher: string) => httpTargetGroup(`${name}-${suffix}`, { vpcId: a.vpcId, path, matcher, health: GITLAB_HEALTH }, parent);
        const web = targetGroup("web", READINESS_PATH, "200");
        // The registry answers /v2/ with 401 until a client logs in: 401 means it is up.
        const registry = targetGroup("registry", "/v2/", "200,401");
        const hostRule = (suffix: string, host: string, priority: number, tg: aws.lb.TargetGroup) =>
            new aws.lb.ListenerRule(
                `${name}-${suffix}`,
                {
                    listenerArn: a.loadBalancer.httpsListenerArn,
                    priority,
                    conditions: [{ hostHeader: { values: [host] } }],
                    actions: [{ type: "forward", targetGroupArn: tg.arn }],
                },
                parent,
            );
        const listenerRules = [hostRule("web", a.hostName, a.listenerPriority, web), hostRule("registry", a.registryHostName, a.listenerPriority + 1, registry)];
        const ssh = sshEntry(
            `${name}-ssh`,
            {
                vpcId: a.vpcId,
                subnetIds: a.publicSubnetIds,
                allowedCidrs: a.sshAllowedCidrs,
                taskSecurityGroupId: sg.id,
                hostName: a.sshHostName,
                zoneId: a.loadBalancer.zoneId,
                deletionProtection: a.deletionProtection,
            },
            parent,
        );
        const entry: Entry = {
            frontSecurityGroup: sg,
            backupSecurityGroup: backupSg,
            frontRules: [...frontRules, ssh.taskIngress],
            webTargetGroup: web,
            registryTargetGroup: registry,
            sshTargetGroup: ssh.targetGroup,
            listeners: [...listenerRules, ssh.listener],
        };

        const topology = single ? singleTopology(kit, a, entry) : splitTopology(kit, a, a.split!, entry);

        // --- the daily backup: a one-off Rails task that reaches the topology's Gitaly
        const backupLogs = logGroup(`${name}-backup`, { retentionInDays: a.logRetentionDays, naming: a.naming }, parent);
        const backupSecrets: SecretName[] = [...RAILS_SECRETS, "databasePassword"];
        const backupRoles = taskRoles(
            `${name}-backup`,
            {
                repositoryArns: [a.repositoryArn],
                secretArns: [secrets.arns[0], secrets.arns[1], pulumi.output(a.database.secretArn)],
                logGroupArn: backupLogs.arn,
                execCommand: false,
                accountId: a.accountId,
                naming: a.naming,
                // The archive upload: no reading or deleting what is already there.
                taskStatements: bucketStatements("Backups", [buckets.backups], ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]),
            },
            parent,
        );
        const backupFamily = physicalName(a.naming, `${name}-backup`);
        const backupTask = new aws.ecs.TaskDefinition(
            `${name}-backup`,
            {
                ...kit.fargateTask(BACKUP_TASK_SIZE),
                family: backupFamily,
                executionRoleArn: backupRoles.executionRole.arn,
                taskRoleArn: backupRoles.taskRole.arn,
                containerDefinitions: pulumi.jsonStringify([
                    {
                        ...kit.omnibus,
                        name: BACKUP_CONTAINER,
                        command: ["backup"],
                        environment: kit.environment(kit.config("backup", { cpu: a.cpu, memory: a.memory }, { gitalyHost: topology.gitalyAddress })),
                        secrets: kit.secretsOf(backupSecrets),
                        stopTimeout: 120,
                        logConfiguration: kit.logConfig(backupLogs, BACKUP_CONTAINER),
                    },
                ]),
            },
            parent,
        );
        scheduledBackup(
            `${name}-backup`,
            {
                clusterArn: a.clusterArn,
                taskDefinition: backupTask,
                family: backupFamily,
                taskRoleArn: backupRoles.taskRole.arn,
                executionRoleArn: backupRoles.executionRole.arn,
                subnetIds: a.privateSubnetIds,
                securityGroupId: backupSg.id,
                time: a.backup.time,
                accountId: a.accountId,
                region: a.region,
                naming: a.naming,
            },
            { ...parent, dependsOn: backupRules },
        );
        this.backupAlarms(name, physical, backupLogs, a.alarms.topicArn);

        this.url = `https://${a.hostName}`;
        this.registryUrl = `https://${a.registryHostName}`;
        this.sshHost = a.sshHostName;
        this.serviceName = topology.frontService.name;
        this.logGroupName = topology.logGroupName;
        this.backupLogGroupName = backupLogs.name;
        this.fileSystemId = topology.fileSystemId ?? pulumi.output(undefined);
        this.taskSecurityGroupId = sg.id;
        this.backupBucket = buckets.backups.bucket;
        this.bucketArns = pulumi.all([...Object.values(buckets.objects), buckets.registry, buckets.backups].map((b) => b.arn));
        this.registerOutputs({
            url: this.url,
            registryUrl: this.registryUrl,
            sshHost: this.sshHost,
            serviceName: this.serviceName,
            logGroupName: this.logGroupName,
            backupLogGroupName: this.backupLogGroupName,
            fileSystemId: this.fileSystemId,
            taskSecurityGroupId: this.taskSecurityGroupId,
            backupBucket: this.backupBucket,
            bucketArns: this.bucketArns,
        });
    }

    /** The shared parts of every task, closed over this component's arguments. */
    private kit(name: string, physical: string, a: GitLabArgs, buckets: GitLabKit["buckets"], secrets: GitLabKit["secrets"], namespace: aws.servicediscovery.PrivateDnsNamespace): GitLabKit {
        const parent = { parent: this as pulumi.Resource };
        const railsBuckets = [...OBJECT_TYPES.map((t) => buckets.objects[t]), buckets.registry];
        const objectRw = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
        // The OIDC client secret is a whole secret created outside; the database's and
        // ElastiCache's live with them; every other one is a key of gitlabSecrets.
        const sourceOf = (n: SecretName, others: Partial<Record<SecretName, SecretSource>>): SecretSource => {
            const other = others[n];
            if (other) {
                return other;
            }
            switch (n) {
                case "databasePassword":
                    return { arn: a.database.secretArn, key: "password" };
                case "oidcClientSecret":
                    return { arn: a.oidc!.clientSecretArn };
                case "redisPassword":
                    throw new Error("redisPassword comes from ElastiCache: pass its source");
                default:
                    return secrets.refs[n];
            }
        };
        return {
            name,
            physical,
            parent,
            naming: a.naming,
            region: a.region,
            buckets,
            secrets,
            namespace,
            railsBucketStatements: (sid, withBackups) => bucketStatements(sid, withBackups ? [...railsBuckets, buckets.backups] : railsBuckets, objectRw),
            discovery: (suffix, dnsName) =>
                new aws.servicediscovery.Service(
                    `${name}-${suffix}`,
                    {
                        name: dnsName,
                        dnsConfig: { namespaceId: namespace.id, dnsRecords: [{ type: "A", ttl: 10 }], routingPolicy: "MULTIVALUE" },
                        // ECS reports the tasks' health to Cloud Map.
                        healthCheckCustomConfig: {},
                        forceDestroy: true,
                    },
                    parent,
                ),
            config: (role, size, extras) =>
                pulumi
                    .all([
                        a.vpcCidr,
                        a.database.address,
                        a.database.port,
                        buckets.registry.bucket,
                        buckets.backups.bucket,
                        pulumi.all(OBJECT_TYPES.map((t) => buckets.objects[t].bucket)),
                        pulumi.output(extras),
                    ])
                    .apply(([vpcCidr, dbHost, dbPort, registry, backups, objects, more]) =>
                        renderOmnibusConfig({
                            role,
                            hostName: a.hostName,
                            registryHostName: a.registryHostName,
                            sshHostName: a.sshHostName,
                            vpcCidr,
                            region: a.region,
                            database: { host: dbHost, port: dbPort, name: a.database.name, username: a.database.username },
                            buckets: { objects: Object.fromEntries(OBJECT_TYPES.map((t, i) => [t, objects[i]])) as Record<ObjectType, string>, registry, backups },
                            cpu: size.cpu,
                            memory: size.memory,
                            oidc: a.oidc,
                            ...(more as RoleExtras),
                        }),
                    ),
            secretsOf: (names, others = {}) => secretRefs(Object.fromEntries(names.map((n) => [SECRET_ENV[n], sourceOf(n, others)]))),
            secretArnsOf: (names, others = {}) => [...new Set(names.map((n) => sourceOf(n, others).arn))],
            environment: (config) => [
                { name: "GITLAB_OMNIBUS_CONFIG", value: config },
                { name: "AWS_REGION", value: a.region },
                { name: "AWS_DEFAULT_REGION", value: a.region },
            ],
            // Omnibus writes /etc/gitlab, /var/opt/gitlab, /var/log/gitlab and /run at every
            // start and runs its services as root and as git: no read-only root and no
            // non-root user are possible (Security Hub ECS.5 waiver, README).
            omnibus: { image: a.image, essential: true, privileged: false, readonlyRootFilesystem: false, linuxParameters: { initProcessEnabled: true } },
            fargateTask: (size): FargateTaskBase => ({
                cpu: String(size.cpu),
                memory: String(size.memory),
                networkMode: "awsvpc",
                requiresCompatibilities: ["FARGATE"],
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture },
                // Logs, temp files and the backup archive before upload live on the task's own disk.
                ephemeralStorage: { sizeInGib: a.ephemeralStorageGb },
            }),
            logConfig: (group, prefix) => awslogs(group.name, a.region, prefix),
            frontAlarms: (alarmName, serviceName, webTargetGroup) =>
                serviceAlarms(
                    alarmName,
                    {
                        topicArn: a.alarms.topicArn,
                        clusterName: a.clusterName,
                        serviceName,
                        loadBalancerArnSuffix: a.loadBalancer.arnSuffix,
                        targetGroupArnSuffixes: [webTargetGroup.arnSuffix],
                        http5xxPercent: a.alarms.http5xxPercent,
                        cpuPercent: a.alarms.cpuPercent,
                        memoryPercent: a.alarms.memoryPercent,
                    },
                    parent,
                ),
        };
    }

    /**
     * backup.sh prints these lines. A failure alarms at once; a day without success
     * alarms too, which covers what prints nothing: a failed reconfigure, a task that
     * never started (scheduler, image, secrets) or was killed.
     */
    private backupAlarms(name: string, physical: string, backupLogs: aws.cloudwatch.LogGroup, topicArn: pulumi.Input<string>): void {
        const parent = { parent: this as pulumi.Resource };
        const backupMetric = (suffix: string, line: string) =>
            new aws.cloudwatch.LogMetricFilter(
                `${name}-backup-${suffix}`,
                {
                    logGroupName: backupLogs.name,
                    pattern: `"${line}"`,
                    metricTransformation: { name: `${physical}-backup-${suffix}`, namespace: BACKUP_METRIC_NAMESPACE, value: "1", unit: "Count" },
                },
                parent,
            ).metricTransformation.name;
        const backupAlarm = (suffix: string, metricName: pulumi.Input<string>, alarm: Pick<aws.cloudwatch.MetricAlarmArgs, "alarmDescription" | "comparisonOperator" | "threshold" | "period" | "evaluationPeriods" | "treatMissingData">) =>
            new aws.cloudwatch.MetricAlarm(`${name}-backup-${suffix}`, { ...alarm, namespace: BACKUP_METRIC_NAMESPACE, metricName, statistic: "Sum", alarmActions: [topicArn] }, parent);
        backupAlarm("failed", backupMetric("failed", BACKUP_LOG_LINES.failed), {
            alarmDescription: `${name}: the daily gitlab-backup failed (see ${physical} backup logs)`,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
            period: 3600,
            evaluationPeriods: 1,
            treatMissingData: "notBreaching",
        });
        backupAlarm("missing", backupMetric("succeeded", BACKUP_LOG_LINES.succeeded), {
            alarmDescription: `${name}: no successful gitlab-backup in 26 hours`,
            comparisonOperator: "LessThanThreshold",
            threshold: 1,
            period: 3600,
            evaluationPeriods: 26,
            // An hour without a success line is an hour without a backup.
            treatMissingData: "breaching",
        });
    }
}

/** S3 rights on some buckets: these object actions, and listing. */
export function bucketStatements(sid: string, list: aws.s3.Bucket[], objectActions: string[]): PolicyStatement[] {
    return [
        { sid: `${sid}Objects`, actions: objectActions, resources: list.map((b) => pulumi.interpolate`${b.arn}/*`) },
        { sid: `${sid}Buckets`, actions: ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"], resources: list.map((b) => b.arn) },
    ];
}
