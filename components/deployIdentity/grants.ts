import { PolicyStatement, RESOURCELESS_ACTIONS } from "../../aws/iam";
import { ciIamPath, Naming } from "../../facts/naming";

/**
 * What GitLab CI may do to this stack: the rights of `ci-deploy` (`pulumi up`
 * and `destroy`) and `ci-preview` (`pulumi preview` and `refresh`), built
 * from one catalogue of grants, one per AWS resource type (or tool) the
 * program uses. Each grant lists the IAM actions the provider's create, read,
 * update and delete call for the inputs this program sets (from
 * terraform-provider-aws's source, which @pulumi/aws bridges;
 * tests/fixtures/providerActions.json, checked against these grants) and
 * says where they apply:
 *
 * - `named`: the resource has a name this program chooses (`<project>-<stack>-…`,
 *   log groups under `/<project>/<stack>/`), so the actions apply to those ARNs;
 * - `tagged`: AWS names it (`sg-…`, `fs-…`), so a create must carry this
 *   stack's `stack` tag (the provider's default tags put it on every create),
 *   tags may be written by a create only, and everything else needs the
 *   resource (and any resource a create builds on: the VPC of a subnet) to
 *   carry the tag already;
 * - `account`: neither works (the reason is in the grant);
 * - `custom`: statements of their own (`ec2:RunInstances`).
 *
 * Never granted, so an administrator's change (ci/adminGate.ts stops a CI
 * deploy that needs one): IAM roles, their policies and instance profiles,
 * GitLab CI's own identity, KMS keys and aliases, new S3 buckets. Whoever
 * writes those decides what any code the stack runs may do.
 */

export interface PolicyScope {
    readonly accountId: string;
    readonly region: string;
    readonly stack: string;
    readonly project: string;
    readonly naming: Naming;
    /** The host names the program writes DNS records for (and their ACM validation records). */
    readonly recordNames: readonly string[];
    /** A protected stack never empties or deletes its buckets and backups. */
    readonly protect: boolean;
    /** The GitLab the CI roles trust (its OIDC provider is read during a refresh). */
    readonly issuerHost: string;
    /** The Pulumi DIY backend's bucket and prefix; absent with Pulumi Cloud. */
    readonly stateBucket?: { readonly name: string; readonly prefix: string };
    /** Alias of this stack's `awskms://` secrets provider key. */
    readonly secretsKeyAlias?: string;
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

/** Actions AWS authorizes only on `*`: the CI roles get them there (and only those). */
export const UNSCOPED: readonly string[] = RESOURCELESS_ACTIONS;

const arn = (s: PolicyScope, service: string, resource: string, region = s.region, account: string = s.accountId) => `arn:aws:${service}:${region}:${account}:${resource}`;
const ec2 = (s: PolicyScope, ...types: string[]) => types.map((t) => arn(s, "ec2", `${t}/*`));
const st = (x: PolicyStatement): PolicyStatement => x;
const bare = (actions: readonly string[]) => actions.map((a) => a.split(":")[1]);
const STACK_TAG = "stack";

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

export const GRANTS: readonly Grant[] = [
    {
        sid: "Network",
        covers: [
            "awsx:ec2:Vpc",
            "aws:index/getAvailabilityZones:getAvailabilityZones",
            "aws:ec2/getSubnet:getSubnet",
            "aws:ec2/vpc:Vpc",
            "aws:ec2/subnet:Subnet",
            "aws:ec2/routeTable:RouteTable",
            "aws:ec2/route:Route",
            "aws:ec2/routeTableAssociation:RouteTableAssociation",
            "aws:ec2/internetGateway:InternetGateway",
            "aws:ec2/natGateway:NatGateway",
            "aws:ec2/eip:Eip",
            "aws:ec2/securityGroup:SecurityGroup",
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "aws:ec2/flowLog:FlowLog",
            "aws:ebs/volume:Volume",
            "aws:ec2/launchTemplate:LaunchTemplate",
        ],
        read: [
            "ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeInternetGateways",
            "ec2:DescribeNatGateways", "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute", "ec2:DescribeNetworkAcls", "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", "ec2:DescribeFlowLogs",
            "ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions",
        ],
        write: [
            "ec2:CreateVpc", "ec2:ModifyVpcAttribute", "ec2:DeleteVpc",
            "ec2:CreateSubnet", "ec2:ModifySubnetAttribute", "ec2:DeleteSubnet",
            "ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute",
            "ec2:AssociateRouteTable", "ec2:ReplaceRouteTableAssociation", "ec2:DisassociateRouteTable",
            "ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:DeleteInternetGateway",
            "ec2:CreateNatGateway", "ec2:DeleteNatGateway",
            "ec2:AllocateAddress", "ec2:DisassociateAddress", "ec2:ReleaseAddress",
            "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules",
            "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints",
            "ec2:CreateFlowLogs", "ec2:DeleteFlowLogs",
            "ec2:CreateVolume", "ec2:ModifyVolume", "ec2:DeleteVolume", "ec2:CreateSnapshot",
            "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate",
            "ec2:CreateTags", "ec2:DeleteTags",
        ],
        scope: (s) => ({
            kind: "tagged",
            resources: [...ec2(s, "vpc", "subnet", "route-table", "internet-gateway", "natgateway", "elastic-ip", "security-group", "security-group-rule", "vpc-endpoint", "vpc-flow-log", "volume", "launch-template", "network-interface"), `arn:aws:ec2:${s.region}::snapshot/*`],
            create: [
                ["CreateVpc", "vpc"], ["CreateSubnet", "subnet"], ["CreateRouteTable", "route-table"], ["CreateInternetGateway", "internet-gateway"], ["CreateNatGateway", "natgateway"],
                ["AllocateAddress", "elastic-ip"], ["CreateSecurityGroup", "security-group"], ["AuthorizeSecurityGroupIngress", "security-group-rule"], ["AuthorizeSecurityGroupEgress", "security-group-rule"],
                ["CreateVpcEndpoint", "vpc-endpoint"], ["CreateFlowLogs", "vpc-flow-log"], ["CreateVolume", "volume"], ["CreateLaunchTemplate", "launch-template"],
            ].map(([action, type]) => ({ action: `ec2:${action}`, on: ec2(s, type) }))
                // Snapshot ARNs carry no account.
                .concat([{ action: "ec2:CreateSnapshot", on: [`arn:aws:ec2:${s.region}::snapshot/*`] }]),
            tagOnCreate: { action: "ec2:CreateTags", createActionKey: "ec2:CreateAction" },
        }),
    },
    {
        sid: "LoadBalancing",
        covers: ["aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:lb/targetGroup:TargetGroup"],
        read: [
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeCapacityReservation",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTags",
            "ec2:DescribeNetworkInterfaces",
        ],
        write: [
            "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:CreateListener", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:CreateRule", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities", "elasticloadbalancing:DeleteRule",
            "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
        ],
        scope: (s) => ({
            kind: "tagged",
            resources: ["loadbalancer/app/*/*", "loadbalancer/net/*/*", "listener/app/*/*/*", "listener/net/*/*/*", "listener-rule/app/*/*/*/*", "targetgroup/*/*"].map((r) => arn(s, "elasticloadbalancing", r)),
            // A listener or rule authorizes on its load balancer or listener only: their tags decide.
            create: [
                { action: "elasticloadbalancing:CreateLoadBalancer", on: ["loadbalancer/app/*/*", "loadbalancer/net/*/*"].map((r) => arn(s, "elasticloadbalancing", r)) },
                { action: "elasticloadbalancing:CreateTargetGroup", on: [arn(s, "elasticloadbalancing", "targetgroup/*/*")] },
            ],
            tagOnCreate: {
                action: "elasticloadbalancing:AddTags",
                createActionKey: "elasticloadbalancing:CreateAction",
                creates: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateRule", "elasticloadbalancing:CreateTargetGroup"],
            },
        }),
    },
    {
        sid: "Certificates",
        covers: ["aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"],
        read: ["acm:DescribeCertificate", "acm:ListTagsForCertificate"],
        write: ["acm:RequestCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate", "acm:DeleteCertificate"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "acm", "certificate/*")], create: [{ action: "acm:RequestCertificate", on: ["*"] }], tagOnCreate: { action: "acm:AddTagsToCertificate" } }),
    },
    {
        sid: "Dns",
        covers: ["aws:route53/getZone:getZone", "aws:route53/record:Record"],
        // Reads; DnsRecords holds the writes.
        read: ["route53:ListHostedZones", "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:GetChange"],
        write: [],
        scope: () => ({ kind: "account", resources: ["arn:aws:route53:::hostedzone/*", "arn:aws:route53:::change/*"], why: "hosted zone ids are AWS's; reads only" }),
    },
    {
        sid: "DnsRecords",
        covers: ["aws:route53/record:Record"],
        read: [],
        write: ["route53:ChangeResourceRecordSets"],
        // Zones carry no stack tag: only this stack's host names (and their ACM validation
        // records), only address and CNAME records.
        scope: (s) => ({
            kind: "account",
            resources: ["arn:aws:route53:::hostedzone/*"],
            why: "limited to the stack's own record names and types",
            conditions: {
                "ForAllValues:StringLike": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": s.recordNames.flatMap((n) => [n, `_*.${n}`]) },
                "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA", "CNAME"] },
                // ForAllValues holds when the key is missing: it must be there.
                Null: { "route53:ChangeResourceRecordSetsNormalizedRecordNames": "false" },
            },
        }),
    },
    {
        sid: "Waf",
        covers: ["aws:wafv2/webAcl:WebAcl", "aws:wafv2/webAclAssociation:WebAclAssociation", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"],
        read: ["wafv2:GetWebACL", "wafv2:ListTagsForResource", "wafv2:GetLoggingConfiguration", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies"],
        write: [
            "wafv2:CreateWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:TagResource", "wafv2:UntagResource", "wafv2:AssociateWebACL",
            "wafv2:PutLoggingConfiguration", "wafv2:DeleteLoggingConfiguration",
            "elasticloadbalancing:SetWebAcl",
            // Logging to CloudWatch Logs is a log delivery made in the caller's name.
            "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy",
        ],
        scope: (s) => ({
            kind: "named",
            resources: [
                arn(s, "wafv2", `regional/webacl/${s.naming.prefix}-*/*`),
                // CreateWebACL also authorizes on the managed rule groups the ACL uses.
                arn(s, "wafv2", "regional/managedruleset/*/*"),
            ],
        }),
    },
    {
        sid: "WafLoadBalancer",
        covers: ["tool:waf-association-load-balancer"],
        read: ["wafv2:GetWebACLForResource"],
        write: ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"],
        // An association authorizes on the load balancer too, a disassociation on it alone.
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "elasticloadbalancing", "loadbalancer/app/*/*")],
            why: "WAF sees no tags of a load balancer, and their names are Pulumi's auto-names without the stack's prefix",
        }),
    },
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
                st({ sid: "LaunchFromStack", actions: ["ec2:RunInstances"], resources: ec2(s, "launch-template", "subnet", "security-group"), conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.stack } } }),
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
        covers: ["aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy", "push:ecr"],
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
        sid: "ServiceKeys",
        covers: ["tool:ecr-and-backup-encryption"],
        read: [],
        // ECR repositories and the backup vault use AWS managed keys; those services make
        // grants on them in the caller's name, for AWS resources only.
        write: ["kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant", "kms:GenerateDataKey", "kms:Decrypt"],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "kms", "key/*")],
            why: "the AWS managed keys' ids are AWS's; only through ECR and AWS Backup",
            conditions: { StringEquals: { "kms:ViaService": [`ecr.${s.region}.amazonaws.com`, `backup.${s.region}.amazonaws.com`] } },
        }),
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
        sid: "Scaling",
        covers: ["aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"],
        read: ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:ListTagsForResource"],
        write: ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:TagResource", "application-autoscaling:UntagResource"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "application-autoscaling", "scalable-target/*")], create: [{ action: "application-autoscaling:RegisterScalableTarget", on: [arn(s, "application-autoscaling", "scalable-target/*")], orUpdate: true }], tagOnCreate: { action: "application-autoscaling:TagResource" } }),
    },
    {
        sid: "Alarms",
        covers: ["aws:cloudwatch/metricAlarm:MetricAlarm"],
        read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
        write: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
        // PutMetricAlarm both creates (tags in the request) and updates (tags on the alarm).
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "cloudwatch", "alarm:*")], create: [{ action: "cloudwatch:PutMetricAlarm", on: [arn(s, "cloudwatch", "alarm:*")], orUpdate: true }], tagOnCreate: { action: "cloudwatch:TagResource" } }),
    },
    {
        sid: "TargetTrackingAlarms",
        covers: ["tool:target-tracking-alarms"],
        read: ["cloudwatch:DescribeAlarms"],
        // Application Auto Scaling makes its target-tracking alarms, untagged, in the caller's name.
        write: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "cloudwatch", `alarm:TargetTracking-service/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "Logs",
        covers: ["aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/logMetricFilter:LogMetricFilter"],
        read: ["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:DescribeMetricFilters"],
        write: ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:PutMetricFilter", "logs:DeleteMetricFilter"],
        scope: (s) => ({
            kind: "named",
            resources: [s.naming.logGroupPrefix, `/aws/rds/instance/${s.naming.prefix}-`, `aws-waf-logs-${s.naming.prefix}-`].flatMap((g) => [arn(s, "logs", `log-group:${g}*`), arn(s, "logs", `log-group:${g}*:*`)]),
        }),
    },
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
        scope: (s) => ({ kind: "account", resources: [arn(s, "kms", "key/*")], why: "key ids are AWS's; reads of this stack's keys", conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.stack } } }),
    },
    {
        sid: "Secrets",
        covers: ["aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion"],
        read: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"],
        write: ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "secretsmanager", `secret:${s.naming.prefix}/*`)] }),
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
    {
        sid: "Schedules",
        covers: ["aws:scheduler/schedule:Schedule"],
        read: ["scheduler:GetSchedule"],
        write: ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "scheduler", `schedule/default/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "ServiceDiscovery",
        covers: ["aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "aws:servicediscovery/service:Service"],
        read: ["servicediscovery:GetNamespace", "servicediscovery:GetService", "servicediscovery:GetOperation", "servicediscovery:ListTagsForResource", "servicediscovery:ListInstances", "route53:ListHostedZonesByName", "ec2:DescribeVpcs", "ec2:DescribeRegions"],
        write: [
            "servicediscovery:CreatePrivateDnsNamespace", "servicediscovery:UpdatePrivateDnsNamespace", "servicediscovery:DeleteNamespace",
            "servicediscovery:CreateService", "servicediscovery:UpdateService", "servicediscovery:DeleteService", "servicediscovery:DeregisterInstance",
            "servicediscovery:TagResource", "servicediscovery:UntagResource",
            // The private namespace is a Route 53 private zone Cloud Map makes in the caller's name.
            "route53:CreateHostedZone",
        ],
        scope: (s) => ({
            kind: "tagged",
            resources: [arn(s, "servicediscovery", "namespace/*"), arn(s, "servicediscovery", "service/*")],
            create: [
                { action: "servicediscovery:CreatePrivateDnsNamespace", on: ["*"] },
                // The namespace side is decided by its tag.
                { action: "servicediscovery:CreateService", on: [arn(s, "servicediscovery", "service/*")] },
            ],
        }),
    },
    {
        sid: "Sns",
        covers: ["aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription"],
        read: ["sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:GetSubscriptionAttributes"],
        write: ["sns:CreateTopic", "sns:SetTopicAttributes", "sns:DeleteTopic", "sns:TagResource", "sns:UntagResource", "sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "sns", `${s.naming.prefix}-*`)] }),
    },
    {
        sid: "Rds",
        covers: ["aws:rds/instance:Instance"],
        read: [],
        write: ["rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:CreateDBSnapshot", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "rds", `db:${s.naming.prefix}-*`), arn(s, "rds", `snapshot:${s.naming.prefix}-*`)] }),
    },
    {
        sid: "RdsReads",
        covers: ["tool:rds-describe"],
        // The provider finds an instance by its resource id (a filter), which RDS authorizes on db:*.
        read: ["rds:DescribeDBInstances"],
        write: [],
        scope: (s) => ({ kind: "account", resources: [arn(s, "rds", "db:*")], why: "a describe by filter authorizes on every instance; read only" }),
    },
    {
        sid: "RdsReferences",
        covers: ["tool:rds-instance-references"],
        read: [],
        // An instance names its parameter, subnet and (default) option groups: referencing only.
        write: ["rds:CreateDBInstance", "rds:ModifyDBInstance"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "rds", "pg:*"), arn(s, "rds", "subgrp:*"), arn(s, "rds", "og:*")], why: "an instance's create and modify authorize on the groups it names" }),
    },
    {
        sid: "RdsGroups",
        covers: ["aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup"],
        read: ["rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
        write: ["rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup", "rds:DeleteDBParameterGroup", "rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "rds", "pg:*"), arn(s, "rds", "subgrp:*")], create: [
                { action: "rds:CreateDBParameterGroup", on: [arn(s, "rds", "pg:*")] },
                { action: "rds:CreateDBSubnetGroup", on: [arn(s, "rds", "subgrp:*")] },
            ], tagOnCreate: { action: "rds:AddTagsToResource" } }),
    },
    {
        sid: "ElastiCache",
        covers: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/parameterGroup:ParameterGroup", "aws:elasticache/subnetGroup:SubnetGroup"],
        read: [
            "elasticache:DescribeReplicationGroups", "elasticache:DescribeCacheClusters", "elasticache:DescribeCacheParameterGroups", "elasticache:DescribeCacheParameters", "elasticache:DescribeCacheSubnetGroups",
            "elasticache:ListTagsForResource", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
        ],
        write: [
            "elasticache:CreateReplicationGroup", "elasticache:ModifyReplicationGroup", "elasticache:IncreaseReplicaCount", "elasticache:DecreaseReplicaCount", "elasticache:DeleteReplicationGroup", "elasticache:CreateSnapshot",
            "elasticache:CreateCacheParameterGroup", "elasticache:ModifyCacheParameterGroup", "elasticache:ResetCacheParameterGroup", "elasticache:DeleteCacheParameterGroup",
            "elasticache:CreateCacheSubnetGroup", "elasticache:ModifyCacheSubnetGroup", "elasticache:DeleteCacheSubnetGroup",
            "elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource",
            // The slow log goes to CloudWatch Logs through a log delivery made in the caller's name.
            "logs:CreateLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy",
        ],
        scope: (s) => ({
            kind: "named",
            resources: ["replicationgroup", "cluster", "parametergroup", "subnetgroup", "snapshot"].map((t) => arn(s, "elasticache", `${t}:${s.naming.prefix}-*`)),
        }),
    },
    {
        sid: "Efs",
        covers: ["aws:efs/fileSystem:FileSystem", "aws:efs/accessPoint:AccessPoint", "aws:efs/backupPolicy:BackupPolicy", "aws:efs/fileSystemPolicy:FileSystemPolicy", "aws:efs/mountTarget:MountTarget"],
        read: [
            "elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeLifecycleConfiguration", "elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:DescribeBackupPolicy",
            "elasticfilesystem:DescribeFileSystemPolicy", "elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeMountTargetSecurityGroups",
        ],
        write: [
            "elasticfilesystem:CreateFileSystem", "elasticfilesystem:UpdateFileSystem", "elasticfilesystem:DeleteFileSystem",
            "elasticfilesystem:CreateAccessPoint", "elasticfilesystem:DeleteAccessPoint",
            "elasticfilesystem:PutBackupPolicy", "elasticfilesystem:PutFileSystemPolicy", "elasticfilesystem:DeleteFileSystemPolicy",
            "elasticfilesystem:CreateMountTarget", "elasticfilesystem:ModifyMountTargetSecurityGroups", "elasticfilesystem:DeleteMountTarget",
            "elasticfilesystem:TagResource", "elasticfilesystem:UntagResource",
        ],
        scope: (s) => ({
            kind: "tagged",
            resources: [arn(s, "elasticfilesystem", "file-system/*"), arn(s, "elasticfilesystem", "access-point/*")],
            // An access point authorizes on its file system only: that one's tag decides.
            create: [{ action: "elasticfilesystem:CreateFileSystem", on: ["*"] }],
            tagOnCreate: { action: "elasticfilesystem:TagResource", createActionKey: "elasticfilesystem:CreateAction", creates: ["elasticfilesystem:CreateFileSystem", "elasticfilesystem:CreateAccessPoint"] },
        }),
    },
    {
        sid: "EfsInterfaces",
        covers: ["tool:efs-mount-target-interfaces"],
        read: ["ec2:DescribeNetworkInterfaceAttribute", "ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces"],
        // A mount target is a network interface EFS makes with the caller's rights, in this stack's subnets.
        write: ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"],
        scope: (s) => ({
            kind: "custom",
            why: "the interface is EFS's and untagged; its subnet and security groups are this stack's",
            statements: [
                st({ sid: "EfsInterfacesPlace", actions: ["ec2:CreateNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"], resources: ec2(s, "subnet", "security-group"), conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.stack } } }),
                st({ sid: "EfsInterfaces", actions: ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"], resources: ec2(s, "network-interface"), conditions: { Bool: { "aws:ViaAWSService": "true" } } }),
            ],
        }),
    },
    {
        sid: "Buckets",
        covers: [
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "aws:s3/bucketLogging:BucketLogging",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketVersioning:BucketVersioning",
        ],
        read: BUCKET_READS,
        write: BUCKET_WRITES,
        unprotectedOnly: BUCKET_DESTROY,
        // On the stack's buckets by ARN: bucketStatements(), a policy of its own.
        scope: () => ({ kind: "custom", why: "bucket names carry no stack prefix; the stack lists its buckets", statements: [] }),
    },
    {
        sid: "Backup",
        covers: ["aws:backup/vault:Vault", "aws:backup/plan:Plan", "aws:backup/selection:Selection"],
        read: ["backup:DescribeBackupVault", "backup:ListTags", "backup:ListRecoveryPointsByBackupVault"],
        write: ["backup:CreateBackupVault", "backup:DeleteBackupVault", "backup:TagResource", "backup:UntagResource", "backup-storage:MountCapsule"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "backup", `backup-vault:${s.naming.prefix}-*`)] }),
    },
    {
        sid: "BackupPlans",
        covers: ["tool:backup-plans"],
        read: ["backup:GetBackupPlan", "backup:GetBackupSelection"],
        write: ["backup:CreateBackupPlan", "backup:UpdateBackupPlan", "backup:DeleteBackupPlan", "backup:CreateBackupSelection", "backup:DeleteBackupSelection", "backup:TagResource", "backup:UntagResource"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "backup", "backup-plan:*")], create: [{ action: "backup:CreateBackupPlan", on: [arn(s, "backup", "backup-plan:*")] }], tagOnCreate: { action: "backup:TagResource" } }),
    },
    {
        sid: "RecoveryPoints",
        covers: ["tool:recovery-points"],
        read: ["backup:DescribeRecoveryPoint"],
        write: [],
        // Emptying a vault on destroy: unprotected stacks only, their own recovery points only.
        unprotectedOnly: ["backup:DeleteRecoveryPoint"],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "backup", "recovery-point:*"), `arn:aws:ec2:${s.region}::snapshot/*`],
            why: "recovery point ids are AWS's; this stack's by tag",
            conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.stack } },
        }),
    },
];

const isUnscoped = (a: string) => UNSCOPED.includes(a);
const unique = (xs: readonly string[]) => [...new Set(xs)];

function statementsFor(grants: readonly Grant[], s: PolicyScope, pick: "read" | "all"): PolicyStatement[] {
    const out: PolicyStatement[] = [];
    const anywhere = new Set<string>();
    const tag = `aws:ResourceTag/${STACK_TAG}`;
    for (const g of grants) {
        const scoping = g.scope(s);
        const allWrites = pick === "all" ? [...g.write, ...(s.protect ? [] : (g.unprotectedOnly ?? []))] : [];
        if (scoping.kind === "custom") {
            if (allWrites.length > 0) {
                out.push(...scoping.statements);
            }
            g.read.filter(isUnscoped).forEach((a) => anywhere.add(a));
            continue;
        }
        // A tagged grant's creates keep their tag condition, even where AWS authorizes them on `*`.
        const creates = scoping.kind === "tagged" ? scoping.create.map((c) => c.action) : [];
        const reads = g.read.filter((a) => !isUnscoped(a));
        const writes = allWrites.filter((a) => !isUnscoped(a) || creates.includes(a));
        for (const a of [...g.read, ...allWrites].filter((a) => isUnscoped(a) && !creates.includes(a))) {
            anywhere.add(a);
        }
        if (scoping.kind === "named" || scoping.kind === "account") {
            const actions = unique([...reads, ...writes]);
            const conditions = scoping.conditions && Object.keys(scoping.conditions).length > 0 ? { conditions: scoping.conditions } : {};
            if (actions.length > 0) {
                out.push({ sid: g.sid, actions, resources: scoping.resources, ...conditions });
            }
            continue;
        }
        if (reads.length > 0) {
            out.push({ sid: `${g.sid}Read`, actions: reads, resources: scoping.resources });
        }
        const requestTag = { [`aws:RequestTag/${STACK_TAG}`]: s.stack };
        const notYetTagged = { Null: { [tag]: "true" } };
        // One statement per set of ARNs created on, and per create-or-update.
        const groups = new Map<string, { on: readonly string[]; orUpdate: boolean; actions: string[] }>();
        for (const c of scoping.create.filter((c) => writes.includes(c.action))) {
            const key = JSON.stringify([c.on, c.orUpdate ?? false]);
            const group = groups.get(key) ?? { on: c.on, orUpdate: c.orUpdate ?? false, actions: [] };
            group.actions.push(c.action);
            groups.set(key, group);
        }
        [...groups.values()].forEach((group, i) => {
            out.push({
                sid: `${g.sid}Create${groups.size > 1 ? i + 1 : ""}`,
                actions: group.actions,
                resources: [...group.on],
                conditions: { StringEquals: requestTag, ...(group.orUpdate ? notYetTagged : {}) },
            });
        });
        const tagging = scoping.tagOnCreate && writes.includes(scoping.tagOnCreate.action) ? scoping.tagOnCreate : undefined;
        if (tagging) {
            out.push({
                sid: `${g.sid}TagOnCreate`,
                actions: [tagging.action],
                resources: scoping.resources,
                conditions: tagging.createActionKey
                    ? { StringEquals: { ...requestTag, [tagging.createActionKey]: bare(tagging.creates ?? creates) } }
                    // No create-action key: only a resource without a stack tag, i.e. one being created.
                    : { StringEquals: requestTag, ...notYetTagged },
            });
        }
        // Everything else, and the creates again for the resources a create builds on
        // (the VPC of a subnet): those already carry the tag.
        const change = writes.filter((a) => !isUnscoped(a));
        if (change.length > 0) {
            out.push({ sid: `${g.sid}Change`, actions: change, resources: scoping.resources, conditions: { StringEquals: { [tag]: s.stack } } });
        }
    }
    if (anywhere.size > 0) {
        out.unshift({ sid: "Unscoped", actions: [...anywhere].sort(), resources: ["*"] });
    }
    return out;
}

/** The deploy role's statements: everything `pulumi up` and `pulumi destroy` of this program call. */
export function deployStatements(s: PolicyScope): PolicyStatement[] {
    return [...statementsFor(GRANTS, s, "all"), ...stateStatements(s, "all")];
}

/** The preview role's statements: reads only; it changes nothing, not even the state. */
export function previewStatements(s: PolicyScope): PolicyStatement[] {
    return [...statementsFor(GRANTS, s, "read"), ...stateStatements(s, "read")];
}

/**
 * This stack's S3 buckets, by ARN: their names are Pulumi's auto-names
 * without the stack's prefix, so the stack hands them over. A new bucket
 * therefore changes this statement, an administrator's change like its
 * create. Object deletes only where forceDestroy empties buckets.
 */
export function bucketStatements(bucketArns: readonly string[], protect: boolean, pick: "read" | "all"): PolicyStatement[] {
    if (bucketArns.length === 0) {
        return [];
    }
    const writes = pick === "all" ? [...BUCKET_WRITES, ...(protect ? [] : BUCKET_DESTROY)] : [];
    const out: PolicyStatement[] = [{ sid: "Buckets", actions: unique([...BUCKET_READS, ...writes.filter((a) => !a.includes("Object"))]), resources: [...bucketArns] }];
    const objectWrites = writes.filter((a) => a.includes("Object"));
    if (objectWrites.length > 0) {
        out.push({ sid: "BucketObjects", actions: objectWrites, resources: bucketArns.map((b) => `${b}/*`) });
    }
    return out;
}

/**
 * The Pulumi state: this stack's files under `<prefix>.pulumi/` of the DIY
 * backend's bucket (pulumi pkg/backend/diy: stacks/, history/, backups/,
 * locks/organization/) and decryption with this stack's secrets key, found by
 * its alias. A preview takes no lock, so it only reads.
 */
function stateStatements(s: PolicyScope, pick: "read" | "all"): PolicyStatement[] {
    const out: PolicyStatement[] = [];
    if (s.stateBucket) {
        const bucket = `arn:aws:s3:::${s.stateBucket.name}`;
        const root = `${bucket}/${s.stateBucket.prefix}.pulumi`;
        const own = [
            `${root}/stacks/${s.project}/${s.stack}.json*`,
            `${root}/history/${s.project}/${s.stack}/*`,
            `${root}/backups/${s.project}/${s.stack}/*`,
            `${root}/locks/organization/${s.project}/${s.stack}/*`,
        ];
        out.push({ sid: "StateList", actions: ["s3:ListBucket"], resources: [bucket] });
        out.push({ sid: "StateMeta", actions: ["s3:GetObject"], resources: [`${root}/meta.yaml`] });
        out.push({ sid: "StateObjects", actions: pick === "all" ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] : ["s3:GetObject"], resources: own });
    }
    if (s.secretsKeyAlias) {
        out.push({
            sid: "StateSecrets",
            actions: pick === "all" ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
            resources: [arn(s, "kms", "key/*")],
            conditions: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": [s.secretsKeyAlias] } },
        });
    }
    return out;
}
