import * as pulumi from "@pulumi/pulumi";
import { PolicyStatement, ServiceRole, serviceRole, SSM_CHANNEL_ACTIONS } from "./iam";
import { Naming } from "../facts/naming";

export interface TaskRolesArgs {
    /** Repositories the task's images come from. */
    readonly repositoryArns: pulumi.Input<string>[];
    /** Secrets Manager secrets injected through ECS `secrets`. */
    readonly secretArns: pulumi.Input<string>[];
    /** The awslogs log group. */
    readonly logGroupArn: pulumi.Input<string>;
    /** What the application itself may do (e.g. its bucket). */
    readonly taskStatements: readonly PolicyStatement[];
    /** Grant the SSM channels ECS Exec needs. */
    readonly execCommand: boolean;
    /** The account, for the confused-deputy condition on the trust policy. */
    readonly accountId: pulumi.Input<string>;
    readonly naming: Naming;
}

export interface TaskRoles {
    readonly executionRole: ServiceRole;
    readonly taskRole: ServiceRole;
}

/**
 * The two roles of an ECS task. The execution role (used by the ECS agent)
 * pulls only these repositories, reads only these secrets and writes only this
 * log group; the task role (used by the app) gets only `taskStatements`.
 */
export function taskRoles(name: string, args: TaskRolesArgs, opts: pulumi.CustomResourceOptions): TaskRoles {
    const executionRole = serviceRole(
        `${name}-execution`,
        {
            service: "ecs-tasks.amazonaws.com",
            sourceAccount: args.accountId,
            naming: args.naming,
            statements: [
                { sid: "EcrLogin", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
                { sid: "PullImages", actions: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], resources: args.repositoryArns },
                { sid: "WriteLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [pulumi.interpolate`${args.logGroupArn}:*`] },
                ...(args.secretArns.length > 0 ? [{ sid: "ReadSecrets", actions: ["secretsmanager:GetSecretValue"], resources: args.secretArns }] : []),
            ],
        },
        opts,
    );
    const exec: PolicyStatement[] = args.execCommand
        ? [
              {
                  sid: "EcsExec",
                  actions: [...SSM_CHANNEL_ACTIONS],
                  resources: ["*"],
              },
          ]
        : [];
    const taskRole = serviceRole(
        `${name}-task`,
        { service: "ecs-tasks.amazonaws.com", sourceAccount: args.accountId, naming: args.naming, statements: [...args.taskStatements, ...exec] },
        opts,
    );
    return { executionRole, taskRole };
}

/** Where one ECS container secret comes from: a JSON key of a Secrets Manager secret, or (no key) its whole value. */
export interface SecretSource {
    readonly arn: pulumi.Input<string>;
    readonly key?: string;
}

/** ECS container `secrets`: each env var name → its secret (in the given order). */
export function secretRefs(refs: Record<string, SecretSource>): pulumi.Output<{ name: string; valueFrom: string }[]> {
    return pulumi.all(
        Object.entries(refs).map(([name, r]) => pulumi.output(r.arn).apply((arn) => ({ name, valueFrom: r.key === undefined ? arn : `${arn}:${r.key}::` }))),
    );
}
