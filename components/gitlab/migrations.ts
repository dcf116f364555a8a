import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { GitLabArgs, GitLabKit } from "./types";

/** The one-off task hook (hooks/runTask.ts), run by Pulumi in the project directory through its stable entry point. */
export const RUN_TASK_COMMAND = "node_modules/.bin/ts-node --transpile-only tools/runTask.ts";

/** The migration task's size: Rails and reconfigure, no services. */
export const MIGRATE_TASK_SIZE = { cpu: 2048, memory: 6144 } as const;

/**
 * Minutes one migration step may take inside `pulumi up` after the services
 * it follows are checked: waiting for a migration an earlier update left
 * running, then its own run (one bound in runTask); after that `up` fails and
 * the task keeps running, and the next `up` waits for it instead of starting
 * a second. A small team's regular migrations take minutes.
 *
 * One `up` runs a chain of waits, so the steps also share one deadline
 * (hooks/deadline.ts): the CI deploy job's DEPLOY_DEADLINE, its start + 120
 * (`.deploy` timeout) - 5 (PULUMI_MARGIN_MINUTES) = 115 minutes. Each step's
 * waits end by it less RESERVE_MINUTES, the provider's rollout waits that
 * follow the step, and no task starts with less than 10 (MIN_RUN_MINUTES)
 * left. Worst case, minutes from the job's start, t0 = when `up` reaches
 * the first rollout (after npm ci, the admin gate's preview, the image builds):
 *
 *   split (prod)  Gitaly rollout        ≤ t0 + 30   (GITALY_ROLLOUT_MINUTES)
 *                 migrate               ends by 115 - 45 = 70
 *                 web + Sidekiq rollout ≤ 70 + 45 = 115 (SERVICE_ROLLOUT_MINUTES)
 *                 post-migrate          ends by 115 - 0 = 115
 *   single (dev)  migrate               ends by 70
 *                 the task's rollout    ≤ 115
 *                 post-migrate          ends by 115
 *
 * Every wait ends by 115 and Pulumi keeps 5 of the job's 120 to write its
 * state. Without the shared deadline the chain's bounds add up to 30 +
 * (45 + 40) + 45 + (45 + 40) = 245 minutes (split; single 215): the runner
 * would kill `up` halfway. With an ordinary start (image builds and Gitaly's
 * rollout done within 30 minutes) a migration still gets its full 40.
 * tests/deployTimeline.test.ts runs runTask along the stacks' real graphs.
 */
export const MIGRATION_TIMEOUT_MINUTES = 40;

/** Minutes `pulumi up` waits for a GitLab web, Sidekiq or single service to roll out (the provider's waitForSteadyState; their customTimeouts). */
export const SERVICE_ROLLOUT_MINUTES = 45;

/** Minutes it waits for Gitaly's (stop-first, one task: stop, place, pull, reconfigure). */
export const GITALY_ROLLOUT_MINUTES = 30;

/**
 * What each step keeps of the shared deadline for the rollouts that wait for
 * it, in both topologies: after `migrate` the services roll (web and Sidekiq,
 * or the single task), each waited for up to SERVICE_ROLLOUT_MINUTES; after
 * `post-migrate` nothing of GitLab.
 */
export const RESERVE_MINUTES = { migrate: SERVICE_ROLLOUT_MINUTES, "post-migrate": 0 } as const;

/**
 * The two migration steps of a split deploy, in GitLab's zero-downtime order
 * (entrypoint.sh modes): `migrate` runs the regular migrations before any new
 * Rails code serves, `post-migrate` the post-deployment ones once every tier
 * runs the new version.
 */
export const MIGRATION_STEPS = ["migrate", "post-migrate"] as const;
export type MigrationStep = (typeof MIGRATION_STEPS)[number];

export interface MigrationRunArgs {
    readonly step: MigrationStep;
    readonly clusterArn: pulumi.Input<string>;
    readonly taskDefinition: aws.ecs.TaskDefinition;
    readonly container: string;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly logGroupName: pulumi.Input<string>;
    readonly region: string;
    /**
     * The services this step follows, and the task definition each must run
     * (rollout completed) before it starts: the provider can record a service
     * as updated although ECS rolled it back (or the update failed halfway), so
     * dependsOn alone cannot prove the new version runs.
     */
    readonly after: readonly { readonly service: aws.ecs.Service; readonly taskDefinition: aws.ecs.TaskDefinition }[];
}

/** A migration step of the topology's migration task: `(step, services it follows, other dependencies) => Command`. */
export type MigrationSteps = (step: MigrationStep, after: MigrationRunArgs["after"], dependsOn?: pulumi.Resource[]) => command.local.Command;

/**
 * The two steps of one topology's migration task, as `pulumi up` runs them
 * (named `<name>-migrate`, `<name>-post-migrate`), from the private subnets in
 * the task's own security group.
 */
export function migrationSteps(kit: GitLabKit, a: GitLabArgs, m: { readonly task: aws.ecs.TaskDefinition; readonly log: aws.cloudwatch.LogGroup; readonly securityGroupId: pulumi.Input<string> }): MigrationSteps {
    return (step, after, dependsOn = []) =>
        migrationRun(
            `${kit.name}-${step}`,
            {
                step,
                clusterArn: a.cluster.arn,
                taskDefinition: m.task,
                container: "migrate",
                subnetIds: a.network.subnetIds.private,
                securityGroupId: m.securityGroupId,
                logGroupName: m.log.name,
                region: a.context.region,
                after,
            },
            { ...kit.parent, dependsOn },
        );
}

/**
 * One migration step as a command Pulumi runs during `pulumi up` (never on a
 * preview): hooks/runTask.ts starts the migration task and fails the update
 * unless it exits 0. Its trigger is the task definition's revision, which
 * changes with the image and the configuration: one run per deploy that
 * changes GitLab, none otherwise (and again when a service it follows gets a
 * new revision, so a step refused after a rollback runs once the rollout
 * succeeds). It depends on the services in `after`, and refuses to start
 * unless they run those revisions. On regular FARGATE always: a Spot reclaim
 * halfway through a migration is not worth the saving.
 */
export function migrationRun(name: string, args: MigrationRunArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    return new command.local.Command(
        name,
        {
            create: RUN_TASK_COMMAND,
            environment: {
                AWS_REGION: args.region,
                CLUSTER: args.clusterArn,
                TASK_DEFINITION: args.taskDefinition.arn,
                CONTAINER: args.container,
                COMMAND: JSON.stringify([args.step]),
                SUBNETS: pulumi.jsonStringify(args.subnetIds),
                SECURITY_GROUPS: pulumi.jsonStringify([args.securityGroupId]),
                CAPACITY_PROVIDER: "FARGATE",
                TIMEOUT_MINUTES: String(MIGRATION_TIMEOUT_MINUTES),
                // Only where it is not 0 (post-migrate's inputs stay as they were). The
                // deadline itself is no input: the command inherits DEPLOY_DEADLINE from the job.
                ...(RESERVE_MINUTES[args.step] > 0 ? { RESERVE_MINUTES: String(RESERVE_MINUTES[args.step]) } : {}),
                LOG_GROUP: args.logGroupName,
                EXPECT_SERVICES: pulumi.jsonStringify(args.after.map((x) => ({ service: x.service.name, taskDefinition: x.taskDefinition.arn }))),
            },
            triggers: [args.taskDefinition.arn, ...args.after.map((x) => x.taskDefinition.arn)],
            // Progress on stderr; stdout is the task ARN.
            logging: "stderr",
        },
        { ...opts, dependsOn: [...args.after.map((x) => x.service), ...((opts.dependsOn as pulumi.Resource[] | undefined) ?? [])] },
    );
}
