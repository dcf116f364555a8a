import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HealthTiming } from "../facts/rollout";

/**
 * An ALB target group for Fargate tasks, timed by `h`. ECS registers every
 * task at its container port, so the group's own port (80) is never used for
 * traffic or health checks ("traffic-port"); it is fixed because a changed
 * port replaces the group, which a live service cannot follow.
 */
export function httpTargetGroup(
    name: string,
    args: { readonly vpcId: pulumi.Input<string>; readonly path: string; readonly matcher: string; readonly health: HealthTiming },
    opts: pulumi.CustomResourceOptions,
): aws.lb.TargetGroup {
    const h = args.health;
    return new aws.lb.TargetGroup(
        name,
        {
            vpcId: args.vpcId,
            targetType: "ip",
            port: 80,
            protocol: "HTTP",
            deregistrationDelay: h.deregistrationDelaySeconds,
            healthCheck: {
                path: args.path,
                matcher: args.matcher,
                interval: h.intervalSeconds,
                timeout: h.timeoutSeconds,
                healthyThreshold: h.healthyThreshold,
                unhealthyThreshold: h.unhealthyThreshold,
            },
        },
        opts,
    );
}
