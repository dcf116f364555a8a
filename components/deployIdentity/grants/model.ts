import { PolicyStatement, RESOURCELESS_ACTIONS } from "../../../aws/iam";
import { StackContext } from "../../../aws/context";

/** The grant catalogue's vocabulary: what a grant is, the scope it is built for, and helpers the service files share. */

/** What the grants name that only the stack's program knows (index.ts hands them to DeployIdentity). */
export interface StackGrantNames {
    /** The host names the program writes DNS records for (and their ACM validation records). */
    readonly recordNames: readonly string[];
    /** The Pulumi DIY backend's bucket and prefix; absent with Pulumi Cloud. */
    readonly stateBucket?: { readonly name: string; readonly prefix: string };
    /** Alias of this stack's `awskms://` secrets provider key. */
    readonly secretsKeyAlias?: string;
    /** The stack whose images this one runs (images.promoteFrom): its repositories are read and tagged. */
    readonly promoteFrom?: string;
}

/**
 * What the catalogue is built for: the stack's region, naming (project and
 * stack among them) and protect (a protected stack never empties or deletes
 * its buckets and backups), with its account resolved.
 */
export interface PolicyScope extends Pick<StackContext, "region" | "naming" | "protect">, StackGrantNames {
    readonly accountId: string;
    /** The GitLab the CI roles trust (its OIDC provider is read during a refresh). */
    readonly issuerHost: string;
}

export function policyScope(context: StackContext, accountId: string, issuerHost: string, names: StackGrantNames): PolicyScope {
    const { recordNames, stateBucket, secretsKeyAlias, promoteFrom } = names;
    return { region: context.region, naming: context.naming, protect: context.protect, accountId, issuerHost, recordNames, stateBucket, secretsKeyAlias, promoteFrom };
}

type Conditions = NonNullable<PolicyStatement["conditions"]>;

interface Create {
    readonly action: string;
    /** ARN patterns of what it creates; `*` where AWS authorizes it on nothing else. */
    readonly on: readonly string[];
    readonly orUpdate?: boolean;
}

type Scoping =
    | { readonly kind: "named"; readonly resources: string[]; readonly conditions?: Conditions }
    | {
        readonly kind: "tagged";
        readonly resources: string[];
        /**
         * Calls that create a resource, each on the ARNs of what it creates only
         * (never on an existing resource it builds on, whose own tag decides): the
         * request must carry the stack's tag. A create-or-update call also needs the
         * resource to have no `stack` tag yet, or it could overwrite another stack's.
         */
        readonly create: readonly Create[];
        /**
         * The tagging call a create makes. With a create-action key (EC2, ELB, EFS) it
         * is allowed for the creates named (default: `create`) only; without, only on
         * a resource that has no `stack` tag yet.
         */
        readonly tagOnCreate?: { readonly action: string; readonly createActionKey?: string; readonly creates?: readonly string[] };
    }
    | { readonly kind: "account"; readonly resources: string[]; readonly why: string; readonly conditions?: Conditions }
    | { readonly kind: "custom"; readonly why: string; readonly statements: PolicyStatement[] };

export interface Grant {
    /** Statement id, and what a reviewer searches for. */
    readonly sid: string;
    /** Pulumi type tokens (and entries of tests/fixtures/providerActions.json for tools) it covers. */
    readonly covers: readonly string[];
    /** What a preview and a refresh call: Read of each resource, data sources. */
    readonly read: readonly string[];
    /** What create, update and delete call beyond the reads. */
    readonly write: readonly string[];
    /** Writes only an unprotected stack needs (emptying buckets, deleting recovery points). */
    readonly unprotectedOnly?: readonly string[];
    readonly scope: (s: PolicyScope) => Scoping;
}

/**
 * Actions AWS authorizes only on `*` (no resource-level permissions exist for
 * them) that GitLab CI's roles call beyond the workloads' (aws/iam.ts RESOURCELESS_ACTIONS).
 */
const CI_RESOURCELESS_ACTIONS: readonly string[] = [
    // Reads of the data sources and of resources AWS names.
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribePrefixLists",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeRegions",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTags",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeInstanceRefreshes",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "kms:ListAliases",
    "ec2:GetEbsDefaultKmsKeyId",
    "ecs:DescribeTaskDefinition",
    "route53:ListHostedZones",
    "route53:ListHostedZonesByName",
    // Writes AWS cannot scope to a resource.
    "ecs:DeregisterTaskDefinition",
    "elasticloadbalancing:SetWebAcl",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:PutResourcePolicy",
    "route53:CreateHostedZone",
    "backup-storage:MountCapsule",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:UpdateLogDelivery",
    "kms:CreateKey",
    "acm:RequestCertificate",
    "elasticfilesystem:CreateFileSystem",
    "ec2:DescribeNetworkInterfaceAttribute",
    "servicediscovery:CreatePrivateDnsNamespace",
    "servicediscovery:ListTagsForResource",
    "servicediscovery:TagResource",
    "servicediscovery:UntagResource",
    // ECR's pull-through cache rules are the registry's, with no ARN of their own.
    "ecr:CreatePullThroughCacheRule",
    "ecr:DescribePullThroughCacheRules",
    "ecr:UpdatePullThroughCacheRule",
    "ecr:DeletePullThroughCacheRule",
    // The SSM parameter's reader lists parameters by name filter; AWS authorizes it on `*` only.
    "ssm:DescribeParameters",
];

/** Actions AWS authorizes only on `*`: the CI roles get them there (and only those). */
export const UNSCOPED: readonly string[] = [...RESOURCELESS_ACTIONS, ...CI_RESOURCELESS_ACTIONS];

export const arn = (s: PolicyScope, service: string, resource: string, region = s.region, account: string = s.accountId) => `arn:aws:${service}:${region}:${account}:${resource}`;
export const ec2 = (s: PolicyScope, ...types: string[]) => types.map((t) => arn(s, "ec2", `${t}/*`));
export const st = (x: PolicyStatement): PolicyStatement => x;
export const bare = (actions: readonly string[]) => actions.map((a) => a.split(":")[1]);
export const STACK_TAG = "stack";

/** The services this program's roles are for (`iam:PassRole`). */
export const PASSED_TO = [
    "ecs-tasks.amazonaws.com",
    "ecs.amazonaws.com",
    "ec2.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "rds.amazonaws.com",
    "backup.amazonaws.com",
    "scheduler.amazonaws.com",
];

/** Service-linked roles the first use of a service creates in an account. */
export const SERVICE_LINKED_ROLES = [
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "autoscaling.amazonaws.com",
    "rds.amazonaws.com",
    "elasticache.amazonaws.com",
    "elasticfilesystem.amazonaws.com",
    "backup.amazonaws.com",
    // AWSServiceRoleForECRPullThroughCache: ECR reads the Docker Hub credential with it.
    "pullthroughcache.ecr.amazonaws.com",
];

/**
 * Resource types CI may change but never create or delete: a bucket's ARN is
 * part of CI's own policy (bucketStatements), an administrator's change.
 */
export const ADMIN_CREATES: readonly string[] = ["aws:s3/bucket:Bucket"];

/** Bucket-level reads of the provider's S3 bucket Read (every refresh). */
export const BUCKET_READS = [
    "s3:ListBucket", "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration",
    "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
    "s3:GetBucketObjectLockConfiguration", "s3:GetBucketTagging", "s3:GetBucketOwnershipControls", "s3:GetBucketPublicAccessBlock",
];
/** What configuring one of the stack's buckets calls (the separate bucket* resources). */
export const BUCKET_WRITES = [
    "s3:PutBucketTagging", "s3:PutLifecycleConfiguration", "s3:PutBucketLogging", "s3:PutBucketOwnershipControls", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
    "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning",
];
/** forceDestroy of an unprotected stack's versioned bucket: empty it, then delete it. */
export const BUCKET_DESTROY = ["s3:DeleteBucket", "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion"];
