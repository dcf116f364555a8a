/**
 * Rollout timing. The target group decides how fast a new task takes traffic
 * and how long an old one is held; ECS's bake times add to that. These are the
 * values every service uses, and the floor they imply is printed by the plan.
 */

export interface HealthTiming {
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    readonly healthyThreshold: number;
    readonly unhealthyThreshold: number;
    /** How long the ALB keeps sending in-flight requests to a deregistering target. */
    readonly deregistrationDelaySeconds: number;
}

/**
 * 10 s checks, healthy after 2, unhealthy after 3; 20 s deregistration, which
 * stays below gunicorn's 25 s graceful timeout and ECS's 30 s stop timeout, so
 * connections drain before the task is killed.
 */
export const SERVICE_HEALTH: HealthTiming = {
    intervalSeconds: 10,
    timeoutSeconds: 5,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    deregistrationDelaySeconds: 20,
};

/** The AWS defaults (ALB target group): 30 s × 5 healthy checks, 300 s deregistration. */
export const AWS_DEFAULT_HEALTH: HealthTiming = {
    intervalSeconds: 30,
    timeoutSeconds: 5,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
    deregistrationDelaySeconds: 300,
};

/**
 * The config-bound floor of one rollout: the time a new task needs to be
 * marked healthy plus the time an old one drains, plus ECS bake times
 * (canary bake, then the final bake) for the safer strategies. Image pull,
 * container start and migrations come on top and are not config-bound.
 */
export function rolloutFloorSeconds(h: HealthTiming, bake: { strategy: string; bakeTimeMinutes: number; canaryBakeTimeMinutes: number }): number {
    const health = h.intervalSeconds * h.healthyThreshold + h.deregistrationDelaySeconds;
    switch (bake.strategy) {
        case "ROLLING":
            return health;
        case "CANARY":
            return health + 60 * (bake.canaryBakeTimeMinutes + bake.bakeTimeMinutes);
        default:
            return health + 60 * bake.bakeTimeMinutes;
    }
}

/**
 * Seconds a backend behind the ALB keeps an idle keep-alive connection open
 * beyond the ALB's idle timeout. The ALB reuses its backend connections and
 * closes them itself after its idle timeout; a backend that closes first races
 * the ALB's next request on that connection, which the client sees as a 502
 * (AWS: "configure the idle timeout of your application to be larger than the
 * idle timeout configured for the load balancer").
 */
export const BACKEND_KEEPALIVE_MARGIN_SECONDS = 15;

/** A backend's keep-alive timeout for an ALB whose idle timeout is `albIdleSeconds`. */
export function backendKeepAliveSeconds(albIdleSeconds: number): number {
    return albIdleSeconds + BACKEND_KEEPALIVE_MARGIN_SECONDS;
}
