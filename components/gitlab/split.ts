import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ecsServiceAlarms, serviceNotRunningAlarm } from "../../aws/alarms";
import { serviceAutoscaling } from "../../aws/autoscaling";
import { fargateServiceBase, serviceBase } from "../../aws/ecsService";
import { SecretSource, taskRoles } from "../../aws/ecsTask";
import { PolicyStatement } from "../../aws/iam";
import { logGroup } from "../../aws/logs";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { allowDatabaseClient } from "../database";
import { gitalyPlacement, GITALY_HOST_PATH } from "./gitalyHost";
import type { Entry, GitLabArgs, Topology } from "./gitlab";
import { GitLabKit, RAILS_HEALTH_CHECK, RoleExtras, WEB_GRACE_SECONDS } from "./kit";
import { MIGRATE_TASK_SIZE, migrationRun } from "./migrations";
import { GITLAB_PORTS, OmnibusRole, REPOSITORY_ROOT, SIDEKIQ_HEALTH_PORT } from "./omnibusConfig";
import { gitlabRedis } from "./redis";
import { RAILS_SECRETS, SecretName } from "./secrets";
import { efsMountStatement, efsRepositories } from "./single";
import { fileSystemPolicy } from "./storage";

/** One stateless tier: its Fargate size and its autoscaling range and targets. */
export interface TierArgs {
    readonly cpu: number;
    readonly memory: number;
    readonly minCount: number;
    readonly maxCount: number;
    readonly cpuTarget: number;
}

/** Gitaly on the EC2 host (gitalyHost.ts), reached through its capacity provider. */
export interface GitalyOnEbs {
    readonly kind: "ebs";
    readonly capacityProviderName: pulumi.Input<string>;
    readonly volumeId: pulumi.Input<string>;
    /** The host's subnet: the task's network interface must be in the volume's AZ. */
    readonly subnetId: pulumi.Input<string>;
}

export interface SplitArgs {
    readonly web: TierArgs & { readonly memoryTarget: number };
    readonly sidekiq: TierArgs;
    readonly gitaly: { readonly cpu: number; readonly memory: number; readonly storage: GitalyOnEbs | { readonly kind: "efs" } };
    readonly redis: { readonly engineVersion: string; readonly nodeType: string; readonly multiAz: boolean; readonly snapshotRetentionDays: number };
}

/** Seconds after a scale-out before the next, and after a scale-in: GitLab tasks take minutes to boot, so capacity leaves slowly. */
export const TIER_COOLDOWNS = { scaleOutCooldown: 120, scaleInCooldown: 600 } as const;

/** Each role's secrets: exactly what its rendered config and the entrypoint read. */
const SPLIT_RAILS_SECRETS: readonly SecretName[] = [...RAILS_SECRETS, "databasePassword", "redisPassword"];
export const ROLE_SECRETS = {
    web: [
        ...SPLIT_RAILS_SECRETS,
        "registryHttpSecret",
        "registryInternalKey",
        "registryInternalCertificate",
        "sshHostRsaKey",
        "sshHostEcdsaKey",
        "sshHostEd25519Key",
    ],
    sidekiq: [...SPLIT_RAILS_SECRETS, "registryInternalKey"],
    migrate: [...SPLIT_RAILS_SECRETS, "rootPassword"],
    gitaly: ["gitalyToken", "shellSecretToken"],
} as const satisfies Partial<Record<OmnibusRole, readonly SecretName[]>>;

/**
 * The split topology: web and Sidekiq tiers on Fargate that autoscale, one
 * Gitaly (an EC2 instance with an EBS volume, or a Fargate task on EFS),
 * ElastiCache, and migrations run once per deploy between them.
 *
 * What `pulumi up` does on a new image (dependsOn below): Gitaly rolls first
 * (servers before clients); then the migration task runs the regular
 * migrations (SKIP_POST_DEPLOYMENT_MIGRATIONS); only if it exits 0 do Sidekiq
 * and web roll, and once both are steady on the new version the
 * post-deployment migrations run. A failed migration fails the update there:
 * the old web and Sidekiq tasks keep serving (GitLab's regular migrations are
 * written to work with the previous version), nothing new takes traffic, and
 * the next `pulumi up` runs the migration again.
 */
export function splitTopology(kit: GitLabKit, a: GitLabArgs, s: SplitArgs, entry: Entry): Topology {
    const { name, parent, physical } = kit;
    const tier = (t: string) => `${name}-${t}`;
    const webSg = entry.frontSecurityGroup;
    const group = (t: string, what: string) => new aws.ec2.SecurityGroup(tier(t), { vpcId: a.vpcId, description: `${name}: ${what}` }, parent);
    const gitalySg = group("gitaly", "Gitaly (8075 from GitLab's tasks only)");
    const sidekiqSg = group("sidekiq", "the Sidekiq tier");
    const migrateSg = group("migrate", "the migration task");

    // --- who reaches whom: Gitaly from every Rails task and itself; the web tier from
    // Gitaly (its hooks call the internal API) and from Sidekiq (the registry's API).
    const gitalyClients = { web: webSg, sidekiq: sidekiqSg, migrate: migrateSg, backup: entry.backupSecurityGroup, gitaly: gitalySg };
    const gitalyRules = Object.entries(gitalyClients).map(([client, sg]) =>
        allowPortFrom(`${tier("gitaly")}-from-${client}`, { securityGroupId: gitalySg.id, sourceSecurityGroupId: sg.id, port: GITLAB_PORTS.gitaly, description: `${client} to Gitaly` }, parent),
    );
    const webRules = [
        allowPortFrom(`${tier("web")}-from-gitaly`, { securityGroupId: webSg.id, sourceSecurityGroupId: gitalySg.id, port: GITLAB_PORTS.http, description: "Gitaly hooks to the internal API" }, parent),
        allowPortFrom(`${tier("web")}-registry-from-sidekiq`, { securityGroupId: webSg.id, sourceSecurityGroupId: sidekiqSg.id, port: GITLAB_PORTS.registry, description: "Sidekiq to the registry API" }, parent),
    ];
    const outOf = (t: string, sg: aws.ec2.SecurityGroup) => allowAllEgress(`${tier(t)}-out`, sg.id, parent);
    const sidekiqRules = [outOf("sidekiq", sidekiqSg), allowDatabaseClient(`${tier("sidekiq")}-to-db`, a.database.securityGroupId, sidekiqSg.id, parent)];
    const migrateRules = [outOf("migrate", migrateSg), allowDatabaseClient(`${tier("migrate")}-to-db`, a.database.securityGroupId, migrateSg.id, parent)];
    const gitalyOut = outOf("gitaly", gitalySg);

    const redis = gitlabRedis(
        tier("redis"),
        {
            vpcId: a.vpcId,
            subnetIds: a.isolatedSubnetIds,
            clients: [
                { name: "web", securityGroupId: webSg.id },
                { name: "sidekiq", securityGroupId: sidekiqSg.id },
                { name: "migrate", securityGroupId: migrateSg.id },
            ],
            ...s.redis,
            logRetentionDays: a.logRetentionDays,
            alarmTopicArn: a.alarms.topicArn,
            protect: a.protectData,
            naming: a.naming,
        },
        parent,
    );
    const others: Partial<Record<SecretName, SecretSource>> = { redisPassword: redis.password };

    // --- private names: Gitaly for every Rails task (and Gitaly itself), the web tier for Gitaly's hooks and Sidekiq.
    const gitalyDns = kit.discovery("gitaly-dns", "gitaly");
    const webDns = kit.discovery("web-dns", "web");
    const gitalyAddress = pulumi.interpolate`gitaly.${kit.namespace.name}:${GITLAB_PORTS.gitaly}`;
    const webHost = pulumi.interpolate`web.${kit.namespace.name}`;
    const extras: pulumi.Output<RoleExtras> = pulumi.all([gitalyAddress, redis.host, webHost]).apply(([gitalyHost, redisHost, web]) => ({
        gitalyHost,
        redis: { host: redisHost, port: redis.port },
        internalApiUrl: `http://${web}`,
        registryApiUrl: `http://${web}:${GITLAB_PORTS.registry}`,
    }));

    // --- logs and roles, one set per tier
    const logs = (t: string) => logGroup(tier(t), { retentionInDays: a.logRetentionDays, naming: a.naming }, parent);
    const rolesFor = (t: keyof typeof ROLE_SECRETS, log: aws.cloudwatch.LogGroup, taskStatements: PolicyStatement[], execCommand = a.execCommand) =>
        taskRoles(
            tier(t),
            {
                repositoryArns: [a.repositoryArn],
                secretArns: kit.secretArnsOf(secretsFor(t), others),
                logGroupArn: log.arn,
                execCommand,
                accountId: a.accountId,
                naming: a.naming,
                taskStatements,
            },
            parent,
        );
    const secretsFor = (t: keyof typeof ROLE_SECRETS): SecretName[] => [...ROLE_SECRETS[t], ...(t === "web" && a.oidc ? (["oidcClientSecret"] as const) : [])];
    const container = (t: keyof typeof ROLE_SECRETS, role: OmnibusRole, size: { cpu: number; memory: number }, log: aws.cloudwatch.LogGroup, rest: Record<string, unknown>) => ({
        ...kit.omnibus,
        name: t,
        environment: kit.environment(kit.config(role, size, extras)),
        secrets: kit.secretsOf(secretsFor(t), others),
        // gitlab-ctl stop gets ECS's longest stop timeout.
        stopTimeout: 120,
        logConfiguration: kit.logConfig(log, t),
        ...rest,
    });

    /** A Rails tier on Fargate: its log group, its roles (the object and registry buckets) and its task definition; the role is the tier's name. */
    const fargateTier = (t: "web" | "sidekiq" | "migrate", size: { cpu: number; memory: number }, rest: Record<string, unknown>, execCommand = a.execCommand) => {
        const log = logs(t);
        const roles = rolesFor(t, log, kit.railsBucketStatements("GitLab", false), execCommand);
        const task = new aws.ecs.TaskDefinition(
            tier(t),
            {
                ...kit.fargateTask(size),
                family: `${physical}-${t}`,
                executionRoleArn: roles.executionRole.arn,
                taskRoleArn: roles.taskRole.arn,
                containerDefinitions: pulumi.jsonStringify([container(t, t, size, log, rest)]),
            },
            parent,
        );
        return { log, task };
    };

    // --- Gitaly: exactly one, never autoscaled, stopped before its replacement starts
    const gitalyLogs = logs("gitaly");
    const backupBucket = kit.buckets.backups;
    // Server-side repository backups: Gitaly writes and reads bundles in the backup bucket.
    const gitalyBucket: PolicyStatement[] = [
        { sid: "RepositoryBackups", actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], resources: [pulumi.interpolate`${backupBucket.arn}/*`] },
        { sid: "RepositoryBackupsList", actions: ["s3:ListBucket", "s3:GetBucketLocation"], resources: [backupBucket.arn] },
    ];
    // The health check: the image's gitlab-healthcheck passes trivially where no web server runs.
    const gitalyContainer = container("gitaly", "gitaly", s.gitaly, gitalyLogs, {
        command: ["worker"],
        portMappings: [{ containerPort: GITLAB_PORTS.gitaly, protocol: "tcp" }],
        mountPoints: [{ sourceVolume: "repositories", containerPath: REPOSITORY_ROOT, readOnly: false }],
        healthCheck: { command: ["CMD-SHELL", "/opt/gitlab/bin/gitlab-ctl status gitaly | grep -q '^run: gitaly:'"], interval: 30, timeout: 10, retries: 3, startPeriod: 300 },
    });
    // Both kinds of Gitaly: one task, stopped before its replacement starts, at its Cloud Map name.
    const gitalyCommon = {
        name: `${physical}-gitaly`,
        cluster: a.clusterArn,
        desiredCount: 1,
        deploymentMinimumHealthyPercent: 0,
        deploymentMaximumPercent: 100,
        serviceRegistries: { registryArn: gitalyDns.arn },
    };
    const gitalyServiceOpts = { ...parent, dependsOn: [...gitalyRules, gitalyOut], customTimeouts: { create: "30m", update: "30m" } };
    let gitalyService: aws.ecs.Service;
    let gitalyTask: aws.ecs.TaskDefinition;
    let fileSystemId: pulumi.Output<string> | undefined;
    const storage = s.gitaly.storage;
    if (storage.kind === "ebs") {
        const roles = rolesFor("gitaly", gitalyLogs, gitalyBucket);
        const td = (gitalyTask = new aws.ecs.TaskDefinition(
            tier("gitaly"),
            {
                family: `${physical}-gitaly`,
                cpu: String(s.gitaly.cpu),
                memory: String(s.gitaly.memory),
                networkMode: "awsvpc",
                requiresCompatibilities: ["EC2"],
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture },
                executionRoleArn: roles.executionRole.arn,
                taskRoleArn: roles.taskRole.arn,
                volumes: [{ name: "repositories", hostPath: GITALY_HOST_PATH }],
                // Only the instance that attached and mounted this volume carries the attribute.
                placementConstraints: [{ type: "memberOf", expression: pulumi.output(storage.volumeId).apply(gitalyPlacement) }],
                containerDefinitions: pulumi.jsonStringify([gitalyContainer]),
            },
            parent,
        ));
        gitalyService = new aws.ecs.Service(
            tier("gitaly"),
            {
                ...gitalyCommon,
                taskDefinition: td.arn,
                // On the host's capacity provider, in its subnet. Rolling Gitaly back is safe: it keeps
                // no schema, and older Gitaly serves newer clients within a release.
                ...serviceBase({
                    capacityProvider: storage.capacityProviderName,
                    subnetIds: [storage.subnetId],
                    securityGroupId: gitalySg.id,
                    deploymentAlarmNames: [],
                    rollback: true,
                    execCommand: a.execCommand,
                }),
            },
            gitalyServiceOpts,
        );
    } else {
        // seed 000's layout, offered but not supported by GitLab (README): Gitaly on EFS.
        const efs = efsRepositories(kit, a, `${name}-repositories`, gitalySg.id);
        fileSystemId = efs.fileSystem.id;
        const roles = rolesFor("gitaly", gitalyLogs, [...gitalyBucket, efsMountStatement(efs)]);
        const fsPolicy = new aws.efs.FileSystemPolicy(
            `${name}-repositories`,
            { fileSystemId: efs.fileSystem.id, policy: fileSystemPolicy(efs.fileSystem.arn, efs.accessPoint.arn, roles.taskRole.arn) },
            parent,
        );
        const td = (gitalyTask = new aws.ecs.TaskDefinition(
            tier("gitaly"),
            {
                ...kit.fargateTask(s.gitaly),
                family: `${physical}-gitaly`,
                executionRoleArn: roles.executionRole.arn,
                taskRoleArn: roles.taskRole.arn,
                volumes: [
                    {
                        name: "repositories",
                        efsVolumeConfiguration: { fileSystemId: efs.fileSystem.id, transitEncryption: "ENABLED", authorizationConfig: { accessPointId: efs.accessPoint.id, iam: "ENABLED" } },
                    },
                ],
                containerDefinitions: pulumi.jsonStringify([gitalyContainer]),
            },
            { ...parent, dependsOn: [fsPolicy, ...efs.mountTargets] },
        ));
        gitalyService = new aws.ecs.Service(
            tier("gitaly"),
            {
                ...gitalyCommon,
                taskDefinition: td.arn,
                ...fargateServiceBase({ spot: a.spot, subnetIds: a.privateSubnetIds, securityGroupId: gitalySg.id, deploymentAlarmNames: [], rollback: true, execCommand: a.execCommand }),
            },
            gitalyServiceOpts,
        );
    }
    ecsServiceAlarms(tier("gitaly"), { topicArn: a.alarms.topicArn, clusterName: a.clusterName, serviceName: `${physical}-gitaly`, cpuPercent: a.alarms.cpuPercent, memoryPercent: a.alarms.memoryPercent }, parent);
    // No Gitaly task for ten minutes: a host that never joined the cluster, a task that cannot
    // be placed or keeps failing. Container Insights (always on) counts the running tasks.
    serviceNotRunningAlarm(
        `${tier("gitaly")}-not-running`,
        { topicArn: a.alarms.topicArn, description: `${name}: no Gitaly task running (repositories unreachable)`, clusterName: a.clusterName, serviceName: `${physical}-gitaly` },
        { ...parent, dependsOn: [gitalyService] },
    );

    // --- migrations: the only task with auto_migrate on, run by `pulumi up` around the tiers
    const { log: migrateLogs, task: migrateTask } = fargateTier("migrate", MIGRATE_TASK_SIZE, { command: ["migrate"] }, false);
    const migration = (step: "migrate" | "post-migrate", after: { service: aws.ecs.Service; taskDefinition: aws.ecs.TaskDefinition }[], dependsOn: pulumi.Resource[] = []) =>
        migrationRun(
            tier(step),
            {
                step,
                clusterArn: a.clusterArn,
                taskDefinition: migrateTask,
                container: "migrate",
                subnetIds: a.privateSubnetIds,
                securityGroupId: migrateSg.id,
                logGroupName: migrateLogs.name,
                region: a.region,
                after,
            },
            { ...parent, dependsOn },
        );
    // Gitaly first (servers before clients), and whatever the migration task reaches.
    const migrate = migration("migrate", [{ service: gitalyService, taskDefinition: gitalyTask }], [redis.group, ...migrateRules]);

    // --- web: Puma, Workhorse, NGINX, the registry and sshd behind the ALB and NLB
    const { log: webLogs, task: webTask } = fargateTier("web", s.web, {
        command: ["serve"],
        portMappings: [GITLAB_PORTS.http, GITLAB_PORTS.registry, GITLAB_PORTS.ssh].map((p) => ({ containerPort: p, protocol: "tcp" })),
        healthCheck: RAILS_HEALTH_CHECK,
    });
    const webAlarms = kit.frontAlarms(tier("web"), `${physical}-web`, entry.webTargetGroup);
    // Autoscaling owns desiredCount after creation.
    const scaled = { ignoreChanges: ["desiredCount"], customTimeouts: { create: "45m", update: "45m" } };
    const webService = new aws.ecs.Service(
        tier("web"),
        {
            name: `${physical}-web`,
            cluster: a.clusterArn,
            taskDefinition: webTask.arn,
            desiredCount: s.web.minCount,
            deploymentMinimumHealthyPercent: 100,
            deploymentMaximumPercent: 200,
            // Rolling back is safe here: the regular migrations already ran and GitLab writes
            // them to work with the previous version; post-deployment ones run only after.
            ...fargateServiceBase({
                spot: a.spot,
                subnetIds: a.privateSubnetIds,
                securityGroupId: webSg.id,
                deploymentAlarmNames: webAlarms.deploymentAlarms.map((x) => x.name),
                rollback: true,
                execCommand: a.execCommand,
            }),
            loadBalancers: [
                { containerName: "web", containerPort: GITLAB_PORTS.http, targetGroupArn: entry.webTargetGroup.arn },
                { containerName: "web", containerPort: GITLAB_PORTS.registry, targetGroupArn: entry.registryTargetGroup.arn },
                { containerName: "web", containerPort: GITLAB_PORTS.ssh, targetGroupArn: entry.sshTargetGroup.arn },
            ],
            serviceRegistries: { registryArn: webDns.arn },
            healthCheckGracePeriodSeconds: WEB_GRACE_SECONDS,
        },
        { ...parent, ...scaled, dependsOn: [migrate, ...entry.listeners, ...entry.frontRules, ...webRules] },
    );
    serviceAutoscaling(
        `${tier("web")}-scaling`,
        { clusterName: a.clusterName, serviceName: webService.name, minCount: s.web.minCount, maxCount: s.web.maxCount, cpuTarget: s.web.cpuTarget, memoryTarget: s.web.memoryTarget, ...TIER_COOLDOWNS },
        parent,
    );

    // --- Sidekiq: jobs only, health checked on its own endpoint
    const { task: sidekiqTask } = fargateTier("sidekiq", s.sidekiq, {
        command: ["worker"],
        healthCheck: {
            command: ["CMD", "/opt/gitlab/embedded/bin/curl", "--fail", "--silent", "--max-time", "5", `http://127.0.0.1:${SIDEKIQ_HEALTH_PORT}/readiness`],
            interval: 30,
            timeout: 10,
            retries: 3,
            startPeriod: 300,
        },
    });
    const sidekiqService = new aws.ecs.Service(
        tier("sidekiq"),
        {
            name: `${physical}-sidekiq`,
            cluster: a.clusterArn,
            taskDefinition: sidekiqTask.arn,
            desiredCount: s.sidekiq.minCount,
            deploymentMinimumHealthyPercent: 100,
            deploymentMaximumPercent: 200,
            ...fargateServiceBase({ spot: a.spot, subnetIds: a.privateSubnetIds, securityGroupId: sidekiqSg.id, deploymentAlarmNames: [], rollback: true, execCommand: a.execCommand }),
        },
        { ...parent, ...scaled, dependsOn: [migrate, ...sidekiqRules] },
    );
    serviceAutoscaling(
        `${tier("sidekiq")}-scaling`,
        { clusterName: a.clusterName, serviceName: sidekiqService.name, minCount: s.sidekiq.minCount, maxCount: s.sidekiq.maxCount, cpuTarget: s.sidekiq.cpuTarget, ...TIER_COOLDOWNS },
        parent,
    );
    ecsServiceAlarms(tier("sidekiq"), { topicArn: a.alarms.topicArn, clusterName: a.clusterName, serviceName: `${physical}-sidekiq`, cpuPercent: a.alarms.cpuPercent, memoryPercent: a.alarms.memoryPercent }, parent);

    // --- post-deployment migrations, once every tier runs the new version
    migration("post-migrate", [
        { service: webService, taskDefinition: webTask },
        { service: sidekiqService, taskDefinition: sidekiqTask },
    ]);

    return { frontService: webService, logGroupName: webLogs.name, gitalyAddress, fileSystemId };
}
