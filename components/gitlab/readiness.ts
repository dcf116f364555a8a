import { TARGET_METRIC_PERIOD_SECONDS } from "../../aws/alarms";
import { belowMinimumSeconds, ContainerCheckTiming, containerCheckFor, graceSeconds, periodsBeyond, Warmup } from "../../facts/rollout";
import { GITLAB_HEALTH } from "./kit";
import { SIDEKIQ_HEALTH_PORT } from "./omnibusConfig";
import { GITLAB_PORTS } from "./gitlabRb";

/**
 * When a GitLab task counts as ready, and how long it may take. Everything
 * that decides whether a task takes traffic asks the same question, Puma's
 * `/-/readiness` (200 once its workers serve; answered to loopback and the
 * VPC only, monitoring_whitelist): the container check (so ECS's task health,
 * and through it Cloud Map's answers for `web.<ns>`), the ALB's web target
 * group and the SSH NLB's target group.
 *
 * The timeline of one web task (split), in seconds:
 *
 *     placement and image pull (~1.5 GB)           180  allowance, not config-bound
 *     reconfigure, no migrations                  ~240  \ ready at ~360 from the container's
 *     Puma boot to readiness                      ~120  / start; the container check allows
 *     container window  300 start + 10 x 30 s      600    600, then ECS stops the task
 *     target group  healthy after 2 x 15 s          30  -> healthy by 630 after the start
 *     ECS grace on load-balancer health            630  (never stops a task inside that)
 *     warm-up from placement                       810
 *
 * The single task starts every service of GitLab (Gitaly, Redis, Sidekiq,
 * the registry and Puma) on the same reconfigure, without migrations (the
 * migration task runs them): a 900 s window (300 start + 10 x 60 s), grace
 * 930, warm-up 1110, kept wider than web's until a first deploy measures it. Sidekiq
 * gets the web task's window (the same reconfigure, on fewer CPUs).
 *
 * The alarms on the web target group, against that (aws/alarms.ts slowStart):
 *
 *     5xx rate          counts only minutes in which a target was healthy all
 *                       minute: a booting target gets no request then
 *     healthy hosts     below the minimum in every one of N whole minutes;
 *                       split: N = 810/60 + 1 = 14 (a lost task's replacement);
 *                       single: N = (60 drain + 120 stop + 1110)/60 + 1 = 22
 *
 * so neither can fire inside a healthy task's warm-up, and only the 5xx rate
 * gates (and rolls back) a rollout. tests/gitlabReadiness.test.ts reads all of
 * it back from the graph and checks it.
 */

export const READINESS_PATH = "/-/readiness";

/** Fargate placement and the GitLab image's pull: an allowance (not config-bound) for the warm-up. */
export const PROVISION_SECONDS = 180;

/** gitlab-ctl stop's time after SIGTERM: ECS's maximum. */
export const STOP_TIMEOUT_SECONDS = 120;

/** A web task of the split topology: reconfigure without migrations, then Puma. */
export const WEB_WARMUP: Warmup = { provisionSeconds: PROVISION_SECONDS, container: containerCheckFor(600, 10), target: GITLAB_HEALTH };

/** The single task: every service of GitLab on one reconfigure (no migrations: the migration task runs them). */
export const SINGLE_WARMUP: Warmup = { provisionSeconds: PROVISION_SECONDS, container: containerCheckFor(900, 10), target: GITLAB_HEALTH };

/** Seconds ECS ignores failing load-balancer checks after a start: the container window plus the target group's healthy checks. */
export const WEB_GRACE_SECONDS = graceSeconds(WEB_WARMUP);
export const GITLAB_GRACE_SECONDS = graceSeconds(SINGLE_WARMUP);

/** An ECS container check that passes once `url` answers 2xx, through the image's own curl. */
function readinessCheck(url: string, timing: ContainerCheckTiming) {
    return { command: ["CMD", "/opt/gitlab/embedded/bin/curl", "-fsS", "--max-time", "5", url], ...timing };
}

/** NGINX on the task's HTTP port, from loopback (whitelisted). */
const WEB_READINESS_URL = `http://127.0.0.1:${GITLAB_PORTS.http}${READINESS_PATH}`;

export const WEB_HEALTH_CHECK = readinessCheck(WEB_READINESS_URL, WEB_WARMUP.container);
export const SINGLE_HEALTH_CHECK = readinessCheck(WEB_READINESS_URL, SINGLE_WARMUP.container);
/** Sidekiq's own readiness on loopback, with the web task's window. */
export const SIDEKIQ_HEALTH_CHECK = readinessCheck(`http://127.0.0.1:${SIDEKIQ_HEALTH_PORT}/readiness`, WEB_WARMUP.container);

/** The healthy-hosts alarm of a front service: its minimum count, and whole minutes beyond its longest healthy dip. */
export function healthyFloor(minHealthy: number, warmup: Warmup, rollout: { readonly minimumHealthyPercent: number }): { readonly minHealthy: number; readonly periods: number } {
    const dip = belowMinimumSeconds(warmup, { ...rollout, deregistrationDelaySeconds: GITLAB_HEALTH.deregistrationDelaySeconds, stopTimeoutSeconds: STOP_TIMEOUT_SECONDS });
    return { minHealthy, periods: periodsBeyond(dip, TARGET_METRIC_PERIOD_SECONDS) };
}
