import { arn, ec2, Grant } from "./model";

/** Network, load balancing, certificates, DNS and WAF. */
export const NETWORK_GRANTS: readonly Grant[] = [
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
];
