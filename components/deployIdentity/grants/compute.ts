import { PolicyStatement } from "../../../aws/iam";
import { arn, ec2, Grant, st, STACK_TAG } from "./model";

/** What EC2 does with a volume's key in the caller's name besides its grant: the data key, reading a snapshot, re-encrypting it. */
const VOLUME_KEY_USE = ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"] as const;
type Conditions = NonNullable<PolicyStatement["conditions"]>;
const viaEc2 = (region: string) => ({ "kms:ViaService": `ec2.${region}.amazonaws.com` });

/**
 * The account's default EBS key, for a stack whose Gitaly volume is on it
 * (`encryptionKey: accountDefault`): restoring that volume from a snapshot
 * (a CI deploy: only the volume is replaced) has EC2 use the snapshot's key in
 * the deploy role's name, and that key carries no stack tag (VolumeKeys). The
 * same uses as VolumeKeys, through EC2 only, grants only for AWS resources.
 * `keyArn` is what EC2 reports as the default now (ec2:GetEbsDefaultKmsKeyId):
 * the key such a volume was made on unless an administrator changed the
 * default since.
 * For AWS's managed key that is the alias ARN `…:alias/aws/ebs`: an alias ARN
 * in an IAM Resource matches no key, which is harmless there (that key's own
 * policy admits the account's principals through EC2; it needs no IAM grant).
 * A default an administrator set by a customer alias may be reported the
 * same way, so an alias ARN names the key by its alias instead (`key/*` with
 * kms:ResourceAliases): on `aws/ebs` that adds nothing its policy does not
 * allow already.
 * Its own statements, in the role's `resources` policy: the ARN is known only
 * at run time, and its length (an alias) is not a key ARN's.
 */
export function accountDefaultVolumeKeyStatements(region: string, keyArn: string): PolicyStatement[] {
    if (!/^arn:aws[\w-]*:kms:/.test(keyArn)) {
        // AWS documents an ARN; anything else would reach IAM as a Resource and fail only at the administrator's `up`.
        throw new Error(`the account's default EBS key ${JSON.stringify(keyArn)} is not a KMS key or alias ARN (ec2:GetEbsDefaultKmsKeyId)`);
    }
    const alias = /^(arn:aws[\w-]*:kms:[^:]+:\d{12}:)(alias\/.+)$/.exec(keyArn);
    const byAlias: Conditions = alias ? { "ForAnyValue:StringEquals": { "kms:ResourceAliases": [alias[2]] } } : {};
    const resources = alias ? [`${alias[1]}key/*`] : [keyArn];
    const throughEc2: Conditions = { StringEquals: viaEc2(region), ...byAlias };
    return [
        { sid: "VolumeKeysAccountDefault", actions: [...VOLUME_KEY_USE], resources, conditions: throughEc2 },
        { sid: "VolumeKeyGrantsAccountDefault", actions: ["kms:CreateGrant"], resources, conditions: { ...throughEc2, Bool: { "kms:GrantIsForAWSResource": "true" } } },
    ];
}

/** Compute: Auto Scaling, the AMI, ECR and ECS. */
export const COMPUTE_GRANTS: readonly Grant[] = [
    {
        sid: "AutoScalingGroups",
        covers: ["aws:autoscaling/group:Group"],
        read: ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeInstanceRefreshes", "elasticloadbalancing:DescribeTargetHealth"],
        write: [
            "autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup",
            "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags", "autoscaling:SuspendProcesses", "autoscaling:ResumeProcesses",
            "autoscaling:EnableMetricsCollection", "autoscaling:DisableMetricsCollection", "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:SetInstanceProtection",
        ],
        scope: (s) => ({ kind: "named", resources: [arn(s, "autoscaling", `autoScalingGroup:*:autoScalingGroupName/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "LaunchInstances",
        covers: ["tool:auto-scaling-launch-check"],
        read: [],
        write: ["ec2:RunInstances", "ec2:CreateTags"],
        // Auto Scaling checks, on every create and update of a group, that the caller could
        // launch from its template: only from this stack's templates, subnets and security
        // groups, only Amazon's AMIs, only with this stack's instance profiles.
        scope: (s) => ({
            kind: "custom",
            why: "RunInstances authorizes on several resources, each with its own keys",
            statements: [
                st({ sid: "LaunchFromStack", actions: ["ec2:RunInstances"], resources: ec2(s, "launch-template", "subnet", "security-group"), conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.naming.stack } } }),
                st({ sid: "LaunchAmazonImages", actions: ["ec2:RunInstances"], resources: [`arn:aws:ec2:${s.region}::image/*`], conditions: { StringEquals: { "ec2:Owner": "amazon" } } }),
                st({
                    sid: "LaunchInstance",
                    actions: ["ec2:RunInstances"],
                    resources: ec2(s, "instance"),
                    conditions: { ArnLikeIfExists: { "ec2:InstanceProfile": `arn:aws:iam::${s.accountId}:instance-profile${s.naming.iamPath}${s.naming.prefix}-*` } },
                }),
                st({ sid: "LaunchCreates", actions: ["ec2:RunInstances"], resources: ec2(s, "volume", "network-interface") }),
                st({ sid: "LaunchTags", actions: ["ec2:CreateTags"], resources: ec2(s, "instance", "volume", "network-interface"), conditions: { StringEquals: { "ec2:CreateAction": "RunInstances" } } }),
            ],
        }),
    },
    {
        sid: "AmiParameter",
        covers: ["tool:resolve-ssm"],
        read: [],
        // Launch templates name the AMI as resolve:ssm:…, which EC2 resolves with the caller's rights.
        write: ["ssm:GetParameters"],
        scope: (s) => ({ kind: "named", resources: [`arn:aws:ssm:${s.region}::parameter/aws/service/ecs/optimized-ami/*`] }),
    },
    {
        sid: "Ecr",
        covers: ["aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy", "docker:index/image:Image"],
        // A preview asks ECR for each image's tag (components/ecrImage.ts); only `up` logs in to push,
        // through ECR's credential helper in the deploy job (ci/ecrCredentials.ts), never the program.
        read: ["ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:GetLifecyclePolicy", "ecr:DescribeImages"],
        write: [
            "ecr:CreateRepository", "ecr:DeleteRepository", "ecr:TagResource", "ecr:UntagResource", "ecr:PutImageTagMutability", "ecr:PutImageScanningConfiguration",
            "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
            "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload", "ecr:PutImage",
        ],
        scope: (s) => ({ kind: "named", resources: [arn(s, "ecr", `repository/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "EcrPullThroughCache",
        covers: ["aws:ecr/pullThroughCacheRule:PullThroughCacheRule"],
        // The runner's Docker Hub cache (components/runner/runner.ts). AWS authorizes these
        // on the registry only (`*`); the repositories ECR then creates are the pullers'.
        read: ["ecr:DescribePullThroughCacheRules"],
        write: ["ecr:CreatePullThroughCacheRule", "ecr:UpdatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "ecr", `repository/docker-hub/${s.naming.prefix}/*`)] }),
    },
    {
        sid: "PromotedImages",
        covers: ["tool:promote-image"],
        // A stack running another's images (images.promoteFrom): the tag's lookup in the source's
        // repositories (previews too), and the promotion tag (hooks/promoteImage.ts: BatchGetImage,
        // PutImage). Those repositories only; none without promoteFrom. The provider's
        // aws_ecr_image lookup reads the repository too (DescribeRepositories, for image_uri).
        read: ["ecr:DescribeImages", "ecr:DescribeRepositories"],
        write: ["ecr:BatchGetImage", "ecr:PutImage"],
        scope: (s) => ({ kind: "named", resources: s.promoteFrom ? [arn(s, "ecr", `repository/${s.naming.project}-${s.promoteFrom}-*`)] : [] }),
    },
    {
        sid: "ImageMarkers",
        covers: ["aws:ssm/parameter:Parameter"],
        // Each image's "pushed by this stack" marker, /<repository>/built-by-pulumi
        // (components/ecrImage.ts); a preview reads it to decide what to declare. Those names
        // only (a parameter named /x has the ARN parameter/x): the preview role runs merge
        // requests' code, and any other parameter of the stack's prefix may be a SecureString.
        read: ["ssm:GetParameter", "ssm:DescribeParameters", "ssm:ListTagsForResource"],
        write: ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "ssm", `parameter/${s.naming.prefix}-*/built-by-pulumi`)] }),
    },
    {
        sid: "ServiceKeys",
        covers: ["tool:ecr-and-backup-encryption"],
        read: [],
        // ECR repositories and the backup vaults are on AWS managed keys (aws/ecr, aws/backup);
        // those services make grants on them in the caller's name. Those two keys only, through
        // their own service only: their ids are AWS's, their aliases fixed.
        write: ["kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant", "kms:GenerateDataKey", "kms:Decrypt"],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "kms", "key/*")],
            why: "the AWS managed keys' ids are AWS's: named by their aliases, through ECR and AWS Backup only",
            conditions: {
                StringEquals: { "kms:ViaService": [`ecr.${s.region}.amazonaws.com`, `backup.${s.region}.amazonaws.com`] },
                "ForAnyValue:StringEquals": { "kms:ResourceAliases": ["alias/aws/ecr", "alias/aws/backup"] },
            },
        }),
    },
    {
        sid: "VolumeKeys",
        covers: ["tool:ebs-volume-encryption", "aws:ebs/getDefaultKmsKey:getDefaultKmsKey"],
        // The account's default EBS key, for a stack whose Gitaly volume is on it (accountDefaultVolumeKeyStatements).
        read: ["ec2:GetEbsDefaultKmsKeyId"],
        // Creating (or restoring) the Gitaly volume on the stack's key: EC2 makes the volume's data
        // key, re-encrypts a restored snapshot and makes a grant for itself, in the caller's name
        // (EBS: "Permissions for users"). Only on keys carrying this stack's tag (the provider's
        // default tags put it on the stack's keys), only through EC2, grants only for AWS resources.
        write: [...VOLUME_KEY_USE, "kms:CreateGrant"],
        scope: (s) => {
            const stackKeysThroughEc2 = { StringEquals: { ...viaEc2(s.region), [`aws:ResourceTag/${STACK_TAG}`]: s.naming.stack } };
            return {
                kind: "custom",
                why: "key ids are AWS's: the stack's keys by their tag; CreateGrant has a condition of its own",
                statements: [
                    st({ sid: "VolumeKeys", actions: [...VOLUME_KEY_USE], resources: [arn(s, "kms", "key/*")], conditions: stackKeysThroughEc2 }),
                    st({ sid: "VolumeKeyGrants", actions: ["kms:CreateGrant"], resources: [arn(s, "kms", "key/*")], conditions: { ...stackKeysThroughEc2, Bool: { "kms:GrantIsForAWSResource": "true" } } }),
                ],
            };
        },
    },
    {
        sid: "Ecs",
        covers: ["aws:ecs/cluster:Cluster", "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "aws:ecs/capacityProvider:CapacityProvider", "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "runtask:ecs"],
        read: ["ecs:DescribeClusters", "ecs:DescribeCapacityProviders", "ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition"],
        write: [
            "ecs:CreateCluster", "ecs:UpdateCluster", "ecs:DeleteCluster", "ecs:PutClusterCapacityProviders",
            "ecs:CreateCapacityProvider", "ecs:UpdateCapacityProvider", "ecs:DeleteCapacityProvider",
            "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService",
            "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:RunTask", "ecs:TagResource", "ecs:UntagResource",
            // A capacity provider tags its Auto Scaling group in the caller's name.
            "autoscaling:CreateOrUpdateTags",
        ],
        scope: (s) => ({
            kind: "named",
            resources: [
                ...["cluster/{p}-*", "capacity-provider/{p}-*", "service/{p}-*/*", "service-deployment/{p}-*/*/*", "task-definition/{p}-*:*", "task/{p}-*/*"].map((r) => arn(s, "ecs", r.replace("{p}", s.naming.prefix))),
                arn(s, "autoscaling", `autoScalingGroup:*:autoScalingGroupName/${s.naming.prefix}-*`),
            ],
        }),
    },
    {
        sid: "EcsTaskList",
        covers: ["runtask:ecs"],
        read: [],
        // hooks/runTask.ts lists a family's running tasks before it starts one (no second
        // migration beside a running one). ListTasks authorizes on container instances,
        // not on the cluster or the tasks: the cluster is its condition key.
        write: ["ecs:ListTasks"],
        scope: (s) => ({
            kind: "named",
            resources: [arn(s, "ecs", `container-instance/${s.naming.prefix}-*/*`)],
            conditions: { ArnLike: { "ecs:cluster": arn(s, "ecs", `cluster/${s.naming.prefix}-*`) } },
        }),
    },
    {
        sid: "Scaling",
        covers: ["aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"],
        read: ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:ListTagsForResource"],
        write: ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:TagResource", "application-autoscaling:UntagResource"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "application-autoscaling", "scalable-target/*")], create: [{ action: "application-autoscaling:RegisterScalableTarget", on: [arn(s, "application-autoscaling", "scalable-target/*")], orUpdate: true }], tagOnCreate: { action: "application-autoscaling:TagResource" } }),
    },
];
