import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Naming, physicalName } from "../facts/naming";
import { after } from "./ordering";

/** IAM shapes: named actions only, scoped resources, one inline policy per role. */

/** One IAM policy statement. Actions are named one by one: the helper refuses wildcards. */
export interface PolicyStatement {
    readonly sid?: string;
    /** Allow unless said otherwise; a Deny carves an exception out of broader grants. */
    readonly effect?: "Allow" | "Deny";
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

/** The Session Manager data channels (ECS Exec, and Session Manager on an instance). */
export const SSM_CHANNEL_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"] as const;

/** What the SSM agent on an instance calls for commands and sessions (AmazonSSMManagedInstanceCore's message actions). */
export const EC2_MESSAGES_ACTIONS = [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
] as const;

/**
 * Actions AWS authorizes only against `Resource: "*"` (no resource-level
 * permissions exist for them) that the workloads' roles call. They are the
 * only ones a statement may grant on `*` unless its policy names more
 * (policyDocument's `resourceless`); everything else is scoped to named ARNs.
 */
export const RESOURCELESS_ACTIONS: readonly string[] = [
    "ecr:GetAuthorizationToken",
    ...SSM_CHANNEL_ACTIONS,
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "tag:GetResources",
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:DescribeTags",
    "ecs:DiscoverPollEndpoint",
    ...EC2_MESSAGES_ACTIONS,
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeInstances",
];

/** Fails when a statement grants on `*` an action not in `resourceless`, i.e. one that supports resource-level permissions. */
export function assertScoped(s: PolicyStatement, resourceless: readonly string[] = RESOURCELESS_ACTIONS): void {
    if (Array.isArray(s.resources) && s.resources.includes("*")) {
        const scopable = s.actions.filter((a) => !resourceless.includes(a));
        if (scopable.length > 0) {
            throw new Error(`IAM actions ${scopable.join(", ")} must be scoped to named resources, not *`);
        }
    }
}

function renderStatement(s: PolicyStatement) {
    return {
        ...(s.sid ? { Sid: s.sid } : {}),
        Effect: s.effect ?? "Allow",
        Action: [...s.actions],
        Resource: s.resources,
        ...(s.conditions ? { Condition: s.conditions } : {}),
    };
}

/** `resourceless`: the actions the statements may grant on `*` (default: the workloads' RESOURCELESS_ACTIONS). */
export function policyDocument(statements: readonly PolicyStatement[], resourceless: readonly string[] = RESOURCELESS_ACTIONS): pulumi.Output<string> {
    for (const s of statements) {
        assertNamedActions(s.actions);
        if ((s.effect ?? "Allow") === "Allow") {
            assertScoped(s, resourceless);
        }
    }
    return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements.map(renderStatement) });
}

/**
 * Statements in the order given, cut into documents of at most `maxChars`
 * characters as IAM counts them (JSON without whitespace). Statements must
 * hold plain strings here: their length is what is measured.
 */
export function packStatements(statements: readonly PolicyStatement[], maxChars: number): PolicyStatement[][] {
    const overhead = JSON.stringify({ Version: "2012-10-17", Statement: [] }).length;
    const chunks: PolicyStatement[][] = [];
    let current: PolicyStatement[] = [];
    let size = overhead;
    for (const s of statements) {
        const len = JSON.stringify(renderStatement(s)).length;
        if (overhead + len > maxChars) {
            throw new Error(`IAM statement ${s.sid ?? JSON.stringify(s.actions)} alone is ${len} characters, over the ${maxChars} a policy may have`);
        }
        const added = current.length === 0 ? len : len + 1;
        if (size + added > maxChars) {
            chunks.push(current);
            current = [];
            size = overhead;
        }
        size += current.length === 0 ? len : len + 1;
        current.push(s);
    }
    if (current.length > 0) {
        chunks.push(current);
    }
    return chunks;
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
    args: { readonly service: string; readonly statements: readonly PolicyStatement[]; readonly naming: Naming; readonly sourceAccount?: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): ServiceRole {
    const role = new aws.iam.Role(
        name,
        {
            // Project and stack in the name, one path for all: see facts/naming.ts.
            name: physicalName(args.naming, name, 64),
            path: args.naming.iamPath,
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
