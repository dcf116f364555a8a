import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { fileSystemAlarm, serviceAlarms } from "../../lib/alarms";
import { backupPlan, DailyTime } from "../../lib/backupPlan";
import { AccessLogTarget } from "../../lib/bucket";
import { fargateServiceBase } from "../../lib/ecsService";
import { SecretSource, secretRefs, taskRoles } from "../../lib/ecsTask";
import { PolicyStatement } from "../../lib/iam";
import { awslogs, logGroup } from "../../lib/logs";
import { Naming, physicalName } from "../../lib/naming";
import { HealthTiming, httpTargetGroup } from "../../lib/rollout";
import { allowAllEgress, allowPortFrom } from "../../lib/securityGroups";
import { allowDatabaseClient, DatabaseClientArgs } from "../database";
import { scheduledBackup } from "./backup";
import { GITLAB_PORTS, OmnibusConfigArgs, renderOmnibusConfig, REPOSITORY_ROOT } from "./omnibusConfig";
import { gitlabSecrets, SECRET_ENV, SecretName } from "./secrets";
import { sshEntry } from "./ssh";
import { EFS_CLIENT_ACTIONS, fileSystemPolicy, gitlabBuckets, OBJECT_TYPES, ObjectType, repositoryFileSystem } from "./storage";

/** Target-group timing for GitLab: 15 s checks, healthy after 2, and at most 60 s of draining (long clones get a minute). */
export const GITLAB_HEALTH: HealthTiming = { intervalSeconds: 15, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 3, deregistrationDelaySeconds: 60 };

/** Seconds ECS ignores failing load-balancer checks after a task starts: a first boot seeds the database. */
export const GITLAB_GRACE_SECONDS = 900;

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
    readonly cpu: number;
    readonly memory: number;
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
        /** When AWS Backup copies the repository file system. */
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

const CONTAINER = "gitlab";
const BACKUP_CONTAINER = "backup";

/** The secrets each role's container receives. */
const SERVE_SECRETS: readonly SecretName[] = Object.keys(SECRET_ENV).filter((k) => k !== "databasePassword" && k !== "oidcClientSecret") as SecretName[];
const BACKUP_SECRETS: readonly SecretName[] = [
    "secretKeyBase",
    "dbKeyBase",
    "otpKeyBase",
    "encryptedSettingsKeyBase",
    "openidConnectSigningKey",
    "activeRecordPrimaryKey",
    "activeRecordDeterministicKey",
    "activeRecordKeyDerivationSalt",
    "shellSecretToken",
    "workhorseSecretToken",
    "gitalyToken",
];

/**
 * GitLab CE as one Omnibus task on Fargate (the single topology): the custom
 * image from gitlab/, its configuration rendered by omnibusConfig.ts, every
 * secret generated once into Secrets Manager, repositories on EFS, PostgreSQL
 * on RDS, blobs and the registry in S3, HTTPS through the shared ALB, git
 * over SSH through an NLB, a daily backup task, and AWS Backup for the file
 * system.
 *
 * Exactly one task, replaced stop-first (0 % / 100 %): the task's Gitaly is the
 * only writer of the repositories, and two Gitaly processes on one volume
 * corrupt them. Nothing autoscales here for the same reason.
 */
export class GitLab extends pulumi.ComponentResource {
    readonly url: string;
    readonly registryUrl: string;
    readonly sshHost: string;
    readonly serviceName: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly backupLogGroupName: pulumi.Output<string>;
    readonly fileSystemId: pulumi.Output<string>;
    readonly taskSecurityGroupId: pulumi.Output<string>;
    readonly backupBucket: pulumi.Output<string>;

    constructor(name: string, args: GitLabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:gitlab:GitLab", name, {}, opts);
        const a = args;
        const parent = { parent: this };
        const physical = physicalName(a.naming, name);

        // --- network: web and registry from the ALB, SSH from the NLB, Gitaly from the backup task only.
        const sg = new aws.ec2.SecurityGroup(`${name}-tasks`, { vpcId: a.vpcId, description: `${name}: the GitLab task` }, parent);
        const backupSg = new aws.ec2.SecurityGroup(`${name}-backup-tasks`, { vpcId: a.vpcId, description: `${name}: the backup task` }, parent);
        const rules = [
            allowPortFrom(`${name}-web-from-alb`, { securityGroupId: sg.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: GITLAB_PORTS.http, description: "ALB to GitLab" }, parent),
            allowPortFrom(`${name}-registry-from-alb`, { securityGroupId: sg.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: GITLAB_PORTS.registry, description: "ALB to the registry" }, parent),
            allowPortFrom(`${name}-gitaly-from-backup`, { securityGroupId: sg.id, sourceSecurityGroupId: backupSg.id, port: GITLAB_PORTS.gitaly, description: "backup task to Gitaly" }, parent),
            allowAllEgress(`${name}-tasks-out`, sg.id, parent),
            allowDatabaseClient(`${name}-to-db`, a.database.securityGroupId, sg.id, parent),
        ];
        const backupRules = [allowAllEgress(`${name}-backup-tasks-out`, backupSg.id, parent), allowDatabaseClient(`${name}-backup-to-db`, a.database.securityGroupId, backupSg.id, parent)];

        // --- data
        const buckets = gitlabBuckets(name, { protect: a.protectData, backupRetentionDays: a.backup.retentionDays, accessLogs: a.accessLogs }, parent);
        const efs = repositoryFileSystem(
            `${name}-repositories`,
            {
                vpcId: a.vpcId,
                subnetIds: a.privateSubnetIds,
                subnetCount: a.privateSubnetCount,
                clientSecurityGroupId: sg.id,
                throughputMode: a.efsThroughputMode,
                protect: a.protectData,
            },
            parent,
        );
        // Our own plan backs the file system up; EFS's automatic backups would be a second copy to pay for.
        new aws.efs.BackupPolicy(`${name}-repositories`, { fileSystemId: efs.fileSystem.id, backupPolicy: { status: "DISABLED" } }, parent);
        backupPlan(
            `${name}-repositories`,
            {
                kind: "efs",
                resourceArns: [efs.fileSystem.arn],
                schedule: a.backup.fileSystemTime,
                retentionDays: a.backup.retentionDays,
                protect: a.protectData,
                naming: a.naming,
            },
            parent,
        );
        const secrets = gitlabSecrets(name, { protect: a.protectData, naming: a.naming }, parent);

        // --- Gitaly's stable name, for the backup task (Cloud Map A record of the one task).
        const namespace = new aws.servicediscovery.PrivateDnsNamespace(`${name}-dns`, { name: `${a.naming.prefix}.internal`, vpc: a.vpcId, description: `${physical}: private names` }, parent);
        const discovery = new aws.servicediscovery.Service(
            `${name}-dns`,
            {
                name: CONTAINER,
                dnsConfig: { namespaceId: namespace.id, dnsRecords: [{ type: "A", ttl: 10 }], routingPolicy: "MULTIVALUE" },
                // ECS reports the task's health to Cloud Map.
                healthCheckCustomConfig: {},
                forceDestroy: true,
            },
            parent,
        );
        const gitalyHost = pulumi.interpolate`${CONTAINER}.${namespace.name}:${GITLAB_PORTS.gitaly}`;

        // --- logs and roles
        const logs = logGroup(name, { retentionInDays: a.logRetentionDays, naming: a.naming }, parent);
        const backupLogs = logGroup(`${name}-backup`, { retentionInDays: a.logRetentionDays, naming: a.naming }, parent);
        const allBuckets = [...OBJECT_TYPES.map((t) => buckets.objects[t]), buckets.registry, buckets.backups];
        const bucketStatements = (sid: string, list: aws.s3.Bucket[], objectActions: string[]): PolicyStatement[] => [
            { sid: `${sid}Objects`, actions: objectActions, resources: list.map((b) => pulumi.interpolate`${b.arn}/*`) },
            { sid: `${sid}Buckets`, actions: ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"], resources: list.map((b) => b.arn) },
        ];
        const objectRw = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
        const secretArns = [...secrets.arns, pulumi.output(a.database.secretArn), ...(a.oidc ? [pulumi.output(a.oidc.clientSecretArn)] : [])];
        const roles = taskRoles(
            name,
            {
                repositoryArns: [a.repositoryArn],
                secretArns,
                logGroupArn: logs.arn,
                execCommand: a.execCommand,
                accountId: a.accountId,
                naming: a.naming,
                taskStatements: [
                    // Rails, Workhorse and the registry read and write every bucket; Gitaly writes repository backups.
                    ...bucketStatements("GitLab", allBuckets, objectRw),
                    {
                        sid: "Repositories",
                        actions: [...EFS_CLIENT_ACTIONS],
                        resources: [efs.fileSystem.arn],
                        conditions: { StringEquals: { "elasticfilesystem:AccessPointArn": efs.accessPoint.arn } },
                    },
                ],
            },
            parent,
        );
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
        const fsPolicy = new aws.efs.FileSystemPolicy(
            `${name}-repositories`,
            { fileSystemId: efs.fileSystem.id, policy: fileSystemPolicy(efs.fileSystem.arn, efs.accessPoint.arn, roles.taskRole.arn) },
            parent,
        );

        // --- configuration, rendered once the names it needs exist
        const configFor = (role: OmnibusConfigArgs["role"]) =>
            pulumi
                .all([
                    a.vpcCidr,
                    a.database.address,
                    a.database.port,
                    gitalyHost,
                    buckets.registry.bucket,
                    buckets.backups.bucket,
                    pulumi.all(OBJECT_TYPES.map((t) => buckets.objects[t].bucket)),
                ])
                .apply(([vpcCidr, dbHost, dbPort, gitaly, registry, backups, objects]) =>
                    renderOmnibusConfig({
                        role,
                        hostName: a.hostName,
                        registryHostName: a.registryHostName,
                        sshHostName: a.sshHostName,
                        vpcCidr,
                        region: a.region,
                        database: { host: dbHost, port: dbPort, name: a.database.name, username: a.database.username },
                        buckets: { objects: Object.fromEntries(OBJECT_TYPES.map((t, i) => [t, objects[i]])) as Record<ObjectType, string>, registry, backups },
                        gitalyHost: gitaly,
                        cpu: a.cpu,
                        memory: a.memory,
                        oidc: a.oidc,
                    }),
                );
        // The OIDC client secret is a whole secret created outside; every other one a JSON key.
        const sourceOf = (n: SecretName): SecretSource =>
            n === "databasePassword" ? { arn: a.database.secretArn, key: "password" } : n === "oidcClientSecret" ? { arn: a.oidc!.clientSecretArn } : secrets.refs[n];
        const secretsOf = (names: readonly SecretName[]) => secretRefs(Object.fromEntries(names.map((n) => [SECRET_ENV[n], sourceOf(n)])));
        const logConfig = (group: aws.cloudwatch.LogGroup, prefix: string) => awslogs(group.name, a.region, prefix);
        const environment = (role: OmnibusConfigArgs["role"]) => [
            { name: "GITLAB_OMNIBUS_CONFIG", value: configFor(role) },
            { name: "AWS_REGION", value: a.region },
            { name: "AWS_DEFAULT_REGION", value: a.region },
        ];
        const taskBase = {
            cpu: String(a.cpu),
            memory: String(a.memory),
            networkMode: "awsvpc",
            requiresCompatibilities: ["FARGATE"],
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture },
            // Logs, temp files and the backup archive before upload live on the task's own disk.
            ephemeralStorage: { sizeInGib: a.ephemeralStorageGb },
        };
        // Omnibus writes /etc/gitlab, /var/opt/gitlab, /var/log/gitlab and /run at every
        // start and runs its services as root and as git: no read-only root and no
        // non-root user are possible (Security Hub ECS.5 waiver, README).
        const omnibus = { image: a.image, essential: true, privileged: false, readonlyRootFilesystem: false, linuxParameters: { initProcessEnabled: true } };

        const taskDefinition = new aws.ecs.TaskDefinition(
            name,
            {
                ...taskBase,
                family: physical,
                executionRoleArn: roles.executionRole.arn,
                taskRoleArn: roles.taskRole.arn,
                volumes: [
                    {
                        name: "repositories",
                        efsVolumeConfiguration: {
                            fileSystemId: efs.fileSystem.id,
                            transitEncryption: "ENABLED",
                            authorizationConfig: { accessPointId: efs.accessPoint.id, iam: "ENABLED" },
                        },
                    },
                ],
                containerDefinitions: pulumi.jsonStringify([
                    {
                        ...omnibus,
                        name: CONTAINER,
                        command: ["serve"],
                        portMappings: [GITLAB_PORTS.http, GITLAB_PORTS.registry, GITLAB_PORTS.ssh, GITLAB_PORTS.gitaly].map((p) => ({ containerPort: p, protocol: "tcp" })),
                        environment: environment("single"),
                        secrets: secretsOf([...SERVE_SECRETS, "databasePassword", ...(a.oidc ? (["oidcClientSecret"] as const) : [])]),
                        mountPoints: [{ sourceVolume: "repositories", containerPath: REPOSITORY_ROOT, readOnly: false }],
                        // gitlab-ctl stop needs time to stop Puma, Sidekiq, Gitaly and Redis cleanly; 120 s is ECS's limit.
                        stopTimeout: 120,
                        // The image's own check (the same command as its Docker HEALTHCHECK, which ECS ignores).
                        healthCheck: { command: ["CMD", "/opt/gitlab/bin/gitlab-healthcheck", "--fail", "--max-time", "10"], interval: 60, timeout: 30, retries: 5, startPeriod: 300 },
                        logConfiguration: logConfig(logs, CONTAINER),
                    },
                ]),
            },
            // The mount needs the policy that lets the task role mount.
            { ...parent, dependsOn: [fsPolicy, ...efs.mountTargets] },
        );

        const backupTask = new aws.ecs.TaskDefinition(
            `${name}-backup`,
            {
                ...taskBase,
                cpu: String(BACKUP_TASK_SIZE.cpu),
                memory: String(BACKUP_TASK_SIZE.memory),
                family: physicalName(a.naming, `${name}-backup`),
                executionRoleArn: backupRoles.executionRole.arn,
                taskRoleArn: backupRoles.taskRole.arn,
                containerDefinitions: pulumi.jsonStringify([
                    {
                        ...omnibus,
                        name: BACKUP_CONTAINER,
                        command: ["backup"],
                        environment: environment("backup"),
                        secrets: secretsOf([...BACKUP_SECRETS, "databasePassword"]),
                        stopTimeout: 120,
                        logConfiguration: logConfig(backupLogs, BACKUP_CONTAINER),
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
        // backup.sh prints these lines. A failure alarms at once; a day without success
        // alarms too, which covers what prints nothing: a failed reconfigure, a task that
        // never started (scheduler, image, secrets) or was killed.
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
            new aws.cloudwatch.MetricAlarm(
                `${name}-backup-${suffix}`,
                { ...alarm, namespace: BACKUP_METRIC_NAMESPACE, metricName, statistic: "Sum", alarmActions: [a.alarms.topicArn] },
                parent,
            );
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

        // --- alarms
        serviceAlarms(
            name,
            {
                topicArn: a.alarms.topicArn,
                clusterName: a.clusterName,
                serviceName: physical,
                loadBalancerArnSuffix: a.loadBalancer.arnSuffix,
                targetGroupArnSuffixes: [web.arnSuffix],
                http5xxPercent: a.alarms.http5xxPercent,
                cpuPercent: a.alarms.cpuPercent,
                memoryPercent: a.alarms.memoryPercent,
            },
            parent,
        );
        fileSystemAlarm(`${name}-repositories`, { topicArn: a.alarms.topicArn, fileSystemId: efs.fileSystem.id, throughputMode: a.efsThroughputMode }, parent);

        // --- the service: one task, stopped before its replacement starts
        const service = new aws.ecs.Service(
            name,
            {
                name: physical,
                cluster: a.clusterArn,
                taskDefinition: taskDefinition.arn,
                desiredCount: 1,
                // Stop-first: the old task's Gitaly is gone before the new one starts on the same repositories.
                deploymentMinimumHealthyPercent: 0,
                deploymentMaximumPercent: 100,
                // No rollback, by circuit breaker or alarm: a new GitLab version migrates the
                // database as it starts, and the old version on a migrated schema is not
                // supported. A failed deployment stops and alarms; the fix is a new `pulumi up`
                // (or a restore). The alarms notify only: during the several minutes a fresh
                // task spends in reconfigure, its one target is unhealthy by design.
                ...fargateServiceBase({ spot: a.spot, subnetIds: a.privateSubnetIds, securityGroupId: sg.id, deploymentAlarmNames: [], rollback: false, execCommand: a.execCommand }),
                loadBalancers: [
                    { containerName: CONTAINER, containerPort: GITLAB_PORTS.http, targetGroupArn: web.arn },
                    { containerName: CONTAINER, containerPort: GITLAB_PORTS.registry, targetGroupArn: registry.arn },
                    { containerName: CONTAINER, containerPort: GITLAB_PORTS.ssh, targetGroupArn: ssh.targetGroup.arn },
                ],
                serviceRegistries: { registryArn: discovery.arn },
                healthCheckGracePeriodSeconds: GITLAB_GRACE_SECONDS,
            },
            {
                ...parent,
                dependsOn: [...listenerRules, ssh.listener, ssh.taskIngress, ...rules],
                // A first boot seeds the database; an upgrade migrates it.
                customTimeouts: { create: "45m", update: "45m" },
            },
        );

        this.url = `https://${a.hostName}`;
        this.registryUrl = `https://${a.registryHostName}`;
        this.sshHost = a.sshHostName;
        this.serviceName = service.name;
        this.logGroupName = logs.name;
        this.backupLogGroupName = backupLogs.name;
        this.fileSystemId = efs.fileSystem.id;
        this.taskSecurityGroupId = sg.id;
        this.backupBucket = buckets.backups.bucket;
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
        });
    }
}
