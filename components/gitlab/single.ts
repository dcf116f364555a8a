import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { fileSystemAlarm } from "../../aws/alarms";
import { backupPlan } from "../../aws/backupPlan";
import { fargateServiceBase } from "../../aws/ecsService";
import { taskRoles } from "../../aws/ecsTask";
import { logGroup } from "../../aws/logs";
import { allowPortFrom } from "../../aws/securityGroups";
import type { Entry, GitLabArgs, Topology } from "./gitlab";
import { GITLAB_GRACE_SECONDS, GitLabKit, RAILS_HEALTH_CHECK } from "./kit";
import { GITLAB_PORTS, REPOSITORY_ROOT } from "./omnibusConfig";
import { EXTERNAL_SECRETS, SECRET_ENV, SecretName } from "./secrets";
import { EFS_CLIENT_ACTIONS, fileSystemPolicy, RepositoryFileSystem, repositoryFileSystem } from "./storage";

const CONTAINER = "gitlab";

/** The secrets the single task receives: every generated one, the database's, and the OIDC client's if any. */
const SERVE_SECRETS: readonly SecretName[] = (Object.keys(SECRET_ENV) as SecretName[]).filter((k) => !(EXTERNAL_SECRETS as readonly string[]).includes(k));

/** Repositories on EFS, backed up daily by AWS Backup (the single topology; split with gitaly.storage efs). */
export function efsRepositories(kit: GitLabKit, a: GitLabArgs, name: string, clientSecurityGroupId: pulumi.Input<string>): RepositoryFileSystem {
    const efs = repositoryFileSystem(
        name,
        {
            vpcId: a.vpcId,
            subnetIds: a.privateSubnetIds,
            subnetCount: a.privateSubnetCount,
            clientSecurityGroupId,
            throughputMode: a.efsThroughputMode,
            protect: a.protectData,
        },
        kit.parent,
    );
    // Our own plan backs the file system up; EFS's automatic backups would be a second copy to pay for.
    new aws.efs.BackupPolicy(name, { fileSystemId: efs.fileSystem.id, backupPolicy: { status: "DISABLED" } }, kit.parent);
    backupPlan(
        name,
        { kind: "efs", resourceArns: [efs.fileSystem.arn], schedule: a.backup.fileSystemTime, retentionDays: a.backup.retentionDays, protect: a.protectData, region: a.region, naming: a.naming },
        kit.parent,
    );
    fileSystemAlarm(name, { topicArn: a.alarms.topicArn, fileSystemId: efs.fileSystem.id, throughputMode: a.efsThroughputMode }, kit.parent);
    return efs;
}

/** The task-role statement that mounts the repositories through their access point. */
export function efsMountStatement(efs: RepositoryFileSystem) {
    return {
        sid: "Repositories",
        actions: [...EFS_CLIENT_ACTIONS],
        resources: [efs.fileSystem.arn],
        conditions: { StringEquals: { "elasticfilesystem:AccessPointArn": efs.accessPoint.arn } },
    };
}

/**
 * The single topology: GitLab as one Omnibus task, repositories on EFS.
 *
 * Exactly one task, replaced stop-first (0 % / 100 %): the task's Gitaly is the
 * only writer of the repositories, and two Gitaly processes on one volume
 * corrupt them. Nothing autoscales here for the same reason.
 */
export function singleTopology(kit: GitLabKit, a: GitLabArgs, entry: Entry): Topology {
    const { name, parent, physical } = kit;
    const sg = entry.frontSecurityGroup;
    const gitalyFromBackup = allowPortFrom(
        `${name}-gitaly-from-backup`,
        { securityGroupId: sg.id, sourceSecurityGroupId: entry.backupSecurityGroup.id, port: GITLAB_PORTS.gitaly, description: "backup task to Gitaly" },
        parent,
    );
    const efs = efsRepositories(kit, a, `${name}-repositories`, sg.id);

    // Gitaly's stable name, for the backup task (Cloud Map A record of the one task).
    const discovery = kit.discovery("dns", CONTAINER);
    const gitalyAddress = pulumi.interpolate`${CONTAINER}.${kit.namespace.name}:${GITLAB_PORTS.gitaly}`;

    const logs = logGroup(name, { retentionInDays: a.logRetentionDays, naming: a.naming }, parent);
    const secretNames: SecretName[] = [...SERVE_SECRETS, "databasePassword", ...(a.oidc ? (["oidcClientSecret"] as const) : [])];
    const roles = taskRoles(
        name,
        {
            repositoryArns: [a.repositoryArn],
            secretArns: [...kit.secrets.arns, pulumi.output(a.database.secretArn), ...(a.oidc ? [pulumi.output(a.oidc.clientSecretArn)] : [])],
            logGroupArn: logs.arn,
            execCommand: a.execCommand,
            accountId: a.accountId,
            naming: a.naming,
            // Rails, Workhorse and the registry read and write every bucket; Gitaly writes repository backups.
            taskStatements: [...kit.railsBucketStatements("GitLab", true), efsMountStatement(efs)],
        },
        parent,
    );
    const fsPolicy = new aws.efs.FileSystemPolicy(
        `${name}-repositories`,
        { fileSystemId: efs.fileSystem.id, policy: fileSystemPolicy(efs.fileSystem.arn, efs.accessPoint.arn, roles.taskRole.arn) },
        parent,
    );

    const taskDefinition = new aws.ecs.TaskDefinition(
        name,
        {
            ...kit.fargateTask(a),
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
                    ...kit.omnibus,
                    name: CONTAINER,
                    command: ["serve"],
                    portMappings: [GITLAB_PORTS.http, GITLAB_PORTS.registry, GITLAB_PORTS.ssh, GITLAB_PORTS.gitaly].map((p) => ({ containerPort: p, protocol: "tcp" })),
                    environment: kit.environment(kit.config("single", a, { gitalyHost: gitalyAddress })),
                    secrets: kit.secretsOf(secretNames),
                    mountPoints: [{ sourceVolume: "repositories", containerPath: REPOSITORY_ROOT, readOnly: false }],
                    // gitlab-ctl stop needs time to stop Puma, Sidekiq, Gitaly and Redis cleanly; 120 s is ECS's limit.
                    stopTimeout: 120,
                    // The image's own check (the same command as its Docker HEALTHCHECK, which ECS ignores).
                    healthCheck: RAILS_HEALTH_CHECK,
                    logConfiguration: kit.logConfig(logs, CONTAINER),
                },
            ]),
        },
        // The mount needs the policy that lets the task role mount.
        { ...parent, dependsOn: [fsPolicy, ...efs.mountTargets] },
    );

    kit.frontAlarms(name, physical, entry.webTargetGroup);

    // One task, stopped before its replacement starts.
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
                { containerName: CONTAINER, containerPort: GITLAB_PORTS.http, targetGroupArn: entry.webTargetGroup.arn },
                { containerName: CONTAINER, containerPort: GITLAB_PORTS.registry, targetGroupArn: entry.registryTargetGroup.arn },
                { containerName: CONTAINER, containerPort: GITLAB_PORTS.ssh, targetGroupArn: entry.sshTargetGroup.arn },
            ],
            serviceRegistries: { registryArn: discovery.arn },
            healthCheckGracePeriodSeconds: GITLAB_GRACE_SECONDS,
        },
        {
            ...parent,
            dependsOn: [...entry.listeners, ...entry.frontRules, gitalyFromBackup],
            // A first boot seeds the database; an upgrade migrates it.
            customTimeouts: { create: "45m", update: "45m" },
        },
    );

    return { frontService: service, logGroupName: logs.name, gitalyAddress, fileSystemId: efs.fileSystem.id };
}
