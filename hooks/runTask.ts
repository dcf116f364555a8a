import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, paginateListTasks, RunTaskCommand } from "@aws-sdk/client-ecs";
import { Bound, boundOf, DeployBudget, parseDeployDeadline, parseReserveMinutes, pollDelay, sharedBound } from "./deadline";
import { requiredEnv, runHook } from "./run";

/**
 * Runs one ECS task to completion and fails unless its container exits 0.
 * Pulumi runs this from a command.local.Command during `pulumi up` (never on
 * a preview), for GitLab's migrations:
 *
 *   node_modules/.bin/ts-node --transpile-only tools/runTask.ts   (the stable entry point of this file)
 *
 * Pulumi orders it between the services (components/gitlab/migrations.ts): a
 * failure here stops the update before anything that depends on it rolls.
 * The provider can record a service as updated although ECS rolled the
 * deployment back (or the update failed halfway), so the services this step
 * must follow are checked first: each must run exactly the expected task
 * definition, rollout completed. A task of the same family still running (a
 * migration a killed or timed-out `pulumi up` left behind) is waited for, never
 * run beside. Every wait also ends by the whole update's deadline (deadline.ts:
 * DEPLOY_DEADLINE less RESERVE_MINUTES), and no task starts with less than
 * MIN_RUN_MINUTES left, so the CI job never kills `pulumi up` halfway.
 * stdout is the task ARN; progress goes to stderr.
 */

/** A service that must have finished rolling out this task definition before the task may run. */
export interface ExpectedService {
    service: string;
    taskDefinition: string;
}

export interface RunTaskInput extends DeployBudget {
    region: string;
    cluster: string;
    taskDefinition: string;
    container: string;
    command: string[];
    subnets: string[];
    securityGroups: string[];
    capacityProvider: string;
    timeoutMinutes: number;
    /** Where the task's logs are, for the failure message. */
    logGroup?: string;
    /** Services that must run these task definitions, rollout completed, before the task starts. */
    expectServices: ExpectedService[];
}

export interface ServiceState {
    serviceName: string;
    deployments: { status?: string; taskDefinition?: string; rolloutState?: string; runningCount?: number; desiredCount?: number }[];
}

export interface StoppedTask {
    lastStatus?: string;
    stopCode?: string;
    stoppedReason?: string;
    containers: { name?: string; exitCode?: number; reason?: string }[];
}

export interface EcsApi {
    /** Starts the task; returns its ARN (throws when ECS could not place it). */
    runTask(input: RunTaskInput): Promise<string>;
    /** The task, or undefined while ECS does not list it yet (its API is eventually consistent). */
    describe(cluster: string, taskArn: string): Promise<StoppedTask | undefined>;
    describeServices(cluster: string, services: string[]): Promise<ServiceState[]>;
    /** ARNs of the family's tasks ECS wants running (pending, provisioning or running) in the cluster. */
    listRunning(cluster: string, family: string): Promise<string[]>;
}

export interface RunTaskDeps {
    ecs: EcsApi;
    log: (s: string) => void;
    sleep: (ms: number) => Promise<void>;
    now: () => number;
}

export const POLL_MS = 15_000;

/** How long a task ECS just started may be missing from DescribeTasks. */
const MISSING_GRACE_MS = 60_000;

export function readInput(env: NodeJS.ProcessEnv): RunTaskInput {
    const required = requiredEnv(env);
    const stringList = (name: string, minimum: number): string[] => {
        let parsed: unknown;
        try {
            parsed = JSON.parse(required(name));
        } catch (e) {
            throw new Error(`${name} is not valid JSON: ${(e as Error).message}`);
        }
        if (!Array.isArray(parsed) || parsed.length < minimum || !parsed.every((x) => typeof x === "string" && x !== "")) {
            throw new Error(`${name} must be a JSON array of at least ${minimum} non-empty strings`);
        }
        return parsed as string[];
    };
    const timeout = Number(env.TIMEOUT_MINUTES ?? "60");
    // At least the time a run needs: a shorter step would refuse every start (ensureTimeToRun).
    if (!Number.isInteger(timeout) || timeout < MIN_RUN_MINUTES || timeout > 24 * 60) {
        throw new Error(`TIMEOUT_MINUTES ${JSON.stringify(env.TIMEOUT_MINUTES)} must be a whole number of minutes (${MIN_RUN_MINUTES}–1440)`);
    }
    return {
        region: required("AWS_REGION"),
        cluster: required("CLUSTER"),
        taskDefinition: required("TASK_DEFINITION"),
        container: required("CONTAINER"),
        command: stringList("COMMAND", 1),
        subnets: stringList("SUBNETS", 1),
        securityGroups: stringList("SECURITY_GROUPS", 1),
        capacityProvider: required("CAPACITY_PROVIDER"),
        timeoutMinutes: timeout,
        logGroup: env.LOG_GROUP ? env.LOG_GROUP : undefined,
        expectServices: expectedServices(env.EXPECT_SERVICES),
        reserveMinutes: parseReserveMinutes(env.RESERVE_MINUTES),
        ...deployDeadline(env.DEPLOY_DEADLINE),
    };
}

/** The CI job's DEPLOY_DEADLINE (inherited through `pulumi up`, never a resource input), when set. */
function deployDeadline(raw: string | undefined): Pick<RunTaskInput, "deployDeadline"> {
    const at = parseDeployDeadline(raw);
    return at === undefined ? {} : { deployDeadline: at };
}

function expectedServices(raw: string | undefined): ExpectedService[] {
    if (!raw) {
        return [];
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch (e) {
        throw new Error(`EXPECT_SERVICES is not valid JSON: ${(e as Error).message}`);
    }
    const ok = (x: unknown): x is ExpectedService =>
        typeof x === "object" && x !== null && typeof (x as ExpectedService).service === "string" && (x as ExpectedService).service !== "" && typeof (x as ExpectedService).taskDefinition === "string" && (x as ExpectedService).taskDefinition !== "";
    if (!Array.isArray(parsed) || !parsed.every(ok)) {
        throw new Error("EXPECT_SERVICES must be a JSON array of {service, taskDefinition}");
    }
    return parsed;
}

/** Minutes to wait for the services a step follows to finish rolling out (web deploys bake behind their alarms). */
export const SERVICE_WAIT_MINUTES = 45;

/**
 * The least time left before the shared deadline with which a task is still
 * started: Fargate placement and the pull of GitLab's ~1.5 GB image (1–3
 * minutes), the migrate role's reconfigure (2–4) and a small team's
 * migrations (minutes). With less, starting one would only leave a task
 * running past the job for the next `pulumi up` to wait on.
 */
export const MIN_RUN_MINUTES = 10;

const REFRESH_HINT = "if ECS rolled it back, fix the cause and run `pulumi up --refresh` (the provider recorded the new task definition, so a plain `pulumi up` sees nothing to roll)";

/** One service against its expected revision: done, not yet, or settled on something else. */
export function serviceVerdict(want: ExpectedService, state: ServiceState | undefined): { ok: true } | { ok: false; final: boolean; why: string } {
    if (!state) {
        return { ok: false, final: true, why: `service ${want.service} not found` };
    }
    const d = state.deployments;
    const primary = d.find((x) => x.status === "PRIMARY");
    if (!primary) {
        return { ok: false, final: false, why: "no primary deployment yet" };
    }
    if (primary.rolloutState === "FAILED") {
        return { ok: false, final: true, why: `its rollout of ${primary.taskDefinition} FAILED` };
    }
    if (d.length !== 1) {
        return { ok: false, final: false, why: `${d.length} deployments are active (a rollout or rollback is running)` };
    }
    if (primary.taskDefinition !== want.taskDefinition) {
        // Settled on another revision: rolled back, or never updated.
        return primary.rolloutState === "IN_PROGRESS"
            ? { ok: false, final: false, why: `it is rolling out ${primary.taskDefinition}` }
            : { ok: false, final: true, why: `it runs ${primary.taskDefinition}, not ${want.taskDefinition}` };
    }
    if (primary.rolloutState !== "COMPLETED") {
        return { ok: false, final: false, why: `its rollout is ${primary.rolloutState ?? "unknown"}` };
    }
    // The revision and COMPLETED prove the version; autoscaling may move the counts at any time.
    if ((primary.runningCount ?? 0) < 1) {
        return { ok: false, final: false, why: "no task of it runs" };
    }
    return { ok: true };
}

/**
 * Waits until every expected service runs exactly its expected task
 * definition with its rollout completed; fails at once when one settled on
 * another revision (a rollback) or failed, and after SERVICE_WAIT_MINUTES or
 * at the shared deadline, whichever comes first.
 */
export async function awaitServices(input: RunTaskInput, deps: RunTaskDeps): Promise<void> {
    if (input.expectServices.length === 0) {
        return;
    }
    const what = `${input.container} ${input.command.join(" ")} not started`;
    const bound = boundOf(deps.now(), SERVICE_WAIT_MINUTES, input);
    for (;;) {
        const states = await deps.ecs.describeServices(input.cluster, input.expectServices.map((e) => e.service));
        const pending: string[] = [];
        for (const want of input.expectServices) {
            const state = states.find((s) => s.serviceName === want.service || want.service.endsWith(`/${s.serviceName}`));
            const v = serviceVerdict(want, state);
            if (v.ok) {
                continue;
            }
            if (v.final) {
                throw new Error(`${what}: service ${want.service} is not on the new version: ${v.why}; ${REFRESH_HINT}`);
            }
            pending.push(`${want.service}: ${v.why}`);
        }
        if (pending.length === 0) {
            return;
        }
        if (deps.now() >= bound.at) {
            throw new Error(`${what}: ${bound.why} ${pending.join("; ")}`);
        }
        deps.log(`waiting: ${pending.join("; ")}`);
        await deps.sleep(pollDelay(deps.now(), POLL_MS, bound));
    }
}

/** The family of a task definition, from its ARN (`…:task-definition/<family>:<revision>`) or `<family>:<revision>`. */
export function familyOf(taskDefinition: string): string {
    const name = taskDefinition.slice(taskDefinition.lastIndexOf("/") + 1);
    const colon = name.lastIndexOf(":");
    return colon > 0 ? name.slice(0, colon) : name;
}

/**
 * Waits until no task of the family runs, by `bound`. Both migration steps
 * share one family, so this also keeps `migrate` and `post-migrate` apart.
 * Pulumi's stack lock keeps two updates of one stack from racing here; what it
 * cannot see is a task an earlier, killed update started.
 */
export async function awaitSiblings(input: RunTaskInput, deps: RunTaskDeps, bound: Bound): Promise<void> {
    const family = familyOf(input.taskDefinition);
    for (;;) {
        const running = await deps.ecs.listRunning(input.cluster, family);
        if (running.length === 0) {
            return;
        }
        if (deps.now() >= bound.at) {
            // Left running, as runTask leaves its own: stopping a migration halfway is worse.
            throw new Error(`${input.container} ${input.command.join(" ")} not started: ${family} still runs ${running.join(", ")} ${bound.why}; it keeps running, run \`pulumi up\` again once it stopped`);
        }
        deps.log(`waiting: ${family} already runs ${running.join(", ")} (an earlier update's migration); not starting a second one beside it`);
        await deps.sleep(pollDelay(deps.now(), POLL_MS, bound));
    }
}

/**
 * Refuses (throws) when less than MIN_RUN_MINUTES are left before the shared
 * deadline or, once the step's waits have begun (`bound`), before the step's
 * own bound: a task started with minutes left would be abandoned right away.
 * Nothing is started, so the next `pulumi up` simply runs the step.
 */
export function ensureTimeToRun(input: RunTaskInput, deps: RunTaskDeps, bound?: Bound): void {
    const shared = sharedBound(input);
    const ownFirst = bound !== undefined && (shared === undefined || bound.at < shared.at);
    const limit = ownFirst ? { at: bound.at, why: `the end of this step's own ${input.timeoutMinutes} minutes` } : shared;
    if (limit === undefined) {
        return;
    }
    const left = (limit.at - deps.now()) / 60_000;
    if (left < MIN_RUN_MINUTES) {
        throw new Error(
            `${input.container} ${input.command.join(" ")} not started: ${Math.max(0, Math.floor(left))} minutes left before ${limit.why}, a run needs at least ${MIN_RUN_MINUTES}; nothing was started, run \`pulumi up\` again (a new deploy job) to run this step`,
        );
    }
}

/**
 * Runs the task and waits for it to stop; resolves with its ARN if the
 * container exited 0, rejects otherwise. Its waits end at the earlier of its
 * own bounds and the shared one (deadline.ts): the services' check within
 * SERVICE_WAIT_MINUTES, then one bound, `timeoutMinutes` from there, for
 * waiting for a running sibling and the task's own run; each by DEPLOY_DEADLINE
 * less RESERVE_MINUTES. A task left running when a bound passes keeps running
 * (stopping a migration halfway is worse); the next `pulumi up` waits for it.
 */
export async function runTask(input: RunTaskInput, deps: RunTaskDeps): Promise<string> {
    const { ecs, log } = deps;
    const what = `${input.container} ${input.command.join(" ")}`;
    if (input.deployDeadline === undefined) {
        log(`${what}: no DEPLOY_DEADLINE, so only this step's own bounds apply (${SERVICE_WAIT_MINUTES} + ${input.timeoutMinutes} minutes)`);
    }
    // No point waiting for services if the task could not run after them anyway.
    ensureTimeToRun(input, deps);
    await awaitServices(input, deps);
    const bound = boundOf(deps.now(), input.timeoutMinutes, input);
    await awaitSiblings(input, deps, bound);
    ensureTimeToRun(input, deps, bound);
    const arn = await ecs.runTask(input);
    const started = deps.now();
    log(`${what}: started ${arn}`);
    const logs = input.logGroup ? ` (logs: ${input.logGroup})` : "";
    for (;;) {
        await deps.sleep(pollDelay(deps.now(), POLL_MS, bound));
        const task = await ecs.describe(input.cluster, arn);
        if (task === undefined) {
            if (deps.now() - started > MISSING_GRACE_MS) {
                throw new Error(`ECS does not list task ${arn} ${MISSING_GRACE_MS / 1000} s after starting it${logs}`);
            }
            continue;
        }
        if (task.lastStatus === "STOPPED") {
            const container = task.containers.find((c) => c.name === input.container);
            if (container?.exitCode === 0) {
                log(`${what}: succeeded`);
                return arn;
            }
            const exit = container?.exitCode === undefined ? "no exit code" : `exit code ${container.exitCode}`;
            const reason = [task.stopCode, task.stoppedReason, container?.reason].filter((x) => x).join("; ");
            throw new Error(`${what} failed: ${exit}${reason ? ` (${reason})` : ""}, task ${arn}${logs}`);
        }
        if (deps.now() >= bound.at) {
            // Left running on purpose: stopping a migration halfway is worse than letting it finish.
            throw new Error(`${what} still ${task.lastStatus ?? "unknown"} ${bound.why}, task ${arn}${logs}; it keeps running, and the next \`pulumi up\` waits for it`);
        }
        log(`${what}: ${task.lastStatus ?? "unknown"}`);
    }
}

export function createEcs(region: string): EcsApi {
    const client = new ECSClient({ region });
    return {
        async runTask(input) {
            const out = await client.send(
                new RunTaskCommand({
                    cluster: input.cluster,
                    taskDefinition: input.taskDefinition,
                    count: 1,
                    capacityProviderStrategy: [{ capacityProvider: input.capacityProvider, weight: 1 }],
                    networkConfiguration: { awsvpcConfiguration: { subnets: input.subnets, securityGroups: input.securityGroups, assignPublicIp: "DISABLED" } },
                    overrides: { containerOverrides: [{ name: input.container, command: input.command }] },
                    propagateTags: "TASK_DEFINITION",
                    enableECSManagedTags: true,
                    startedBy: "pulumi-runTask",
                }),
            );
            const arn = out.tasks?.[0]?.taskArn;
            if (!arn) {
                const why = (out.failures ?? []).map((f) => `${f.arn ?? ""} ${f.reason ?? ""} ${f.detail ?? ""}`.trim()).join("; ");
                throw new Error(`ECS did not start ${input.taskDefinition}: ${why || "no task and no failure reported"}`);
            }
            return arn;
        },
        async describe(cluster, taskArn) {
            const out = await client.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
            const t = out.tasks?.[0];
            if (!t) {
                return undefined;
            }
            return {
                lastStatus: t.lastStatus,
                stopCode: t.stopCode,
                stoppedReason: t.stoppedReason,
                containers: (t.containers ?? []).map((c) => ({ name: c.name, exitCode: c.exitCode, reason: c.reason })),
            };
        },
        async listRunning(cluster, family) {
            // Every page: a task on page two is still one to wait for.
            const arns: string[] = [];
            for await (const page of paginateListTasks({ client }, { cluster, family, desiredStatus: "RUNNING" })) {
                arns.push(...(page.taskArns ?? []));
            }
            return arns;
        },
        async describeServices(cluster, services) {
            const out = await client.send(new DescribeServicesCommand({ cluster, services }));
            return (out.services ?? []).map((s) => ({
                serviceName: s.serviceName ?? "",
                deployments: (s.deployments ?? []).map((d) => ({ status: d.status, taskDefinition: d.taskDefinition, rolloutState: d.rolloutState, runningCount: d.runningCount, desiredCount: d.desiredCount })),
            }));
        },
    };
}

async function main(): Promise<void> {
    const input = readInput(process.env);
    const arn = await runTask(input, {
        ecs: createEcs(input.region),
        log: (s) => process.stderr.write(`${s}\n`),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        now: () => Date.now(),
    });
    process.stdout.write(`${arn}\n`);
}

/** Runs the hook as a program (its stable entry point in tools/ calls this). */
export function run(): void {
    runHook("runTask", main);
}

if (require.main === module) {
    run();
}
