import { ciIamPath } from "../../../facts/naming";
import { arn, Grant, PASSED_TO, SERVICE_LINKED_ROLES, st, STACK_TAG } from "./model";

/** Identity and secrets: IAM, GitLab CI's own identity, KMS, Secrets Manager. */
export const IDENTITY_GRANTS: readonly Grant[] = [
    {
        sid: "Iam",
        covers: ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/instanceProfile:InstanceProfile"],
        // Read only. Whoever writes a role's policy or trust decides what any code deployed
        // with it may do: roles are an administrator's change (ci/adminGate.ts).
        read: ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetInstanceProfile", "iam:ListInstanceProfilesForRole"],
        write: [],
        scope: (s) => ({
            kind: "named",
            resources: [arn(s, "iam", `role${s.naming.iamPath}${s.naming.prefix}-*`, ""), arn(s, "iam", `instance-profile${s.naming.iamPath}${s.naming.prefix}-*`, "")],
        }),
    },
    {
        sid: "IamUsers",
        covers: ["aws:iam/user:User", "aws:iam/userPolicy:UserPolicy", "aws:iam/accessKey:AccessKey"],
        // Read only, like roles: GitLab's SES SMTP user, its policy and its access key
        // (a long-lived credential) are an administrator's change.
        read: ["iam:GetUser", "iam:GetUserPolicy", "iam:ListAccessKeys"],
        write: [],
        scope: (s) => ({ kind: "named", resources: [arn(s, "iam", `user${s.naming.iamPath}${s.naming.prefix}-*`, "")] }),
    },
    {
        sid: "SesIdentity",
        covers: ["aws:sesv2/emailIdentity:EmailIdentity"],
        // Read only: verifying a domain for sending mail is an administrator's change.
        read: ["ses:GetEmailIdentity", "ses:ListTagsForResource"],
        write: [],
        scope: (s) => ({ kind: "account", resources: [arn(s, "ses", "identity/*")], why: "an identity's name is the stack's DNS zone, which the catalogue is not told; reads only" }),
    },
    {
        sid: "PassRole",
        covers: ["tool:pass-role"],
        read: [],
        write: ["iam:PassRole"],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "iam", `role${s.naming.iamPath}${s.naming.prefix}-*`, "")],
            why: "this stack's roles, to the services they are for",
            conditions: { StringEquals: { "iam:PassedToService": PASSED_TO } },
        }),
    },
    {
        sid: "ServiceLinkedRoles",
        covers: ["tool:service-linked-roles"],
        read: [],
        write: ["iam:CreateServiceLinkedRole"],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "iam", "role/aws-service-role/*", "")],
            why: "created once per account by the first use of a service",
            conditions: { StringEquals: { "iam:AWSServiceName": SERVICE_LINKED_ROLES } },
        }),
    },
    {
        sid: "CiIdentity",
        covers: ["aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/policy:Policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
        // CI reads its own identity (a refresh) and can never change it.
        read: ["iam:GetOpenIDConnectProvider", "iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion"],
        write: [],
        scope: (s) => ({
            kind: "named",
            resources: [
                arn(s, "iam", `oidc-provider/${s.issuerHost}`, ""),
                arn(s, "iam", `role${ciIamPath(s.naming)}${s.naming.prefix}-ci-*`, ""),
                arn(s, "iam", `policy${ciIamPath(s.naming)}${s.naming.prefix}-ci-*`, ""),
            ],
        }),
    },
    {
        sid: "Kms",
        covers: ["aws:kms/key:Key", "aws:kms/alias:Alias"],
        // Read only: a key policy is access control, like IAM.
        read: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:ListAliases"],
        write: [],
        scope: (s) => ({ kind: "account", resources: [arn(s, "kms", "key/*")], why: "key ids are AWS's; reads of this stack's keys", conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.naming.stack } } }),
    },
    {
        sid: "Secrets",
        covers: ["aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion"],
        read: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"],
        write: ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        // The stack's own, and the Docker Hub credential ECR requires under its prefix (components/runner/runner.ts).
        scope: (s) => ({ kind: "named", resources: [arn(s, "secretsmanager", `secret:${s.naming.prefix}/*`), arn(s, "secretsmanager", `secret:ecr-pullthroughcache/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "RdsMasterSecret",
        covers: ["tool:rds-managed-master-secret"],
        read: [],
        // RDS makes (and, with the instance or when it stops managing the password,
        // deletes) the secret of a password it manages with the caller's rights (AWS:
        // "Permissions required for Secrets Manager integration"; the delete is not
        // documented, granted the same way). Only through RDS: CI itself cannot.
        write: ["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:DeleteSecret", "kms:DescribeKey"],
        scope: (s) => ({
            kind: "custom",
            why: "RDS names the secret rds!db-<uuid>: no stack prefix to scope on; only RDS, on the caller's behalf",
            statements: [
                st({ sid: "RdsMasterSecretMade", actions: ["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:DeleteSecret"], resources: [arn(s, "secretsmanager", "secret:rds!db-*")], conditions: { Bool: { "aws:ViaAWSService": "true" } } }),
                st({ sid: "RdsMasterSecretKey", actions: ["kms:DescribeKey"], resources: [arn(s, "kms", "key/*")], conditions: { Bool: { "aws:ViaAWSService": "true" } } }),
            ],
        }),
    },
    {
        sid: "RdsMasterSecretSchedule",
        covers: ["aws:secretsmanager/secretRotation:SecretRotation"],
        read: ["secretsmanager:DescribeSecret"],
        // No CancelRotateSecret: the schedule is never deleted by Pulumi (retainOnDelete);
        // it ends with its secret, which RDS deletes.
        write: ["secretsmanager:RotateSecret"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "secretsmanager", "secret:rds!db-*")], why: "RDS names the secret rds!db-<uuid>; RotateSecret sets a schedule (never reads the value); dev and prod share the account" }),
    },
];
