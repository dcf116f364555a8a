import { PolicyStatement, RESOURCELESS_ACTIONS } from "./iam";
import { ciIamPath, Naming, workloadBoundaryArn } from "./naming";

/**
 * What GitLab CI may do to this stack: the rights of `ci-deploy` (`pulumi up`
 * and `destroy`) and `ci-preview` (`pulumi preview` and `refresh`), built
 * from one catalogue of grants, one per AWS resource type (or tool) the
 * program uses. Each grant lists the IAM actions the provider's create, read,
 * update and delete call for the inputs this program sets (from
 * terraform-provider-aws's source, which @pulumi/aws bridges) and says where
 * they apply:
 *
 * - `named`: the resource has a name this program chooses (`<project>-<stack>-…`,
 *   IAM path `/<project>/`, log groups under `/<project>/<stack>/`), so the
 *   actions are granted on those ARNs only;
 * - `tagged`: AWS names it (`sg-…`, `fs-…`), so creating requires the
 *   request to carry this stack's `stack` tag (the provider's default tags
 *   put it on every create) and everything after it requires the resource to
 *   carry it;
 * - `account`: neither works (below, per grant): the actions apply to the
 *   account's resources of that type.
 *
 * Actions AWS authorizes only on `*` (Describe/List calls without resource
 * types) go into one statement on `*`. tests/deployIdentity.test.ts checks
 * every action and condition key against AWS's service authorization data
 * and every resource the program declares against the grant for its type.
 */

export interface PolicyScope {
    readonly accountId: string;
    readonly region: string;
    readonly stack: string;
    readonly naming: Naming;
    /** The Route 53 zone the program writes records in (`dns.zoneName`). */
    readonly zoneName: string;
    /** The GitLab the CI roles trust (its OIDC provider is read during a refresh). */
    readonly issuerHost: string;
    /** The Pulumi DIY backend's bucket and prefix; absent with Pulumi Cloud. */
    readonly stateBucket?: { readonly name: string; readonly prefix: string };
    /** Alias of the `awskms://` secrets provider's key. */
    readonly secretsKeyAlias?: string;
}

type Scoping =
    | { readonly kind: "named"; readonly resources: string[] }
    | {
        readonly kind: "tagged";
        readonly resources: string[];
        /** Calls that create a resource: the request must carry the stack's tag. */
        readonly create: readonly string[];
        /** Tagging done as part of a create (`ec2:CreateTags` with `ec2:CreateAction`). */
        readonly tagOnCreate?: { readonly action: string; readonly conditionKey: string };
    }
    | { readonly kind: "account"; readonly resources: string[]; readonly why: string; readonly conditions?: PolicyStatement["conditions"] };

export interface Grant {
    /** Statement id, and what a reviewer searches for. */
    readonly sid: string;
    /** Pulumi type tokens (and `tool:` entries for what the program's commands call) it covers. */
    readonly covers: readonly string[];
    /** What a preview and a refresh call: Read of each resource, data sources. */
    readonly read: readonly string[];
    /** What create, update and delete call beyond the reads. */
    readonly write: readonly string[];
    readonly scope: (s: PolicyScope) => Scoping;
}

/** Actions AWS authorizes only on `*` (lib/iam.ts keeps the one list the whole program may grant there). */
export const UNSCOPED: readonly string[] = RESOURCELESS_ACTIONS;

const arn = (s: PolicyScope, service: string, resource: string, region = s.region, account: string = s.accountId) => `arn:aws:${service}:${region}:${account}:${resource}`;

/**
 * Everything the program's own roles may ever do: their permissions boundary.
 * tests/deployIdentity.test.ts fails when a role policy grants an action
 * missing here (add it here in the same change).
 */
export const WORKLOAD_ACTIONS: readonly string[] = [
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:SetDesiredCapacity", "autoscaling:SetInstanceHealth", "autoscaling:TerminateInstanceInAutoScalingGroup",
    "backup:CopyIntoBackupVault", "backup:DescribeBackupVault",
    "ec2-instance-connect:SendSSHPublicKey",
    "ec2:AttachVolume", "ec2:CreateSnapshot", "ec2:CreateTags", "ec2:DeleteSnapshot", "ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:DescribeTags", "ec2:DescribeVolumes",
    "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply",
    "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer",
    "ecs:DeregisterContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:ListTagsForResource", "ecs:Poll", "ecs:RegisterContainerInstance", "ecs:RunTask", "ecs:StartTelemetrySession",
    "ecs:SubmitAttachmentStateChanges", "ecs:SubmitContainerStateChange", "ecs:SubmitTaskStateChange", "ecs:TagResource", "ecs:UpdateContainerInstancesState",
    "elasticfilesystem:Backup", "elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess", "elasticfilesystem:ClientWrite", "elasticfilesystem:DescribeTags",
    "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:RegisterTargets",
    "iam:PassRole",
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:PutLogEvents", "logs:PutRetentionPolicy",
    "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts", "s3:PutObject", "s3:PutObjectAcl",
    "secretsmanager:GetSecretValue",
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    "tag:GetResources",
];

/**
 * The boundary document: a ceiling, not a grant (a role's own policy still
 * names the resources), so it allows its actions on `*`.
 */
export function workloadBoundaryDocument(): string {
    return JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "WorkloadCeiling", Effect: "Allow", Action: [...WORKLOAD_ACTIONS], Resource: "*" }] });
}

/** The services this program's roles are for (`iam:PassRole`). */
export const PASSED_TO = ["ecs-tasks.amazonaws.com", "ecs.amazonaws.com", "ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com", "monitoring.rds.amazonaws.com", "backup.amazonaws.com", "scheduler.amazonaws.com"];

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

const ec2 = (s: PolicyScope, ...types: string[]) => types.map((t) => arn(s, "ec2", `${t}/*`));

export const GRANTS: readonly Grant[] = [
    {
        sid: "Network",
        covers: [
            "awsx:ec2:Vpc",
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
        read: ["ec2:DescribeVpcAttribute"],
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
            resources: [
                ...ec2(s, "vpc", "subnet", "route-table", "internet-gateway", "natgateway", "elastic-ip", "security-group", "security-group-rule", "vpc-endpoint", "vpc-flow-log", "volume", "snapshot", "launch-template", "network-interface"),
                // Interface endpoints name their service; the flow log its destination.
                arn(s, "ec2", "vpc-endpoint-service/*"),
                arn(s, "logs", "log-group:*"),
            ],
            create: ["ec2:CreateVpc", "ec2:CreateSubnet", "ec2:CreateRouteTable", "ec2:CreateInternetGateway", "ec2:CreateNatGateway", "ec2:AllocateAddress", "ec2:CreateSecurityGroup", "ec2:CreateVpcEndpoint", "ec2:CreateFlowLogs", "ec2:CreateVolume", "ec2:CreateLaunchTemplate", "ec2:CreateSnapshot"],
            tagOnCreate: { action: "ec2:CreateTags", conditionKey: "ec2:CreateAction" },
        }),
    },
    {
        sid: "LoadBalancing",
        covers: ["aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:lb/targetGroup:TargetGroup"],
        read: [],
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
            create: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateRule", "elasticloadbalancing:CreateTargetGroup"],
            tagOnCreate: { action: "elasticloadbalancing:AddTags", conditionKey: "elasticloadbalancing:CreateAction" },
        }),
    },
    {
        sid: "Certificates",
        covers: ["aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"],
        read: ["acm:DescribeCertificate", "acm:ListTagsForCertificate"],
        write: ["acm:RequestCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate", "acm:DeleteCertificate"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "acm", "certificate/*")], create: ["acm:RequestCertificate"] }),
    },
    {
        sid: "Dns",
        covers: ["aws:route53/record:Record", "tool:getZone"],
        read: ["route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:GetChange"],
        write: [],
        scope: () => ({ kind: "account", resources: ["arn:aws:route53:::hostedzone/*", "arn:aws:route53:::change/*"], why: "hosted zone ids are AWS's" }),
    },
    {
        sid: "DnsRecords",
        covers: ["tool:dns-records"],
        read: [],
        write: ["route53:ChangeResourceRecordSets"],
        // Zone ids are AWS's and zones carry no stack tag: records may change only under dns.zoneName.
        scope: (s) => ({
            kind: "account",
            resources: ["arn:aws:route53:::hostedzone/*"],
            why: "limited to record names in dns.zoneName",
            conditions: { "ForAllValues:StringLike": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": [s.zoneName, `*.${s.zoneName}`] } },
        }),
    },
    {
        sid: "Waf",
        covers: ["aws:wafv2/webAcl:WebAcl", "aws:wafv2/webAclAssociation:WebAclAssociation", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"],
        read: ["wafv2:GetWebACL", "wafv2:ListTagsForResource", "wafv2:GetWebACLForResource", "wafv2:GetLoggingConfiguration"],
        write: ["wafv2:CreateWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:TagResource", "wafv2:UntagResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "wafv2:PutLoggingConfiguration", "wafv2:DeleteLoggingConfiguration"],
        scope: (s) => ({
            kind: "named",
            resources: [
                arn(s, "wafv2", `regional/webacl/${s.naming.prefix}-*/*`),
                // CreateWebACL also authorizes on the managed rule groups the ACL uses.
                arn(s, "wafv2", "regional/managedruleset/*/*"),
                // Association authorizes on the load balancer too.
                arn(s, "elasticloadbalancing", "loadbalancer/app/*/*"),
            ],
        }),
    },
    {
        sid: "AutoScalingGroups",
        covers: ["aws:autoscaling/group:Group"],
        read: [],
        write: [
            "autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup",
            "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags", "autoscaling:SuspendProcesses", "autoscaling:ResumeProcesses",
            "autoscaling:EnableMetricsCollection", "autoscaling:DisableMetricsCollection", "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:SetInstanceProtection",
        ],
        scope: (s) => ({ kind: "named", resources: [arn(s, "autoscaling", `autoScalingGroup:*:autoScalingGroupName/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "LaunchInstances",
        covers: ["tool:asg-launch-check"],
        read: [],
        // Auto Scaling checks that whoever creates or updates a group may launch from its template.
        write: ["ec2:RunInstances"],
        scope: (s) => ({
            kind: "account",
            resources: [...ec2(s, "instance", "volume", "network-interface", "security-group", "subnet", "launch-template"), `arn:aws:ec2:${s.region}::image/*`],
            why: "Auto Scaling launches the instances with its own role; it checks the caller's right to launch on AWS-named resources and a public AMI",
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
        covers: ["aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy", "tool:push-image"],
        read: ["ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:GetLifecyclePolicy", "ecr:DescribeImages"],
        write: [
            "ecr:CreateRepository", "ecr:DeleteRepository", "ecr:TagResource", "ecr:UntagResource", "ecr:PutImageTagMutability", "ecr:PutImageScanningConfiguration",
            "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
            "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
        ],
        scope: (s) => ({ kind: "named", resources: [arn(s, "ecr", `repository/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "EcrKms",
        covers: ["tool:ecr-encryption"],
        read: [],
        // Repositories encrypted with KMS: ECR makes a grant on the key, in the caller's name.
        write: ["kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "kms", "key/*")], why: "the AWS managed key's id is AWS's", conditions: { StringEquals: { "kms:ViaService": `ecr.${s.region}.amazonaws.com` } } }),
    },
    {
        sid: "Ecs",
        covers: ["aws:ecs/cluster:Cluster", "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "aws:ecs/capacityProvider:CapacityProvider", "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "tool:run-task"],
        read: ["ecs:DescribeClusters", "ecs:DescribeCapacityProviders", "ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeTasks"],
        write: [
            "ecs:CreateCluster", "ecs:UpdateCluster", "ecs:DeleteCluster", "ecs:PutClusterCapacityProviders",
            "ecs:CreateCapacityProvider", "ecs:UpdateCapacityProvider", "ecs:DeleteCapacityProvider",
            "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService",
            "ecs:RegisterTaskDefinition", "ecs:RunTask", "ecs:TagResource", "ecs:UntagResource",
        ],
        scope: (s) => ({
            kind: "named",
            resources: ["cluster/{p}-*", "capacity-provider/{p}-*", "service/{p}-*/*", "service-deployment/{p}-*/*/*", "task-definition/{p}-*:*", "task/{p}-*/*"].map((r) => arn(s, "ecs", r.replace("{p}", s.naming.prefix))),
        }),
    },
    {
        sid: "Scaling",
        covers: ["aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"],
        read: ["application-autoscaling:ListTagsForResource"],
        write: ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:TagResource", "application-autoscaling:UntagResource"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "application-autoscaling", "scalable-target/*")], why: "scalable target ids are AWS's; what they scale is an ECS service the Ecs grant limits to this stack" }),
    },
    {
        sid: "Alarms",
        covers: ["aws:cloudwatch/metricAlarm:MetricAlarm", "tool:target-tracking-alarms"],
        read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
        write: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "cloudwatch", "alarm:*")], why: "alarm names are Pulumi's auto-names (logical name and suffix), without the stack's prefix" }),
    },
    {
        sid: "Logs",
        covers: ["aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/logMetricFilter:LogMetricFilter"],
        read: ["logs:ListTagsForResource", "logs:DescribeMetricFilters"],
        write: ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:PutMetricFilter", "logs:DeleteMetricFilter"],
        scope: (s) => ({
            kind: "named",
            resources: [s.naming.logGroupPrefix, `/aws/rds/instance/${s.naming.prefix}-`, `aws-waf-logs-${s.naming.prefix}-`].flatMap((g) => [arn(s, "logs", `log-group:${g}*`), arn(s, "logs", `log-group:${g}*:*`)]),
        }),
    },
    {
        sid: "IamBounded",
        covers: ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"],
        read: [],
        // Only roles that carry the workload boundary: a role CI writes can never do more
        // than WORKLOAD_ACTIONS, whatever policy it is given, so CI cannot escalate.
        write: ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "iam", `role${s.naming.iamPath}${s.naming.prefix}-*`, "")],
            why: "this stack's roles, and only with the workload boundary",
            conditions: { StringEquals: { "iam:PermissionsBoundary": workloadBoundaryArn(s.naming, s.accountId) } },
        }),
    },
    {
        sid: "Iam",
        covers: ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/instanceProfile:InstanceProfile"],
        read: ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetInstanceProfile", "iam:ListInstanceProfilesForRole"],
        write: [
            "iam:TagRole", "iam:UntagRole",
            "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile",
        ],
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
            why: "limited to this stack's roles, and to the services they are for",
            conditions: { "ForAnyValue:StringEquals": { "iam:PassedToService": PASSED_TO } },
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
            conditions: { "ForAnyValue:StringEquals": { "iam:AWSServiceName": SERVICE_LINKED_ROLES } },
        }),
    },
    {
        sid: "CiIdentity",
        covers: ["aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/policy:Policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "tool:ci-roles"],
        // CI reads its own identity (a refresh) and can never change it: that is an administrator's `pulumi up`.
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
        read: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
        write: ["kms:CreateKey", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:UpdateKeyDescription", "kms:PutKeyPolicy", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "kms", "key/*")], create: ["kms:CreateKey"] }),
    },
    {
        sid: "KmsAliases",
        covers: ["tool:kms-alias"],
        read: [],
        write: ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
        // Aliasing authorizes on the alias and on the key; the key's side is covered by its tag.
        scope: (s) => ({ kind: "named", resources: [arn(s, "kms", `alias/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "KmsAliasKeys",
        covers: ["tool:kms-alias-key"],
        read: [],
        write: ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "kms", "key/*")], why: "only this stack's keys", conditions: { StringEquals: { "aws:ResourceTag/stack": s.stack } } }),
    },
    {
        sid: "Secrets",
        covers: ["aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion"],
        read: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"],
        write: ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "secretsmanager", `secret:${s.naming.prefix}/*`)] }),
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
        read: ["servicediscovery:GetNamespace", "servicediscovery:GetService", "servicediscovery:GetOperation", "servicediscovery:ListTagsForResource", "servicediscovery:ListInstances"],
        write: [
            "servicediscovery:CreatePrivateDnsNamespace", "servicediscovery:UpdatePrivateDnsNamespace", "servicediscovery:DeleteNamespace",
            "servicediscovery:CreateService", "servicediscovery:UpdateService", "servicediscovery:DeleteService", "servicediscovery:DeregisterInstance",
            "servicediscovery:TagResource", "servicediscovery:UntagResource",
            // The private namespace is a Route 53 private zone Cloud Map creates in the caller's name.
            "route53:GetHealthCheck", "route53:DeleteHealthCheck", "route53:UpdateHealthCheck",
        ],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "servicediscovery", "namespace/*"), arn(s, "servicediscovery", "service/*"), "arn:aws:route53:::hostedzone/*", "arn:aws:route53:::healthcheck/*"],
            why: "namespace and service ids are AWS's, and Cloud Map checks no resource tags on changes",
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
        read: ["rds:DescribeDBInstances"],
        write: ["rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:CreateDBSnapshot", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"],
        scope: (s) => ({
            kind: "named",
            resources: [
                arn(s, "rds", `db:${s.naming.prefix}-*`),
                arn(s, "rds", `snapshot:${s.naming.prefix}-*`),
                // An instance names its parameter, subnet and (default) option groups.
                arn(s, "rds", "pg:*"),
                arn(s, "rds", "subgrp:*"),
                arn(s, "rds", "og:*"),
            ],
        }),
    },
    {
        sid: "RdsGroups",
        covers: ["aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup"],
        read: ["rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
        write: ["rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup", "rds:DeleteDBParameterGroup", "rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "rds", "pg:*"), arn(s, "rds", "subgrp:*")], create: ["rds:CreateDBParameterGroup", "rds:CreateDBSubnetGroup", "rds:AddTagsToResource"] }),
    },
    {
        sid: "ElastiCache",
        covers: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/parameterGroup:ParameterGroup", "aws:elasticache/subnetGroup:SubnetGroup"],
        read: ["elasticache:DescribeReplicationGroups", "elasticache:DescribeCacheClusters", "elasticache:DescribeCacheParameterGroups", "elasticache:DescribeCacheParameters", "elasticache:DescribeCacheSubnetGroups", "elasticache:ListTagsForResource", "logs:GetLogDelivery", "logs:ListLogDeliveries"],
        write: [
            "elasticache:CreateReplicationGroup", "elasticache:ModifyReplicationGroup", "elasticache:IncreaseReplicaCount", "elasticache:DecreaseReplicaCount", "elasticache:DeleteReplicationGroup", "elasticache:CreateSnapshot",
            "elasticache:CreateCacheParameterGroup", "elasticache:ModifyCacheParameterGroup", "elasticache:ResetCacheParameterGroup", "elasticache:DeleteCacheParameterGroup",
            "elasticache:CreateCacheSubnetGroup", "elasticache:ModifyCacheSubnetGroup", "elasticache:DeleteCacheSubnetGroup",
            "elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource",
            // The slow log goes to CloudWatch Logs through a log delivery made in the caller's name.
            "logs:UpdateLogDelivery",
        ],
        scope: (s) => ({
            kind: "named",
            resources: ["replicationgroup", "cluster", "parametergroup", "subnetgroup", "snapshot"].map((t) => arn(s, "elasticache", `${t}:${s.naming.prefix}-*`)),
        }),
    },
    {
        sid: "Efs",
        covers: ["aws:efs/fileSystem:FileSystem", "aws:efs/accessPoint:AccessPoint", "aws:efs/backupPolicy:BackupPolicy", "aws:efs/fileSystemPolicy:FileSystemPolicy", "aws:efs/mountTarget:MountTarget"],
        read: ["elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeLifecycleConfiguration", "elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:DescribeBackupPolicy", "elasticfilesystem:DescribeFileSystemPolicy", "elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeMountTargetSecurityGroups"],
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
            create: ["elasticfilesystem:CreateFileSystem", "elasticfilesystem:CreateAccessPoint"],
        }),
    },
    {
        sid: "EfsInterfaces",
        covers: ["tool:efs-mount-target-interfaces"],
        read: ["ec2:DescribeNetworkInterfaceAttribute"],
        // A mount target is a network interface EFS creates with the caller's rights.
        write: ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"],
        scope: (s) => ({ kind: "account", resources: ec2(s, "network-interface", "subnet", "security-group"), why: "EFS's interfaces carry no tags of ours" }),
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
        read: [
            "s3:ListBucket", "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration",
            "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
            "s3:GetBucketObjectLockConfiguration", "s3:GetBucketTagging", "s3:GetBucketOwnershipControls", "s3:GetBucketPublicAccessBlock",
        ],
        write: [
            "s3:CreateBucket", "s3:DeleteBucket", "s3:TagResource", "s3:PutBucketTagging", "s3:PutLifecycleConfiguration", "s3:PutBucketLogging", "s3:PutBucketOwnershipControls",
            "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning",
            // forceDestroy (unprotected stacks) empties a versioned bucket before deleting it.
            "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion",
        ],
        scope: (s) => ({
            kind: "account",
            resources: ["arn:aws:s3:::*", "arn:aws:s3:::*/*"],
            why: "bucket names are Pulumi's auto-names without the stack's prefix (renaming would replace the buckets); limited to this account's buckets, and the state bucket is denied",
            conditions: { StringEquals: { "s3:ResourceAccount": s.accountId } },
        }),
    },
    {
        sid: "Backup",
        covers: ["aws:backup/vault:Vault", "aws:backup/plan:Plan", "aws:backup/selection:Selection"],
        read: ["backup:DescribeBackupVault", "backup:GetBackupPlan", "backup:GetBackupSelection", "backup:ListTags", "backup:ListRecoveryPointsByBackupVault", "backup:DescribeRecoveryPoint"],
        write: [
            "backup:CreateBackupVault", "backup:DeleteBackupVault", "backup:DeleteRecoveryPoint",
            "backup:CreateBackupPlan", "backup:UpdateBackupPlan", "backup:DeleteBackupPlan",
            "backup:CreateBackupSelection", "backup:DeleteBackupSelection",
            "backup:TagResource", "backup:UntagResource",
        ],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "backup", `backup-vault:${s.naming.prefix}-*`), arn(s, "backup", "backup-plan:*"), arn(s, "backup", "recovery-point:*"), `arn:aws:ec2:${s.region}::snapshot/*`],
            why: "plan ids are AWS's; vaults carry the stack's name",
        }),
    },
    {
        sid: "BackupKms",
        covers: ["tool:backup-vault-encryption"],
        read: [],
        // A vault is encrypted with AWS Backup's managed key, granted in the caller's name.
        write: ["kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant", "kms:GenerateDataKey", "kms:Decrypt"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "kms", "key/*")], why: "the AWS managed key's id is AWS's", conditions: { StringEquals: { "kms:ViaService": `backup.${s.region}.amazonaws.com` } } }),
    },
];

const isUnscoped = (a: string) => UNSCOPED.includes(a);

function statementsFor(grants: readonly Grant[], s: PolicyScope, pick: "read" | "all"): PolicyStatement[] {
    const out: PolicyStatement[] = [];
    const anywhere = new Set<string>();
    for (const g of grants) {
        const scoping = g.scope(s);
        // A tagged grant's creates keep their tag condition, even where AWS authorizes them on `*`.
        const creates = scoping.kind === "tagged" ? scoping.create : [];
        const reads = g.read.filter((a) => !isUnscoped(a));
        const writes = pick === "all" ? g.write.filter((a) => !isUnscoped(a) || creates.includes(a)) : [];
        for (const a of [...g.read, ...(pick === "all" ? g.write : [])].filter((a) => isUnscoped(a) && !creates.includes(a))) {
            anywhere.add(a);
        }
        if (scoping.kind === "named" || scoping.kind === "account") {
            const actions = [...new Set([...reads, ...writes])];
            if (actions.length > 0) {
                out.push({ sid: g.sid, actions, resources: scoping.resources, ...(scoping.kind === "account" && scoping.conditions ? { conditions: scoping.conditions } : {}) });
            }
            continue;
        }
        const tag = `aws:ResourceTag/stack`;
        if (reads.length > 0) {
            out.push({ sid: `${g.sid}Read`, actions: reads, resources: scoping.resources });
        }
        const create = writes.filter((a) => scoping.create.includes(a));
        const tagging = scoping.tagOnCreate && writes.includes(scoping.tagOnCreate.action) ? scoping.tagOnCreate : undefined;
        const change = writes.filter((a) => !scoping.create.includes(a));
        // Creates AWS authorizes only on `*` (kms:CreateKey) keep the tag condition there.
        const createStatements: [string, string[], string[]][] = [
            ["Create", create.filter((a) => !isUnscoped(a)), scoping.resources],
            ["CreateAnywhere", create.filter(isUnscoped), ["*"]],
        ];
        for (const [suffix, actions, resources] of createStatements) {
            if (actions.length > 0) {
                out.push({ sid: `${g.sid}${suffix}`, actions, resources, conditions: { StringEquals: { "aws:RequestTag/stack": s.stack } } });
            }
        }
        if (tagging) {
            out.push({
                sid: `${g.sid}TagOnCreate`,
                actions: [tagging.action],
                resources: scoping.resources,
                conditions: { StringEquals: { "aws:RequestTag/stack": s.stack }, "ForAnyValue:StringEquals": { [tagging.conditionKey]: [...scoping.create] } },
            });
        }
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
 * The Pulumi state: objects under `<prefix>.pulumi/` of the DIY backend's
 * bucket (a preview takes no lock, so it only reads) and decryption with the
 * secrets provider's key, found by its alias.
 */
function stateStatements(s: PolicyScope, pick: "read" | "all"): PolicyStatement[] {
    const out: PolicyStatement[] = [];
    if (s.stateBucket) {
        const bucket = `arn:aws:s3:::${s.stateBucket.name}`;
        const objects = `${bucket}/${s.stateBucket.prefix}.pulumi/*`;
        out.push({ sid: "StateList", actions: ["s3:ListBucket"], resources: [bucket] });
        out.push({ sid: "StateObjects", actions: pick === "all" ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] : ["s3:GetObject"], resources: [objects] });
        if (pick === "all") {
            // The Buckets grant reaches every bucket of the account: never the state's.
            out.push({
                sid: "StateBucketUntouched",
                effect: "Deny",
                actions: ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls", "s3:PutBucketLogging", "s3:PutBucketTagging", "s3:DeleteObjectVersion"],
                resources: [bucket, `${bucket}/*`],
            });
        }
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
