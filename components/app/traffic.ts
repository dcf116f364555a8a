import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ServiceRole, serviceRole } from "../../aws/iam";
import { httpTargetGroup } from "../../aws/targetGroup";
import { Naming } from "../../facts/naming";
import { SERVICE_HEALTH } from "../../facts/rollout";
import { AppSettings } from "./types";

/** The app's share of the ALB: its target groups, its host rule, and (canary, blue/green) the role ECS shifts traffic with. */
export interface AppTraffic {
    /** The group that has the traffic. */
    readonly primary: aws.lb.TargetGroup;
    /** Every group of the app: the live one, or blue and green. */
    readonly groups: aws.lb.TargetGroup[];
    readonly rule: aws.lb.ListenerRule;
    /** With two groups (canary, blue/green): the one beside the live group, and the role ECS moves the rule's weights with. */
    readonly shift?: { readonly alternate: aws.lb.TargetGroup; readonly role: ServiceRole };
}

export function appTraffic(
    name: string,
    a: Pick<AppSettings, "vpcId" | "healthCheckPath" | "deployment" | "loadBalancer" | "hostName" | "listenerPriority" | "context">,
    parent: pulumi.Resource,
): AppTraffic {
    const opts = { parent };
    // Two groups, "blue" (named after the service) and "green", so a switch between
    // ROLLING (one group) and CANARY/BLUE_GREEN (both) keeps the group that has the
    // traffic: ROLLING uses the live one, the others add the second beside it.
    const twoGroups = a.deployment.strategy !== "ROLLING";
    const targetGroup = (color: "blue" | "green") =>
        httpTargetGroup(color === "blue" ? name : `${name}-green`, { vpcId: a.vpcId, path: a.healthCheckPath, matcher: "200", health: SERVICE_HEALTH }, opts);
    const live = a.deployment.liveTargetGroup;
    const other = live === "blue" ? "green" : "blue";
    // Blue is made and listed before green, whichever of them is live.
    const pair = twoGroups ? { blue: targetGroup("blue"), green: targetGroup("green") } : undefined;
    const primary = pair ? pair[live] : targetGroup(live);
    const alternate = pair?.[other];
    const groups = pair ? [pair.blue, pair.green] : [primary];

    const rule = a.loadBalancer.route(name, { host: a.hostName, priority: a.listenerPriority, targetGroups: groups, live: primary }, parent);
    const shift = alternate ? { alternate, role: trafficShiftRole(name, a.context.naming, rule, groups, opts) } : undefined;
    return { primary, groups, rule, shift };
}

/** ECS assumes this role to move the rule's weights (native canary/blue-green). */
function trafficShiftRole(name: string, naming: Naming, rule: aws.lb.ListenerRule, groups: aws.lb.TargetGroup[], opts: pulumi.CustomResourceOptions): ServiceRole {
    return serviceRole(
        `${name}-ecs-lb`,
        {
            // No source-account condition: AWS documents this trust policy without one.
            service: "ecs.amazonaws.com",
            naming,
            statements: [
                {
                    sid: "Describe",
                    actions: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"],
                    resources: ["*"],
                },
                // The production traffic is a listener *rule*, so ECS changes only that rule.
                // ModifyListener (in AWS's managed policy) is for a listener's default action
                // or an NLB listener; neither is handed to ECS here.
                { sid: "ShiftTraffic", actions: ["elasticloadbalancing:ModifyRule"], resources: [rule.arn] },
                { sid: "RegisterTargets", actions: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"], resources: groups.map((g) => g.arn) },
            ],
        },
        opts,
    );
}
