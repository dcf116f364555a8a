import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { layoutSubnets } from "../facts/cidr";
import { serviceRole } from "../aws/iam";
import { logGroup } from "../aws/logs";
import { Naming } from "../facts/naming";

/** The AWS services that get an interface endpoint when `interfaceEndpoints` is on. */
export const INTERFACE_ENDPOINT_SERVICES = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"] as const;

export interface NetworkArgs {
    /** The VPC's IPv4 CIDR (validated by the config schema). */
    readonly cidrBlock: string;
    /** How many AZs to spread every subnet tier over. */
    readonly availabilityZoneCount: number;
    /** NAT gateway layout for the private subnets' egress. */
    readonly natGateways: "Single" | "OnePerAz";
    /** Netmask of each tier's subnet in every AZ. */
    readonly subnetMasks: { readonly public: number; readonly private: number; readonly isolated: number };
    /**
     * Interface endpoints for image pulls, logs and secrets. They cost per AZ-hour,
     * so dev leaves them off and pays NAT data charges instead.
     */
    readonly interfaceEndpoints: boolean;
    /** VPC flow logs (all traffic) to a CloudWatch log group with this retention; undefined turns them off. */
    readonly flowLogRetentionDays?: number;
    /** The AWS region, for endpoint service names. */
    readonly region: string;
    /** The account, for the confused-deputy condition on the flow-logs role. */
    readonly accountId?: pulumi.Input<string>;
    /** Tags on every resource that takes them. */
    readonly tags?: Record<string, string>;
    readonly naming: Naming;
}

/**
 * A VPC with public, private and isolated subnets, NAT, endpoints and flow
 * logs, plus the load balancer's security group. Tiers: public for load
 * balancers and NAT, private for tasks (egress through NAT or endpoints),
 * isolated for databases (no route out at all).
 */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly cidrBlock: string;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    readonly isolatedSubnetIds: pulumi.Output<string[]>;
    /** Open to the world on 80 and 443 only: the single world-facing ingress of the program. */
    readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
    /** The interface endpoints' security group, when they exist. */
    readonly endpointSecurityGroupId?: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:network:Network", name, {}, opts);
        const a = args;
        const parent = { parent: this };

        // Explicit CIDRs, not awsx's even split: the split divides the VPC by today's
        // AZ count, so adding an AZ would move (delete and recreate) every subnet and
        // everything in them. Slots sized for MAX_AZS keep existing subnets in place.
        const tierSpecs = [
            { type: awsx.ec2.SubnetType.Public, name: "public", prefix: a.subnetMasks.public },
            { type: awsx.ec2.SubnetType.Private, name: "private", prefix: a.subnetMasks.private },
            { type: awsx.ec2.SubnetType.Isolated, name: "isolated", prefix: a.subnetMasks.isolated },
        ] as const;
        const layout = layoutSubnets(a.cidrBlock, tierSpecs, a.availabilityZoneCount);
        const tiers = tierSpecs.map((t) => ({ type: t.type, name: t.name, cidrMask: t.prefix, cidrBlocks: layout[t.name] }));

        const inheritedAws = this.getProvider("aws:ec2/vpc:Vpc");
        const vpc = new awsx.ec2.Vpc(
            name,
            {
                cidrBlock: a.cidrBlock,
                numberOfAvailabilityZones: a.availabilityZoneCount,
                // Auto honours explicit cidrBlocks (Legacy, the default, ignores them).
                subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
                subnetSpecs: tiers,
                natGateways: { strategy: a.natGateways },
                // Interface endpoints with private DNS need both.
                enableDnsHostnames: true,
                enableDnsSupport: true,
                tags: a.tags,
            },
            // awsx is a remote component: the SDK sends it only providers named in its own
            // options, not the ones this component inherited, so name ours explicitly.
            { ...parent, providers: inheritedAws ? { aws: inheritedAws } : undefined },
        );
        this.vpcId = vpc.vpcId;
        this.cidrBlock = a.cidrBlock;
        this.publicSubnetIds = vpc.publicSubnetIds;
        this.privateSubnetIds = vpc.privateSubnetIds;
        this.isolatedSubnetIds = vpc.isolatedSubnetIds;

        // Adopt the VPC's default security group and strip its rules (Security Hub EC2.2):
        // anything launched without an explicit group then gets no traffic at all.
        new aws.ec2.DefaultSecurityGroup(`${name}-default`, { vpcId: vpc.vpcId, tags: a.tags }, parent);

        const lb = new aws.ec2.SecurityGroup(
            `${name}-lb`,
            { vpcId: vpc.vpcId, description: "Load balancer: HTTP and HTTPS from anywhere", tags: a.tags },
            parent,
        );
        for (const port of [80, 443]) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-lb-in-${port}`,
                { securityGroupId: lb.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: `world to ${port}` },
                parent,
            );
        }
        // The load balancer only ever talks to targets inside the VPC.
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-lb-out`,
            { securityGroupId: lb.id, ipProtocol: "tcp", fromPort: 0, toPort: 65535, cidrIpv4: a.cidrBlock, description: "to targets in the VPC" },
            parent,
        );
        this.loadBalancerSecurityGroupId = lb.id;

        // The S3 gateway endpoint is free and carries ECR layer downloads, so every stack has it.
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.vpcId,
                serviceName: `com.amazonaws.${a.region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: vpc.routeTables.apply((rts) => pulumi.all(rts.map((rt) => rt.id))),
                tags: a.tags,
            },
            parent,
        );

        if (a.interfaceEndpoints) {
            const sg = new aws.ec2.SecurityGroup(
                `${name}-endpoints`,
                { vpcId: vpc.vpcId, description: "Interface endpoints: HTTPS from inside the VPC", tags: a.tags },
                parent,
            );
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-endpoints-in-443`,
                { securityGroupId: sg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: a.cidrBlock, description: "VPC to endpoints" },
                parent,
            );
            for (const service of INTERFACE_ENDPOINT_SERVICES) {
                new aws.ec2.VpcEndpoint(
                    `${name}-${service.replace(".", "-")}`,
                    {
                        vpcId: vpc.vpcId,
                        serviceName: `com.amazonaws.${a.region}.${service}`,
                        vpcEndpointType: "Interface",
                        privateDnsEnabled: true,
                        subnetIds: vpc.privateSubnetIds,
                        securityGroupIds: [sg.id],
                        tags: a.tags,
                    },
                    parent,
                );
            }
            this.endpointSecurityGroupId = sg.id;
        }

        if (a.flowLogRetentionDays !== undefined) {
            const logs = logGroup(`${name}-flow-logs`, { retentionInDays: a.flowLogRetentionDays, naming: a.naming }, parent);
            const role = serviceRole(
                `${name}-flow-logs`,
                {
                    service: "vpc-flow-logs.amazonaws.com",
                    sourceAccount: a.accountId,
                    naming: a.naming,
                    statements: [
                        {
                            actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            resources: [logs.arn, pulumi.interpolate`${logs.arn}:*`],
                        },
                    ],
                },
                parent,
            );
            new aws.ec2.FlowLog(
                `${name}-flow-log`,
                {
                    vpcId: vpc.vpcId,
                    trafficType: "ALL",
                    logDestinationType: "cloud-watch-logs",
                    logDestination: logs.arn,
                    iamRoleArn: role.arn,
                    maxAggregationInterval: 60,
                    tags: a.tags,
                },
                parent,
            );
        }

        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
            isolatedSubnetIds: this.isolatedSubnetIds,
            loadBalancerSecurityGroupId: this.loadBalancerSecurityGroupId,
            endpointSecurityGroupId: this.endpointSecurityGroupId,
        });
    }
}
