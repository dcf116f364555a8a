import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../../aws/context";
import { PolicyStatement } from "../../aws/iam";
import { KEY_ADMIN_ACTIONS } from "../alerts";

/**
 * Which key encrypts the Gitaly volume. `stack`: a customer-managed key of
 * this stack, whose policy lets EC2 use it for IAM principals of the account
 * that are allowed to (new stacks). `accountDefault`: the account's default
 * EBS key, for a volume created before the stack key existed: EBS cannot
 * change a volume's key in place (a new `kmsKeyId` replaces the volume), so
 * such a stack keeps its key until it moves by a restore from a snapshot
 * (docs/decisions/gitlab-split.md).
 */
export type GitalyVolumeKey = "stack" | "accountDefault";

/** What EC2 does with the key for the volume and its snapshots: create, attach (a grant for itself), restore, re-encrypt. */
export const EBS_KEY_ACTIONS = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"] as const;

const viaEc2 = (region: string) => ({ "kms:ViaService": `ec2.${region}.amazonaws.com` });

/**
 * The key policy: the account administers the key (never reads with it
 * through this statement), and EC2 may use it on behalf of the account's
 * principals whose IAM policies allow it (the Gitaly instance role, AWS
 * Backup's role, the deploy role); nothing uses it outside EC2.
 */
export function volumeKeyPolicy(accountId: pulumi.Input<string>, region: string): pulumi.Output<string> {
    const account = pulumi.interpolate`arn:aws:iam::${accountId}:root`;
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: account }, Action: [...KEY_ADMIN_ACTIONS], Resource: "*" },
            {
                Sid: "AccountUsesThroughEc2",
                Effect: "Allow",
                Principal: { AWS: account },
                Action: [...EBS_KEY_ACTIONS],
                Resource: "*",
                Condition: { StringEquals: { ...viaEc2(region), "kms:CallerAccount": accountId } },
            },
        ],
    });
}

/** The stack's key for the Gitaly volume: rotated yearly, protected (and kept) in prod: without it the volume and its snapshots are unreadable. */
export function gitalyVolumeKey(name: string, physical: string, context: StackContext, opts: pulumi.CustomResourceOptions): aws.kms.Key {
    const key = new aws.kms.Key(
        `${name}-data`,
        { description: `${physical}: the Gitaly repository volume and its snapshots`, enableKeyRotation: true, deletionWindowInDays: 30, policy: volumeKeyPolicy(context.accountId, context.region) },
        { ...opts, protect: context.protect, retainOnDelete: context.protect },
    );
    new aws.kms.Alias(`${name}-data`, { name: `alias/${physical}-data`, targetKeyId: key.keyId }, opts);
    return key;
}

/**
 * What the instance role needs to attach the encrypted volume: EC2 makes a
 * grant for itself in the caller's name, for an AWS resource only (AWS: EBS
 * encryption, permissions for users). On `keyArns`: the key the volume is
 * on, as EC2 reports it (the stack's, or the account's default EBS key it was
 * created on). A customer managed default key whose policy delegates to IAM
 * then works; AWS's managed `aws/ebs` key needs no IAM grant (its own policy
 * admits the account's principals through EC2), so the statement is harmless there.
 */
export function attachWithKeyStatement(keyArns: pulumi.Input<string>[], region: string): PolicyStatement {
    return {
        sid: "AttachEncryptedVolume",
        actions: ["kms:CreateGrant"],
        resources: keyArns,
        conditions: { Bool: { "kms:GrantIsForAWSResource": "true" }, StringEquals: { ...viaEc2(region), "kms:GrantConstraintType": "EncryptionContextSubset" } },
    };
}
