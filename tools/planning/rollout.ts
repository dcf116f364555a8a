import { CostResource } from "./cost";
import { graphOf } from "./graph";
import { AWS_DEFAULT_HEALTH, rolloutFloorSeconds } from "../../facts/rollout";

/** One load-balanced ECS service's config-bound rollout floor, read from the graph. */
export interface RolloutFloor {
    readonly service: string;
    readonly targetGroup: string;
    readonly strategy: string;
    readonly healthSeconds: number;
    readonly bakeSeconds: number;
    readonly floorSeconds: number;
    /** What the ALB and ECS defaults would give (30 s × 5 healthy + 300 s deregistration, rolling). */
    readonly awsDefaultSeconds: number;
}

export const AWS_DEFAULT_FLOOR_SECONDS = rolloutFloorSeconds(AWS_DEFAULT_HEALTH, { strategy: "ROLLING", bakeTimeMinutes: 0, canaryBakeTimeMinutes: 0 });

/**
 * For every ECS service behind a load balancer: its target groups' health
 * check interval × healthy threshold + deregistration delay, plus the bake
 * times of its deployment strategy (aws/targetGroup.ts), the slowest of its groups.
 */
export function rolloutFloors(resources: readonly CostResource[]): RolloutFloor[] {
    const { sources } = graphOf(resources);
    const floors: RolloutFloor[] = [];
    for (const svc of resources.filter((r) => r.type === "aws:ecs/service:Service" && (r.inputs.loadBalancers ?? []).length > 0)) {
        const groups = sources(svc, "loadBalancers", "aws:lb/targetGroup:TargetGroup");
        const d = svc.inputs.deploymentConfiguration ?? {};
        const bake = { strategy: d.strategy ?? "ROLLING", bakeTimeMinutes: Number(d.bakeTimeInMinutes ?? 0), canaryBakeTimeMinutes: Number(d.canaryConfiguration?.canaryBakeTimeInMinutes ?? 0) };
        const each = groups.map((g) => {
            const h = { intervalSeconds: Number(g.inputs.healthCheck?.interval ?? 30), timeoutSeconds: 0, healthyThreshold: Number(g.inputs.healthCheck?.healthyThreshold ?? 5), unhealthyThreshold: 0, deregistrationDelaySeconds: Number(g.inputs.deregistrationDelay ?? 300) };
            const health = rolloutFloorSeconds(h, { strategy: "ROLLING", bakeTimeMinutes: 0, canaryBakeTimeMinutes: 0 });
            return { group: g.name, health, floor: rolloutFloorSeconds(h, bake) };
        });
        const slowest = each.sort((a, b) => b.floor - a.floor)[0];
        if (slowest) {
            floors.push({
                service: svc.name,
                targetGroup: slowest.group,
                strategy: bake.strategy,
                healthSeconds: slowest.health,
                bakeSeconds: slowest.floor - slowest.health,
                floorSeconds: slowest.floor,
                awsDefaultSeconds: AWS_DEFAULT_FLOOR_SECONDS,
            });
        }
    }
    return floors.sort((a, b) => a.service.localeCompare(b.service));
}
