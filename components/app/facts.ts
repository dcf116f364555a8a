/** gunicorn's concurrency in the app's tasks, and the database connections it holds: the app component sizes its workers from it and the config schema checks the budget with it. */
import { ContainerCheckTiming } from "../../facts/rollout";

/**
 * gunicorn's workers for a Fargate size, as the app's task sets WEB_CONCURRENCY:
 * 2 × vCPU + 1, at least 2. Set explicitly because inside a Fargate task the
 * CPU count the kernel reports is the host slice (2 for a 0.25 vCPU task), not
 * the task's share, and too many workers exhaust a small task's memory.
 */
export function webConcurrency(cpuUnits: number): number {
    return Math.max(2, Math.round((2 * cpuUnits) / 1024 + 1));
}

/**
 * Connections one gunicorn worker keeps (CONN_MAX_AGE): one for requests and
 * one for the throttles' database cache, its own connection
 * (app/config/settings.py). The app runs one thread per worker.
 */
export const CONNECTIONS_PER_WORKER = 2;

/**
 * The most connections the app's tasks hold at once: during a deployment ECS
 * runs the new tasks beside the old (maximumPercent 200 %, a canary's full new
 * set), every worker with its connections.
 */
export function appConnections(maxCount: number, cpuUnits: number): number {
    return 2 * maxCount * webConcurrency(cpuUnits) * CONNECTIONS_PER_WORKER;
}

/**
 * The web container's own health check (task definition `healthCheck`): every
 * 15 s, 3 failures in a row after a 30 s start period. ECS deploys a task once
 * both this check and the target group's pass; tools/pipelineModel.ts derives
 * the dev rollout from it.
 */
export const WEB_CONTAINER_CHECK: ContainerCheckTiming = { interval: 15, timeout: 5, retries: 3, startPeriod: 30 };
