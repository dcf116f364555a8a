/**
 * The deploy job's deadline for everything `pulumi up` waits on, as epoch
 * seconds on stdout (hooks/deadline.ts reads it as DEPLOY_DEADLINE):
 *
 *   DEPLOY_DEADLINE="$(node_modules/.bin/ts-node --transpile-only ci/deployDeadline.ts)"
 *   export DEPLOY_DEADLINE
 *
 * From GitLab's CI_JOB_STARTED_AT (ISO 8601, UTC) and CI_JOB_TIMEOUT (the
 * timeout the runner enforces, in seconds: `.deploy`'s 120 minutes, or a
 * runner's lower maximum), less PULUMI_MARGIN_MINUTES. Both variables need
 * GitLab and GitLab Runner 15.7 or later; without them the job fails here,
 * before anything is applied.
 */

/**
 * Minutes the job keeps after the last wait ends: Pulumi writes its state
 * and releases the stack's lock (seconds), the job asks for the stack's
 * output and uploads its dotenv (a minute at most), and the runner's clock
 * may differ from GitLab's start timestamp by seconds.
 */
export const PULUMI_MARGIN_MINUTES = 5;

/** The deadline in epoch seconds, from the job's GitLab variables. */
export function deployDeadline(env: NodeJS.ProcessEnv): number {
    const started = Date.parse(env.CI_JOB_STARTED_AT ?? "");
    if (!/^\d{4}-\d\d-\d\dT/.test(env.CI_JOB_STARTED_AT ?? "") || Number.isNaN(started)) {
        throw new Error(`CI_JOB_STARTED_AT ${JSON.stringify(env.CI_JOB_STARTED_AT)} is not an ISO 8601 time (GitLab 15.7 or later sets it)`);
    }
    const timeout = Number(env.CI_JOB_TIMEOUT ?? "");
    if (!Number.isInteger(timeout) || timeout <= PULUMI_MARGIN_MINUTES * 60) {
        throw new Error(`CI_JOB_TIMEOUT ${JSON.stringify(env.CI_JOB_TIMEOUT)} must be the job's timeout in seconds, over ${PULUMI_MARGIN_MINUTES} minutes (GitLab and its runner 15.7 or later set it)`);
    }
    return Math.floor(started / 1000) + timeout - PULUMI_MARGIN_MINUTES * 60;
}

if (require.main === module) {
    try {
        const at = deployDeadline(process.env);
        console.error(`deploy deadline: ${new Date(at * 1000).toISOString()} (${Math.round((at * 1000 - Date.now()) / 60_000)} minutes from now)`);
        console.log(String(at));
    } catch (e) {
        console.error(`deployDeadline: ${e instanceof Error ? e.message : e}`);
        process.exit(1);
    }
}
