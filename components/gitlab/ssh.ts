import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allowPortFrom } from "../../aws/securityGroups";
import { GITLAB_HEALTH } from "./kit";
import { GITLAB_PORTS } from "./gitlabRb";
import { READINESS_PATH } from "./readiness";

export const SSH_PORT = 22;

/** Seconds a replaced task keeps its SSH sessions before the NLB cuts them (a push in flight finishes or fails). */
export const SSH_DEREGISTRATION_SECONDS = 60;

export interface SshEntryArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Public subnets, one NLB node each. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Who may connect (config gitlab.ssh.allowedCidrs). */
    readonly allowedCidrs: readonly string[];
    /** The GitLab tasks' security group: it admits 22 from the NLB only. */
    readonly taskSecurityGroupId: pulumi.Input<string>;
    readonly hostName: string;
    readonly zoneId: pulumi.Input<string>;
    readonly deletionProtection: boolean;
}

export interface SshEntry {
    readonly targetGroup: aws.lb.TargetGroup;
    readonly listener: aws.lb.Listener;
    /** The tasks' rules for the NLB: SSH, and the readiness checks on the web port. */
    readonly taskIngress: aws.vpc.SecurityGroupIngressRule[];
    readonly dnsName: pulumi.Output<string>;
}

/**
 * git over SSH: an internet-facing NLB (TCP 22) with its own security group
 * holding the allow-list, forwarding to the task's OpenSSH on 22. The NLB
 * does not preserve client IPs for IP targets, so the task admits 22 from the
 * NLB's group only; the allow-list is enforced at the NLB.
 *
 * The target group asks what the ALB asks, Puma's `/-/readiness` on the web
 * port, not whether port 22 is open: OpenSSH listens seconds after start,
 * minutes before GitLab Shell's config, Workhorse and Puma exist, and git
 * over SSH needs all of them.
 */
export function sshEntry(name: string, args: SshEntryArgs, opts: pulumi.CustomResourceOptions): SshEntry {
    // An NLB takes security groups only at creation: this one exists from the start.
    const sg = new aws.ec2.SecurityGroup(`${name}-nlb`, { vpcId: args.vpcId, description: `${name}: git over SSH from the allow-list` }, opts);
    args.allowedCidrs.forEach((cidr, i) => {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-nlb-in-${i + 1}`,
            { securityGroupId: sg.id, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: SSH_PORT, toPort: SSH_PORT, description: `git over SSH from ${cidr}` },
            opts,
        );
    });
    const toTasks = [
        { port: SSH_PORT, out: "to GitLab's sshd", in: "git over SSH from the NLB", suffix: "" },
        { port: GITLAB_PORTS.http, out: "readiness checks to GitLab", in: "the NLB's readiness checks", suffix: "-checks" },
    ];
    const taskIngress = toTasks.map((t) => {
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-nlb-out${t.suffix}`,
            { securityGroupId: sg.id, referencedSecurityGroupId: args.taskSecurityGroupId, ipProtocol: "tcp", fromPort: t.port, toPort: t.port, description: t.out },
            opts,
        );
        return allowPortFrom(`${name}-from-nlb${t.suffix}`, { securityGroupId: args.taskSecurityGroupId, sourceSecurityGroupId: sg.id, port: t.port, description: t.in }, opts);
    });

    const nlb = new aws.lb.LoadBalancer(
        name,
        {
            loadBalancerType: "network",
            internal: false,
            subnets: args.subnetIds,
            securityGroups: [sg.id],
            // One task in one AZ: without cross-zone, NLB nodes in the other AZs would have no target.
            enableCrossZoneLoadBalancing: true,
            enableDeletionProtection: args.deletionProtection,
        },
        opts,
    );
    const targetGroup = new aws.lb.TargetGroup(
        name,
        {
            vpcId: args.vpcId,
            targetType: "ip",
            protocol: "TCP",
            port: SSH_PORT,
            preserveClientIp: "false",
            deregistrationDelay: SSH_DEREGISTRATION_SECONDS,
            // Sessions still open when the delay ends are closed, so a deployment finishes in bounded time.
            connectionTermination: true,
            // The web target group's check and timing (readiness.ts); the timeout stays below the interval.
            healthCheck: {
                protocol: "HTTP",
                port: String(GITLAB_PORTS.http),
                path: READINESS_PATH,
                matcher: "200",
                interval: GITLAB_HEALTH.intervalSeconds,
                timeout: GITLAB_HEALTH.timeoutSeconds,
                healthyThreshold: GITLAB_HEALTH.healthyThreshold,
                unhealthyThreshold: GITLAB_HEALTH.unhealthyThreshold,
            },
        },
        opts,
    );
    const listener = new aws.lb.Listener(
        name,
        { loadBalancerArn: nlb.arn, port: SSH_PORT, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }] },
        opts,
    );
    new aws.route53.Record(
        `${name}-${args.hostName}`,
        { zoneId: args.zoneId, name: args.hostName, type: "A", aliases: [{ name: nlb.dnsName, zoneId: nlb.zoneId, evaluateTargetHealth: true }] },
        opts,
    );
    return { targetGroup, listener, taskIngress, dnsName: nlb.dnsName };
}
