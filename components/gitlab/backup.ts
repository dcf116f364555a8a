import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DailyTime, dailyCron } from "../../aws/backupPlan";
import { taskRoles } from "../../aws/ecsTask";
import { serviceRole } from "../../aws/iam";
import { logGroup } from "../../aws/logs";
import { Naming, physicalName } from "../../facts/naming";
import { bucketStatements } from "./kit";
import { RAILS_SECRETS } from "./secrets";
import { Entry, GitLabArgs, GitLabKit, SecretName } from "./types";

/** The backup task's size: Rails for the rake task, a local Redis and pg_dump; no web or Sidekiq. */
export const BACKUP_TASK_SIZE = { cpu: 2048, memory: 6144 } as const;

/** What gitlab/backup.sh prints at the end of a run; metric filters count them. */
export const BACKUP_LOG_LINES = { succeeded: "platform-backup: succeeded", failed: "platform-backup: failed" } as const;

const BACKUP_METRIC_NAMESPACE = "Platform/GitLab";

const BACKUP_CONTAINER = "backup";

export interface ScheduledBackupArgs {
    readonly clusterArn: pulumi.Input<string>;
    /** The backup task definition, and its family by name. */
    readonly taskDefinition: aws.ecs.TaskDefinition;
    /**
     * The family, as a plain name: the role's policy is built from it, not from
     * the task definition's ARN, which is unknown in a preview whenever a new
     * image replaces the task definition; the policy (an administrator's change,
     * ci/adminGate.ts) then stays the same from deploy to deploy.
     */
    readonly family: string;
    /** The roles the task runs with; the scheduler may pass exactly these. */
    readonly taskRoleArn: pulumi.Input<string>;
    readonly executionRoleArn: pulumi.Input<string>;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly time: DailyTime;
    readonly accountId: pulumi.Input<string>;
    readonly region: string;
    readonly naming: Naming;
}

/**
 * Runs the backup task once a day through EventBridge Scheduler. The
 * scheduler's role may start only this task family, only in this cluster, and
 * pass only its two roles to ECS.
 */
export function scheduledBackup(name: string, args: ScheduledBackupArgs, opts: pulumi.CustomResourceOptions): aws.scheduler.Schedule {
    const role = serviceRole(
        `${name}-scheduler`,
        {
            service: "scheduler.amazonaws.com",
            sourceAccount: args.accountId,
            naming: args.naming,
            statements: [
                {
                    sid: "RunBackupTask",
                    actions: ["ecs:RunTask"],
                    resources: [pulumi.interpolate`arn:aws:ecs:${args.region}:${args.accountId}:task-definition/${args.family}:*`],
                    conditions: { ArnEquals: { "ecs:cluster": args.clusterArn } },
                },
                {
                    sid: "PassTaskRoles",
                    actions: ["iam:PassRole"],
                    resources: [args.taskRoleArn, args.executionRoleArn],
                    conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
                },
                {
                    // Managed and propagated tags on the task it starts.
                    sid: "TagTask",
                    actions: ["ecs:TagResource"],
                    resources: [pulumi.interpolate`arn:aws:ecs:${args.region}:${args.accountId}:task/*`],
                    conditions: { StringEquals: { "ecs:CreateAction": "RunTask" } },
                },
            ],
        },
        opts,
    );
    return new aws.scheduler.Schedule(
        name,
        {
            name: physicalName(args.naming, name, 64),
            description: "daily gitlab-backup create to the backup bucket",
            scheduleExpression: dailyCron(args.time),
            scheduleExpressionTimezone: args.time.timezone,
            flexibleTimeWindow: { mode: "OFF" },
            state: "ENABLED",
            target: {
                arn: args.clusterArn,
                roleArn: role.arn,
                // A failed start is retried for an hour; a backup that ran and failed is not (its logs and alarm say so).
                retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
                ecsParameters: {
                    taskDefinitionArn: args.taskDefinition.arn,
                    launchType: "FARGATE",
                    taskCount: 1,
                    networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: false },
                    enableEcsManagedTags: true,
                    propagateTags: "TASK_DEFINITION",
                },
            },
        },
        opts,
    );
}

/**
 * The daily backup: a one-off Rails task that reaches the topology's Gitaly
 * at `gitalyAddress`, run by EventBridge Scheduler once its security group's
 * rules exist, and alarmed on. Returns its log group.
 */
export function gitlabBackup(kit: GitLabKit, a: GitLabArgs, entry: Entry, gitalyAddress: pulumi.Output<string>, rules: pulumi.Resource[]): aws.cloudwatch.LogGroup {
    const { name, parent } = kit;
    const backupLogs = logGroup(`${name}-backup`, { retentionInDays: a.context.logRetentionDays, naming: a.context.naming }, parent);
    const backupSecrets: SecretName[] = [...RAILS_SECRETS, "databasePassword"];
    const backupRoles = taskRoles(
        `${name}-backup`,
        {
            repositoryArns: a.image.repositoryArns,
            secretArns: [kit.secrets.arns[0], kit.secrets.arns[1], pulumi.output(a.database.secretArn)],
            logGroupArn: backupLogs.arn,
            execCommand: false,
            accountId: a.context.accountId,
            naming: a.context.naming,
            // The archive upload: no reading or deleting what is already there.
            taskStatements: bucketStatements("Backups", [kit.buckets.backups], ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]),
        },
        parent,
    );
    const backupFamily = physicalName(a.context.naming, `${name}-backup`);
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
                    // The backup role runs no Puma or Sidekiq: its config does not depend on the size.
                    environment: kit.environment(kit.config("backup", BACKUP_TASK_SIZE, { gitalyHost: gitalyAddress })),
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
            clusterArn: a.cluster.arn,
            taskDefinition: backupTask,
            family: backupFamily,
            taskRoleArn: backupRoles.taskRole.arn,
            executionRoleArn: backupRoles.executionRole.arn,
            subnetIds: a.network.subnetIds.private,
            securityGroupId: entry.backupSecurityGroup.id,
            time: a.backup.time,
            accountId: a.context.accountId,
            region: a.context.region,
            naming: a.context.naming,
        },
        { ...parent, dependsOn: rules },
    );
    backupAlarms(kit, backupLogs, a.alarms.topicArn);
    return backupLogs;
}

/**
 * backup.sh prints these lines. A failure alarms at once; a day without success
 * alarms too, which covers what prints nothing: a failed reconfigure, a task that
 * never started (scheduler, image, secrets) or was killed.
 */
function backupAlarms(kit: GitLabKit, backupLogs: aws.cloudwatch.LogGroup, topicArn: pulumi.Input<string>): void {
    const { name, parent, physical } = kit;
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
