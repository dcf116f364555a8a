import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../aws/context";
import { physicalName } from "../facts/naming";

export interface AlertsArgs {
    /** The account that owns the key (its IAM policies decide who may manage it), and naming. */
    readonly context: StackContext;
    /** Optional address subscribed to the topic (AWS mails a confirmation link first). */
    readonly email?: string;
}

/**
 * What the account may do with the alarm key through IAM: manage it, never
 * use it to read messages. Named, so the key policy grants no wildcard; it
 * holds PutKeyPolicy, so the account can never be locked out of the key.
 */
export const KEY_ADMIN_ACTIONS = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:ListKeyPolicies",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:ListKeyRotations",
    "kms:RotateKeyOnDemand",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:ListGrants",
    "kms:RevokeGrant",
] as const;

/** The key policy: the account manages the key; CloudWatch (alarms) may encrypt messages for the topic. */
export function alarmKeyPolicy(accountId: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: pulumi.interpolate`arn:aws:iam::${accountId}:root` }, Action: [...KEY_ADMIN_ACTIONS], Resource: "*" },
            {
                // CloudWatch cannot use the AWS-managed SNS key (its policy is fixed),
                // hence a key of our own that lets alarms publish to the encrypted topic.
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    });
}

/**
 * The stack's alarm topic. Every alarm of every service notifies it. The
 * topic is encrypted (Security Hub SNS.1) with a customer-managed key that
 * rotates yearly.
 */
export class Alerts extends pulumi.ComponentResource {
    readonly topicArn: pulumi.Output<string>;
    readonly keyArn: pulumi.Output<string>;

    constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:alerts:Alerts", name, {}, opts);
        const parent = { parent: this };
        const { accountId, naming } = args.context;
        const physical = physicalName(naming, name);
        const key = new aws.kms.Key(
            `${name}-key`,
            { description: `${physical}: alarm notifications`, enableKeyRotation: true, deletionWindowInDays: 30, policy: alarmKeyPolicy(accountId) },
            parent,
        );
        new aws.kms.Alias(`${name}-key`, { name: `alias/${physical}`, targetKeyId: key.keyId }, parent);
        const topic = new aws.sns.Topic(name, { name: physical, kmsMasterKeyId: key.arn }, parent);
        if (args.email !== undefined) {
            new aws.sns.TopicSubscription(`${name}-email`, { topic: topic.arn, protocol: "email", endpoint: args.email }, parent);
        }
        this.topicArn = topic.arn;
        this.keyArn = key.arn;
        this.registerOutputs({ topicArn: this.topicArn, keyArn: this.keyArn });
    }
}
