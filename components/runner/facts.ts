/**
 * The runner's two fleets, as facts the programs around the stack share
 * (ci/adminGate.ts, tools/runnerToken.ts) without loading Pulumi.
 *
 * The general fleet runs every untagged job of any project; the deploy fleet
 * only this project's jobs tagged DEPLOY_RUNNER_TAG on protected refs. Tags,
 * `run_untagged` and the protected flag are properties of the runner in
 * GitLab (set when tools/runnerToken.ts creates it), not of config.toml: an
 * authentication token (glrt-…) carries them.
 */

/** The component's type: the first part of every runner resource's qualified type in a URN. */
export const RUNNER_COMPONENT_TYPE = "platform:runner:GitLabRunner";

/** The general fleet's logical name (its resources keep the names they had as the only runner). */
export const GENERAL_RUNNER_NAME = "runner";

/** The deploy fleet of the runner component `name` (a child is named after its component): every resource of that fleet is named this or starts with `${this}-`. */
export const deployFleetName = (name: string): string => `${name}-deploy`;

/** The stack's deploy fleet (index.ts names the component GENERAL_RUNNER_NAME). */
export const DEPLOY_RUNNER_NAME = deployFleetName(GENERAL_RUNNER_NAME);

/** The tag the deploy jobs carry (.gitlab-ci.yml) and only the deploy runner takes. */
export const DEPLOY_RUNNER_TAG = "platform-deploy";

/**
 * The deploy fleet's size. Two workers: dev's and prod's deploys may run at
 * once (one resource group each); never Spot (a reclaimed worker kills a
 * `pulumi up` halfway and leaves the state locked); one job per fresh host,
 * so no deploy leaves anything for the next.
 */
export const DEPLOY_WORKERS = { maxInstances: 2, capacityPerInstance: 1, maxUseCount: 1, spot: false } as const;

/** How a runner is registered in GitLab (POST /api/v4/user/runners), per fleet. */
export interface RunnerRegistration {
    /** The logical name of the fleet whose token secret receives the token. */
    readonly fleet: string;
    /** An instance runner (any project) or a project runner (locked to one project). */
    readonly runnerType: "instance_type" | "project_type";
    readonly tags: readonly string[];
    readonly runUntagged: boolean;
    readonly accessLevel: "not_protected" | "ref_protected";
    readonly description: string;
    /** GitLab's cap on any job's timeout on this runner, in seconds (600 or more); unset: the job's own. */
    readonly maximumTimeoutSeconds?: number;
}

export const REGISTRATIONS: Readonly<Record<"general" | "deploy", RunnerRegistration>> = {
    // Untagged jobs only: a runner without tags never takes a tagged (deploy) job.
    general: { fleet: GENERAL_RUNNER_NAME, runnerType: "instance_type", tags: [], runUntagged: true, accessLevel: "not_protected", description: "platform runner (docker-autoscaler on AWS)" },
    // This project's protected refs only, tagged jobs only, locked to the project.
    deploy: {
        fleet: DEPLOY_RUNNER_NAME,
        runnerType: "project_type",
        tags: [DEPLOY_RUNNER_TAG],
        runUntagged: false,
        accessLevel: "ref_protected",
        description: "platform deploy runner (protected refs, tagged jobs)",
        // `.deploy`'s timeout in .gitlab-ci.yml, 120 m (tests/runnerToken.test.ts reads it): no job
        // holds this runner, and a deploy role, longer than a deploy may run.
        maximumTimeoutSeconds: 7200,
    },
};

/**
 * How long a warm-pool worker may stay idle before gitlab-runner's autoscaler
 * replaces it, in working hours. Its taskscaler removes an instance idle longer
 * than the policy's `idle_time` ("instance exceeded max idle time") and then
 * boots another to keep `idle_count` (gitlab-runner issue 37673): with the
 * general idle time (runner.idleMinutes, 5) a warm worker would be booted and
 * terminated every 5 minutes all day. An hour keeps one boot an hour per warm
 * worker; outside the hours the first policy (no idle workers, idleMinutes)
 * applies again and they go within minutes.
 */
export const WARM_IDLE_TIME = "60m0s";
