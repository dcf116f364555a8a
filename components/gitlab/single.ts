import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { fargateServiceBase } from "../../aws/ecsService";
import { taskRoles } from "../../aws/ecsTask";
import { logGroup } from "../../aws/logs";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { allowDatabaseClient } from "../database";
import { efsMount, efsMountStatement, efsRepositories } from "./efs";
import { RESTORE_HOLD_SECONDS } from "./facts";
import { MIGRATE_TASK_SIZE, MigrationSteps, migrationSteps, SERVICE_ROLLOUT_MINUTES } from "./migrations";
import { REPOSITORY_ROOT } from "./omnibusConfig";
import { GITLAB_PORTS } from "./gitlabRb";
import { GITLAB_GRACE_SECONDS, healthyFloor, SINGLE_HEALTH_CHECK, SINGLE_WARMUP, STOP_TIMEOUT_SECONDS } from "./readiness";
import { isExternalSecret, RAILS_SECRETS, SECRET_ENV } from "./secrets";
import { RepositoryFileSystem } from "./storage";
import { Entry, GitLabArgs, GitLabKit, SecretName, SingleArgs, Topology } from "./types";

const CONTAINER = "gitlab";

/** The deployment's minimum healthy percent: 0, the old task stops before the new one starts. */
const STOP_FIRST_PERCENT = 0;

/** The secrets the single task receives: every generated one but the root password (only a seed reads it), the database's, and the OIDC client's if any. */
const SERVE_SECRETS: readonly SecretName[] = (Object.keys(SECRET_ENV) as SecretName[]).filter((k) => !isExternalSecret(k) && k !== "rootPassword");

/** The migration task's: Rails', the database's, the root password for a first boot's seed, and the registry database's (it creates the registry's role and migrates it). */
const MIGRATE_SECRETS: readonly SecretName[] = [...RAILS_SECRETS, "databasePassword", "rootPassword", "registryDatabasePassword"];

/**
 * The single topology: GitLab as one Omnibus task, repositories on EFS.
 *
 * Exactly one task, replaced stop-first (0 % / 100 %): the task's Gitaly is the
 * only writer of the repositories, and two Gitaly processes on one volume
 * corrupt them. Nothing autoscales here for the same reason.
 *
 * It never migrates: the split topology's migration task does (migrations.ts),
 * on regular FARGATE, run by `pulumi up`: `migrate` before the task rolls
 * (reaching the running task's Gitaly by name), `post-migrate` once the new
 * revision runs. A migration inside the task's reconfigure would live within
 * its windows: the 930 s grace, the container check's 300 s + 10 × 60 s, a
 * Spot reclaim's 120 s and the 120 s stop timeout, after which SIGKILL cuts
 * it halfway. The task's own start is reconfigure without migrations, then
 * Puma: minutes, inside those windows. A migration is bounded only by how
 * long `pulumi up` waits for it (MIGRATION_TIMEOUT_MINUTES, or the deploy's
 * deadline: migrations.ts), after which it keeps running and is waited for.
 */
export function singleTopology(kit: GitLabKit, a: GitLabArgs, size: SingleArgs, entry: Entry): Topology {
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

    const logs = logGroup(name, { retentionInDays: a.context.logRetentionDays, naming: a.context.naming }, parent);
    const taskDefinition = singleTask(kit, a, size, efs, logs, gitalyAddress);
    const migration = singleMigrations(kit, a, sg, gitalyAddress);
    // Regular migrations before the new revision starts, while the old task (and its Gitaly) serves.
    const migrate = migration("migrate", []);

    // Notify only (below): the healthy-host floor outlasts a stop-first replacement.
    kit.frontAlarms(name, physical, entry.webTargetGroup, healthyFloor(1, SINGLE_WARMUP, { minimumHealthyPercent: STOP_FIRST_PERCENT }));

    // One task, stopped before its replacement starts.
    const service = new aws.ecs.Service(
        name,
        {
            name: physical,
            cluster: a.cluster.arn,
            taskDefinition: taskDefinition.arn,
            desiredCount: 1,
            // Stop-first: the old task's Gitaly is gone before the new one starts on the same repositories.
            deploymentMinimumHealthyPercent: STOP_FIRST_PERCENT,
            deploymentMaximumPercent: 100,
            // No rollback, by circuit breaker or alarm: with one task stopped first, a
            // rollback is a second outage as long as the first, onto a schema the new
            // version's migrations already changed. A failed deployment stops and alarms;
            // the fix is a new `pulumi up` (or a restore). The alarms notify only.
            ...fargateServiceBase({ spot: a.spot, subnetIds: a.network.subnetIds.private, securityGroupId: sg.id, deploymentAlarmNames: [], rollback: false, execCommand: a.execCommand }),
            loadBalancers: [
                { containerName: CONTAINER, containerPort: GITLAB_PORTS.http, targetGroupArn: entry.webTargetGroup.arn },
                { containerName: CONTAINER, containerPort: GITLAB_PORTS.registry, targetGroupArn: entry.registryTargetGroup.arn },
                { containerName: CONTAINER, containerPort: GITLAB_PORTS.ssh, targetGroupArn: entry.sshTargetGroup.arn },
            ],
            serviceRegistries: { registryArn: discovery.arn },
            // A restore's hold (gitlab.holdForRestore) stretches the grace to RESTORE_HOLD_SECONDS
            // so the load balancer's failed checks while Puma is stopped do not replace the task.
            healthCheckGracePeriodSeconds: size.holdForRestore ? RESTORE_HOLD_SECONDS : GITLAB_GRACE_SECONDS,
        },
        {
            ...parent,
            dependsOn: [...entry.listeners, ...entry.frontRules, gitalyFromBackup, migrate],
            // Stop the old task (at most 120 s), start the new one: reconfigure without
            // migrations and Puma take minutes; 45 m leaves room for a slow image pull.
            // `gitlab-migrate` keeps these minutes of the deploy's deadline (migrations.ts).
            customTimeouts: { create: `${SERVICE_ROLLOUT_MINUTES}m`, update: `${SERVICE_ROLLOUT_MINUTES}m` },
        },
    );
    // Post-deployment migrations once the new revision runs.
    migration("post-migrate", [{ service, taskDefinition }]);

    return { frontService: service, logGroupName: logs.name, gitalyAddress, fileSystemId: efs.fileSystem.id, backupVaultName: efs.backupVaultName };
}

/**
 * The migration task: Rails only (omnibusConfig.ts `migrate`), its own
 * security group reaching the database, and the single task's Gitaly by name.
 */
function singleMigrations(kit: GitLabKit, a: GitLabArgs, taskSg: aws.ec2.SecurityGroup, gitalyAddress: pulumi.Output<string>): MigrationSteps {
    const { name, parent, physical } = kit;
    const tier = `${name}-migrate`;
    const sg = new aws.ec2.SecurityGroup(tier, { vpcId: a.network.vpcId, description: `${name}: the migration task` }, parent);
    const rules = [
        allowAllEgress(`${tier}-out`, sg.id, parent),
        allowDatabaseClient(`${tier}-to-db`, a.database.securityGroupId, sg.id, parent),
        allowPortFrom(`${name}-gitaly-from-migrate`, { securityGroupId: taskSg.id, sourceSecurityGroupId: sg.id, port: GITLAB_PORTS.gitaly, description: "migration task to Gitaly" }, parent),
    ];
    const log = logGroup(tier, { retentionInDays: a.context.logRetentionDays, naming: a.context.naming }, parent);
    const roles = taskRoles(
        tier,
        {
            repositoryArns: a.image.repositoryArns,
            secretArns: kit.secretArnsOf(MIGRATE_SECRETS),
            logGroupArn: log.arn,
            execCommand: false,
            accountId: a.context.accountId,
            naming: a.context.naming,
            taskStatements: kit.railsBucketStatements("GitLab", false),
        },
        parent,
    );
    const task = new aws.ecs.TaskDefinition(
        tier,
        {
            ...kit.fargateTask(MIGRATE_TASK_SIZE),
            family: `${physical}-migrate`,
            executionRoleArn: roles.executionRole.arn,
            taskRoleArn: roles.taskRole.arn,
            containerDefinitions: pulumi.jsonStringify([
                {
                    ...kit.omnibus,
                    name: "migrate",
                    // entrypoint.sh's mode; each step overrides it with its own.
                    command: ["migrate"],
                    environment: kit.environment(kit.config("migrate", MIGRATE_TASK_SIZE, { gitalyHost: gitalyAddress }), "migrate"),
                    secrets: kit.secretsOf(MIGRATE_SECRETS),
                    stopTimeout: 120,
                    logConfiguration: kit.logConfig(log, "migrate"),
                },
            ]),
        },
        parent,
    );
    const steps = migrationSteps(kit, a, { task, log, securityGroupId: sg.id });
    return (step, after, dependsOn = []) => steps(step, after, [...rules, ...dependsOn]);
}

/** The one task: every service of GitLab in one container, its roles, and the repositories mounted from EFS. */
function singleTask(kit: GitLabKit, a: GitLabArgs, size: SingleArgs, efs: RepositoryFileSystem, logs: aws.cloudwatch.LogGroup, gitalyAddress: pulumi.Output<string>): aws.ecs.TaskDefinition {
    const { name, parent, physical } = kit;
    const secretNames: SecretName[] = [...SERVE_SECRETS, "databasePassword", ...(a.oidc ? (["oidcClientSecret"] as const) : []), ...kit.mailSecrets("single")];
    const roles = taskRoles(
        name,
        {
            repositoryArns: a.image.repositoryArns,
            secretArns: kit.secretArnsOf(secretNames),
            logGroupArn: logs.arn,
            execCommand: a.execCommand,
            accountId: a.context.accountId,
            naming: a.context.naming,
            // Rails, Workhorse and the registry read and write every bucket; Gitaly writes repository backups.
            taskStatements: [...kit.railsBucketStatements("GitLab", true), efsMountStatement(efs)],
        },
        parent,
    );
    const mount = efsMount(kit, efs, roles.taskRole.arn);
    return new aws.ecs.TaskDefinition(
        name,
        {
            ...kit.fargateTask(size),
            family: physical,
            executionRoleArn: roles.executionRole.arn,
            taskRoleArn: roles.taskRole.arn,
            volumes: [mount.volume],
            containerDefinitions: pulumi.jsonStringify([
                {
                    ...kit.omnibus,
                    name: CONTAINER,
                    command: ["serve"],
                    portMappings: [GITLAB_PORTS.http, GITLAB_PORTS.registry, GITLAB_PORTS.ssh, GITLAB_PORTS.gitaly].map((p) => ({ containerPort: p, protocol: "tcp" })),
                    environment: kit.environment(kit.config("single", size, { gitalyHost: gitalyAddress }), "single"),
                    secrets: kit.secretsOf(secretNames),
                    mountPoints: [{ sourceVolume: "repositories", containerPath: REPOSITORY_ROOT, readOnly: false }],
                    // gitlab-ctl stop needs time to stop Puma, Sidekiq, Gitaly and Redis cleanly; 120 s is ECS's limit.
                    stopTimeout: STOP_TIMEOUT_SECONDS,
                    // Healthy once Puma answers /-/readiness (readiness.ts): not the image's
                    // gitlab-healthcheck, which passes before reconfigure has finished.
                    // Held for a restore (gitlab.holdForRestore): no container check at all, so
                    // stopping Puma never marks the task unhealthy. Dropping it also changes the
                    // task definition, and so `pulumi up` starts a new task: ECS counts the
                    // grace period from a task's start, and a task started days ago would not
                    // be covered by a grace raised on the service alone (the service's
                    // RESTORE_HOLD_SECONDS starts with the new task).
                    ...(size.holdForRestore ? {} : { healthCheck: SINGLE_HEALTH_CHECK }),
                    logConfiguration: kit.logConfig(logs, CONTAINER),
                },
            ]),
        },
        // The mount needs the policy that lets the task role mount.
        { ...parent, dependsOn: mount.dependsOn },
    );
}
