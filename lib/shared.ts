import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * Shapes every component needs (log group, service role, one-port ingress),
 * so they are written once and reviewed once.
 */

/** A CloudWatch log group that never keeps logs forever. */
export function logGroup(
    name: string,
    args: { readonly retentionInDays: number; readonly logGroupName?: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(
        name,
        {
            // A fixed name only where AWS writes to a name it chooses (RDS log exports).
            ...(args.logGroupName ? { name: args.logGroupName } : { namePrefix: `/platform/${name}-` }),
            retentionInDays: args.retentionInDays,
        },
        opts,
    );
}

/** One IAM policy statement. Actions are named one by one: the helper refuses wildcards. */
export interface PolicyStatement {
    readonly sid?: string;
    readonly actions: readonly string[];
    readonly resources: pulumi.Input<pulumi.Input<string>[]>;
    readonly conditions?: Record<string, Record<string, pulumi.Input<string | string[]>>>;
}

/** Fails for `*`, `service:*` and `service:Get*`: the whole program grants named actions only. */
export function assertNamedActions(actions: readonly string[]): void {
    for (const a of actions) {
        if (!/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(a)) {
            throw new Error(`IAM action ${JSON.stringify(a)} is not a named action`);
        }
    }
}

/**
 * Actions AWS authorizes only against `Resource: "*"` (no resource-level
 * permissions exist for them). They are the only ones a statement may grant
 * on `*`; everything else is scoped to named ARNs.
 */
export const RESOURCELESS_ACTIONS: readonly string[] = [
    "ecr:GetAuthorizationToken",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
];

/** Fails when a statement grants on `*` an action that supports resource-level permissions. */
export function assertScoped(s: PolicyStatement): void {
    if (Array.isArray(s.resources) && s.resources.includes("*")) {
        const scopable = s.actions.filter((a) => !RESOURCELESS_ACTIONS.includes(a));
        if (scopable.length > 0) {
            throw new Error(`IAM actions ${scopable.join(", ")} must be scoped to named resources, not *`);
        }
    }
}

export function policyDocument(statements: readonly PolicyStatement[]): pulumi.Output<string> {
    for (const s of statements) {
        assertNamedActions(s.actions);
        assertScoped(s);
    }
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: statements.map((s) => ({
            ...(s.sid ? { Sid: s.sid } : {}),
            Effect: "Allow",
            Action: [...s.actions],
            Resource: s.resources,
            ...(s.conditions ? { Condition: s.conditions } : {}),
        })),
    });
}

/**
 * `value`, resolving only once `resource` exists: for handing out an ARN whose
 * users need something created beside it first (a policy, a secret's value).
 * Dependents then also outlive that resource on destroy.
 */
export function after<T>(value: pulumi.Output<T>, resource: pulumi.CustomResource): pulumi.Output<T> {
    return resource.id.apply(() => value);
}

/** A role and the ARN to hand out: it resolves only once the role's policy exists. */
export interface ServiceRole {
    readonly role: aws.iam.Role;
    readonly arn: pulumi.Output<string>;
}

/**
 * A role assumable by one AWS service principal, with one inline policy.
 * Inline (not managed) so the grant lives and dies with the role.
 */
export function serviceRole(
    name: string,
    args: { readonly service: string; readonly statements: readonly PolicyStatement[]; readonly sourceAccount?: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): ServiceRole {
    const role = new aws.iam.Role(
        name,
        {
            assumeRolePolicy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Service: args.service },
                        Action: "sts:AssumeRole",
                        // Confused-deputy guard: only our account's resources may use the role.
                        ...(args.sourceAccount ? { Condition: { StringEquals: { "aws:SourceAccount": args.sourceAccount } } } : {}),
                    },
                ],
            }),
        },
        opts,
    );
    if (args.statements.length === 0) {
        return { role, arn: role.arn };
    }
    const policy = new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy: policyDocument(args.statements) }, opts);
    // Consumers (a service, a flow log) must not use the role before it may do anything,
    // and on destroy the grant must outlive them.
    return { role, arn: after(role.arn, policy) };
}

/**
 * Opens exactly one TCP port on `securityGroupId` to members of
 * `sourceSecurityGroupId`. This is how components reach each other: never by
 * CIDR, never from the world.
 */
export function allowPortFrom(
    name: string,
    args: {
        readonly securityGroupId: pulumi.Input<string>;
        readonly sourceSecurityGroupId: pulumi.Input<string>;
        readonly port: number;
        readonly description: string;
    },
    opts: pulumi.CustomResourceOptions,
): aws.vpc.SecurityGroupIngressRule {
    return new aws.vpc.SecurityGroupIngressRule(
        name,
        {
            securityGroupId: args.securityGroupId,
            referencedSecurityGroupId: args.sourceSecurityGroupId,
            ipProtocol: "tcp",
            fromPort: args.port,
            toPort: args.port,
            description: args.description,
        },
        opts,
    );
}

/**
 * A Secrets Manager secret holding one JSON document. A protected secret
 * keeps the 30-day recovery window; an unprotected one (dev) is deleted at
 * once so a stack can be torn down and rebuilt under the same names.
 */
export function jsonSecret(
    name: string,
    args: { readonly description: string; readonly protect: boolean; readonly value: pulumi.Input<Record<string, pulumi.Input<string | number>>> },
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    const secret = new aws.secretsmanager.Secret(
        name,
        { description: args.description, recoveryWindowInDays: args.protect ? 30 : 0 },
        { ...opts, protect: args.protect },
    );
    const version = new aws.secretsmanager.SecretVersion(name, { secretId: secret.id, secretString: pulumi.jsonStringify(args.value) }, opts);
    // The ARN resolves once the value is stored: a task started earlier would find no value.
    return after(secret.arn, version);
}
