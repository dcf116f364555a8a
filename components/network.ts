import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { layoutSubnets } from "../facts/cidr";
import { serviceRole } from "../aws/iam";
import { logGroup } from "../aws/logs";
import { StackContext } from "../aws/context";

/** The AWS services that get an interface endpoint when `interfaceEndpoints` is on. */
export const INTERFACE_ENDPOINT_SERVICES = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"] as const;

export interface NetworkArgs {
    /** The region (endpoint service names), the account (the flow-logs role's confused-deputy condition), naming, and the flow logs' retention. */
    readonly context: StackContext;
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
    /** VPC flow logs (all traffic) to a CloudWatch log group kept `context.logRetentionDays`; off: none. */
    readonly flowLogs: boolean;
    /** Tags on every resource that takes them. */
    readonly tags?: Record<string, string>;
}

/** What a component that spans the VPC's tiers needs of it (Network.ref). */
export interface NetworkRef {
    readonly vpcId: pulumi.Input<string>;
    readonly cidrBlock: pulumi.Input<string>;
    /** Each tier's subnets, one per AZ: public (load balancers), private (tasks), isolated (databases, caches). */
    readonly subnetIds: {
        readonly public: pulumi.Input<pulumi.Input<string>[]>;
        readonly private: pulumi.Input<pulumi.Input<string>[]>;
        readonly isolated: pulumi.Input<pulumi.Input<string>[]>;
    };
    /** How many AZs every tier spans (a known count, for one resource per subnet). */
    readonly availabilityZoneCount: number;
}

/** Where the network's parts go: the component's name, the VPC and its CIDR, their tags and parent. */
interface InVpc {
    readonly name: string;
    readonly vpcId: pulumi.Output<string>;
    readonly cidrBlock: string;
    readonly tags?: Record<string, string>;
    readonly opts: pulumi.CustomResourceOptions;
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
    /** The VPC, its CIDR, each tier's subnets and the AZ count, as one value to hand a component. */
    readonly ref: NetworkRef;
    /** The NAT gateways' ids (the NatGatewayId dimension of their AWS/NATGateway metrics). */
    readonly natGatewayIds: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:network:Network", name, {}, opts);
        const { context, tags } = args;

        const vpc = this.createVpc(name, args);
        this.vpcId = vpc.vpcId;
        this.cidrBlock = args.cidrBlock;
        this.publicSubnetIds = vpc.publicSubnetIds;
        this.privateSubnetIds = vpc.privateSubnetIds;
        this.isolatedSubnetIds = vpc.isolatedSubnetIds;
        // awsx hands the gateways back as resources: each id is itself an output.
        this.natGatewayIds = vpc.natGateways.apply((gateways) => pulumi.all(gateways.map((g) => g.id)));
        this.ref = {
            vpcId: this.vpcId,
            cidrBlock: this.cidrBlock,
            subnetIds: { public: this.publicSubnetIds, private: this.privateSubnetIds, isolated: this.isolatedSubnetIds },
            availabilityZoneCount: args.availabilityZoneCount,
        };
        const at: InVpc = { name, vpcId: vpc.vpcId, cidrBlock: args.cidrBlock, tags, opts: { parent: this } };

        // Adopt the VPC's default security group and strip its rules (Security Hub EC2.2):
        // anything launched without an explicit group then gets no traffic at all.
        new aws.ec2.DefaultSecurityGroup(`${name}-default`, { vpcId: vpc.vpcId, tags }, at.opts);
        this.loadBalancerSecurityGroupId = loadBalancerSecurityGroup(at);
        s3GatewayEndpoint(at, context.region, vpc.routeTables);
        if (args.interfaceEndpoints) {
            this.endpointSecurityGroupId = interfaceEndpoints(at, context.region, vpc.privateSubnetIds);
        }
        if (args.flowLogs) {
            flowLogs(at, context);
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

    /** The awsx VPC: its subnets in every tier and AZ, NAT gateways and route tables. */
    private createVpc(name: string, a: NetworkArgs): awsx.ec2.Vpc {
        const inheritedAws = this.getProvider("aws:ec2/vpc:Vpc");
        return new awsx.ec2.Vpc(
            name,
            {
                cidrBlock: a.cidrBlock,
                numberOfAvailabilityZones: a.availabilityZoneCount,
                // Auto honours explicit cidrBlocks (Legacy, the default, ignores them).
                subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
                subnetSpecs: subnetTiers(a),
                natGateways: { strategy: a.natGateways },
                // Interface endpoints with private DNS need both.
                enableDnsHostnames: true,
                enableDnsSupport: true,
                tags: a.tags,
            },
            // awsx is a remote component: the SDK sends it only providers named in its own
            // options, not the ones this component inherited, so name ours explicitly.
            { parent: this, providers: inheritedAws ? { aws: inheritedAws } : undefined },
        );
    }
}

/** The subnet specs of the three tiers, each with its explicit CIDR in every AZ. */
function subnetTiers(a: Pick<NetworkArgs, "cidrBlock" | "subnetMasks" | "availabilityZoneCount">): awsx.types.input.ec2.SubnetSpecArgs[] {
    // Explicit CIDRs, not awsx's even split: the split divides the VPC by today's
    // AZ count, so adding an AZ would move (delete and recreate) every subnet and
    // everything in them. Slots sized for MAX_AZS keep existing subnets in place.
    const tierSpecs = [
        { type: awsx.ec2.SubnetType.Public, name: "public", prefix: a.subnetMasks.public },
        { type: awsx.ec2.SubnetType.Private, name: "private", prefix: a.subnetMasks.private },
        { type: awsx.ec2.SubnetType.Isolated, name: "isolated", prefix: a.subnetMasks.isolated },
    ] as const;
    const layout = layoutSubnets(a.cidrBlock, tierSpecs, a.availabilityZoneCount);
    return tierSpecs.map((t) => ({ type: t.type, name: t.name, cidrMask: t.prefix, cidrBlocks: layout[t.name] }));
}

/** The load balancer's group: HTTP and HTTPS in from the world, out only to targets in the VPC. Returns its id. */
function loadBalancerSecurityGroup(at: InVpc): pulumi.Output<string> {
    const { name, opts } = at;
    const lb = new aws.ec2.SecurityGroup(`${name}-lb`, { vpcId: at.vpcId, description: "Load balancer: HTTP and HTTPS from anywhere", tags: at.tags }, opts);
    for (const port of [80, 443]) {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-lb-in-${port}`,
            { securityGroupId: lb.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: `world to ${port}` },
            opts,
        );
    }
    // The load balancer only ever talks to targets inside the VPC.
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-lb-out`,
        { securityGroupId: lb.id, ipProtocol: "tcp", fromPort: 0, toPort: 65535, cidrIpv4: at.cidrBlock, description: "to targets in the VPC" },
        opts,
    );
    return lb.id;
}

/** The S3 gateway endpoint is free and carries ECR layer downloads, so every stack has it. */
function s3GatewayEndpoint(at: InVpc, region: string, routeTables: pulumi.Output<aws.ec2.RouteTable[]>): void {
    new aws.ec2.VpcEndpoint(
        `${at.name}-s3`,
        {
            vpcId: at.vpcId,
            serviceName: `com.amazonaws.${region}.s3`,
            vpcEndpointType: "Gateway",
            routeTableIds: routeTables.apply((rts) => pulumi.all(rts.map((rt) => rt.id))),
            tags: at.tags,
        },
        at.opts,
    );
}

/** One interface endpoint per INTERFACE_ENDPOINT_SERVICES in the private subnets, behind a group open to the VPC on 443. Returns the group's id. */
function interfaceEndpoints(at: InVpc, region: string, privateSubnetIds: pulumi.Output<string[]>): pulumi.Output<string> {
    const { name, opts } = at;
    const sg = new aws.ec2.SecurityGroup(`${name}-endpoints`, { vpcId: at.vpcId, description: "Interface endpoints: HTTPS from inside the VPC", tags: at.tags }, opts);
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-endpoints-in-443`,
        { securityGroupId: sg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: at.cidrBlock, description: "VPC to endpoints" },
        opts,
    );
    for (const service of INTERFACE_ENDPOINT_SERVICES) {
        new aws.ec2.VpcEndpoint(
            `${name}-${service.replace(".", "-")}`,
            {
                vpcId: at.vpcId,
                serviceName: `com.amazonaws.${region}.${service}`,
                vpcEndpointType: "Interface",
                privateDnsEnabled: true,
                subnetIds: privateSubnetIds,
                securityGroupIds: [sg.id],
                tags: at.tags,
            },
            opts,
        );
    }
    return sg.id;
}

/** VPC flow logs (all traffic) to a log group of their own, written through a role only the VPC flow-logs service of this account may assume. */
function flowLogs(at: InVpc, context: StackContext): void {
    const { name, opts } = at;
    const logs = logGroup(`${name}-flow-logs`, { retentionInDays: context.logRetentionDays, naming: context.naming }, opts);
    const role = serviceRole(
        `${name}-flow-logs`,
        {
            service: "vpc-flow-logs.amazonaws.com",
            sourceAccount: context.accountId,
            naming: context.naming,
            statements: [
                {
                    actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources: [logs.arn, pulumi.interpolate`${logs.arn}:*`],
                },
            ],
        },
        opts,
    );
    new aws.ec2.FlowLog(
        `${name}-flow-log`,
        {
            vpcId: at.vpcId,
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: logs.arn,
            iamRoleArn: role.arn,
            maxAggregationInterval: 60,
            tags: at.tags,
        },
        opts,
    );
}
