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

/** An ECS container health check's timings (task definition `healthCheck`), in seconds. */
export interface ContainerCheckTiming {
    readonly interval: number;
    readonly timeout: number;
    readonly retries: number;
    readonly startPeriod: number;
}

/** ECS's limits on a container health check (HealthCheck API): startPeriod 0–300 s, retries 1–10, interval 5–300 s, timeout 2–60 s. */
export const ECS_CONTAINER_CHECK_LIMITS = { maxStartPeriod: 300, maxRetries: 10, minInterval: 5, maxInterval: 300, minTimeout: 2, maxTimeout: 60 } as const;

/**
 * The longest a container may stay unready before ECS marks it UNHEALTHY:
 * failures inside the start period do not count, then `retries` failures in a
 * row, one per interval, do. A check that passes at any time marks it HEALTHY.
 */
export function containerWindowSeconds(c: ContainerCheckTiming): number {
    return c.startPeriod + c.retries * c.interval;
}

/**
 * A container check whose window is `windowSeconds`: the start period and the
 * retries at ECS's maxima (300 s, 10), the interval filling the rest, so the
 * window can exceed 300 s while a ready container is still seen within one
 * interval. Throws where ECS's limits cannot give that window.
 */
export function containerCheckFor(windowSeconds: number, timeout: number): ContainerCheckTiming {
    const L = ECS_CONTAINER_CHECK_LIMITS;
    const interval = (windowSeconds - L.maxStartPeriod) / L.maxRetries;
    if (!Number.isInteger(interval) || interval < L.minInterval || interval > L.maxInterval || timeout < L.minTimeout || timeout >= interval || timeout > L.maxTimeout) {
        throw new Error(`no ECS container check has a ${windowSeconds} s window with a ${timeout} s timeout`);
    }
    return { interval, timeout, retries: L.maxRetries, startPeriod: L.maxStartPeriod };
}

/**
 * A task's warm-up as its load balancer sees it, from the moment ECS places
 * it until its target is healthy, for a task that becomes ready inside its
 * container window (a task that does not is killed and is not "healthy"):
 * placement and image pull (an allowance, not config-bound), the container
 * window, then `healthyThreshold` target-group checks.
 */
export interface Warmup {
    readonly provisionSeconds: number;
    readonly container: ContainerCheckTiming;
    readonly target: Pick<HealthTiming, "intervalSeconds" | "healthyThreshold">;
}

export function warmupSeconds(w: Warmup): number {
    return w.provisionSeconds + containerWindowSeconds(w.container) + w.target.intervalSeconds * w.target.healthyThreshold;
}

/**
 * The seconds ECS must ignore load-balancer health after a task starts
 * (healthCheckGracePeriodSeconds, counted from the container's start, so
 * without the provisioning allowance) so that it never stops a task that is
 * still inside its warm-up.
 */
export function graceSeconds(w: Warmup): number {
    return warmupSeconds(w) - w.provisionSeconds;
}

/**
 * The longest a service has fewer healthy targets than its minimum while a
 * healthy task takes over from another. Rolling start-first (minimum 100 %):
 * a deployment never dips (the old task leaves once the new one is healthy),
 * but a task lost outright (Spot reclaim, a failed host) is replaced by a
 * new one, which takes its warm-up. Stop-first (0 %): the old task's draining
 * and stop, then the new one's warm-up.
 */
export function belowMinimumSeconds(w: Warmup, rollout: { readonly minimumHealthyPercent: number; readonly deregistrationDelaySeconds: number; readonly stopTimeoutSeconds: number }): number {
    return (rollout.minimumHealthyPercent >= 100 ? 0 : rollout.deregistrationDelaySeconds + rollout.stopTimeoutSeconds) + warmupSeconds(w);
}

/**
 * Whole periods an alarm must see in breach so that a breach lasting
 * `seconds` cannot fill them, when a period counts as breaching only if the
 * condition held all of it (a Maximum below a floor): one more than fit.
 */
export function periodsBeyond(seconds: number, periodSeconds: number): number {
    return Math.floor(seconds / periodSeconds) + 1;
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
