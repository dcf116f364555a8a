import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * Opens exactly one TCP port on `securityGroupId` to members of
 * `sourceSecurityGroupId`. This is how components reach each other: never by
 * CIDR, never from the world.
 */
export function allowPortFrom(
    name: string,
    args: {
        readonly securityGroupId: pulumi.Input<string>;
        readonly sourceSecurityGroupId: pulumi.Input<string>;
        readonly port: number;
        readonly description: string;
    },
    opts: pulumi.CustomResourceOptions,
): aws.vpc.SecurityGroupIngressRule {
    return new aws.vpc.SecurityGroupIngressRule(
        name,
        {
            securityGroupId: args.securityGroupId,
            referencedSecurityGroupId: args.sourceSecurityGroupId,
            ipProtocol: "tcp",
            fromPort: args.port,
            toPort: args.port,
            description: args.description,
        },
        opts,
    );
}

/**
 * Opens all egress of a task group: AWS APIs, ECR, Secrets Manager and the
 * outside world sit behind NAT or endpoints. The provider strips a new
 * group's default egress rule, so this is the rule a task waits for.
 */
export function allowAllEgress(name: string, securityGroupId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.vpc.SecurityGroupEgressRule {
    return new aws.vpc.SecurityGroupEgressRule(name, { securityGroupId, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "outbound" }, opts);
}
