/**
 * The one deadline of a whole `pulumi up`, shared by every step it runs.
 *
 * The CI deploy job exports DEPLOY_DEADLINE (epoch seconds: the job's start +
 * its timeout - ci/deployDeadline.ts's margin for Pulumi to write its state).
 * The command provider starts each command with the environment of `pulumi
 * up` plus the resource's own `environment` (the hooks get AWS_ROLE_ARN and
 * the web identity token file the same way), so every step of one `up` sees
 * the same instant without it being a resource input: a new deadline per job
 * changes no resource and reruns no migration.
 *
 * A step ends its waits `reserveMinutes` before it: the time the update
 * still needs after the step, for the rollouts that wait for it (the
 * provider's own waits, which no hook can cut short). Without DEPLOY_DEADLINE
 * (a `pulumi up` from a laptop) only the step's own bounds apply.
 */

/** When a wait must end, and the words for why it ended there ("after 40 minutes", "at <the deadline>"). */
export interface Bound {
    /** Epoch milliseconds. */
    readonly at: number;
    readonly why: string;
}

/** What one step knows of the whole update's time. */
export interface DeployBudget {
    /** Epoch milliseconds; absent outside CI. */
    readonly deployDeadline?: number;
    /** Minutes the update needs after this step ends. */
    readonly reserveMinutes: number;
}

/** DEPLOY_DEADLINE as epoch milliseconds, or undefined when unset. */
export function parseDeployDeadline(raw: string | undefined): number | undefined {
    if (raw === undefined || raw.trim() === "") {
        return undefined;
    }
    const seconds = Number(raw);
    if (!Number.isSafeInteger(seconds) || seconds <= 0) {
        throw new Error(`DEPLOY_DEADLINE ${JSON.stringify(raw)} must be a whole number of seconds since the epoch`);
    }
    return seconds * 1000;
}

/** RESERVE_MINUTES: minutes the update needs after the step (0 when unset). */
export function parseReserveMinutes(raw: string | undefined): number {
    if (raw === undefined || raw === "") {
        return 0;
    }
    const minutes = Number(raw);
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > 24 * 60) {
        throw new Error(`RESERVE_MINUTES ${JSON.stringify(raw)} must be a whole number of minutes (0–1440)`);
    }
    return minutes;
}

/** The latest instant the step may still be waiting (the shared deadline less the reserve), and its name. */
export function sharedBound(budget: DeployBudget): Bound | undefined {
    if (budget.deployDeadline === undefined) {
        return undefined;
    }
    const reserve = budget.reserveMinutes > 0 ? `, less ${budget.reserveMinutes} minutes kept for the rollouts after this step` : "";
    return { at: budget.deployDeadline - budget.reserveMinutes * 60_000, why: `the deploy job's deadline (DEPLOY_DEADLINE ${new Date(budget.deployDeadline).toISOString()}${reserve})` };
}

/** The earlier of the step's own bound (`minutes` from now) and the shared one. */
export function boundOf(now: number, minutes: number, budget: DeployBudget): Bound {
    const own: Bound = { at: now + minutes * 60_000, why: `after ${minutes} minutes` };
    const shared = sharedBound(budget);
    return shared && shared.at < own.at ? { at: shared.at, why: `at ${shared.why}` } : own;
}

/** How long to sleep before the next poll: a poll, or less so that the last one lands on the bound. */
export function pollDelay(now: number, pollMs: number, bound: Bound): number {
    return Math.max(0, Math.min(pollMs, bound.at - now));
}
