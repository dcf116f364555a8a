import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DailyTime, dailyCron } from "../../aws/backupPlan";
import { serviceRole } from "../../aws/iam";
import { Naming, physicalName } from "../../facts/naming";

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
