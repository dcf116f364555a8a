import { DescribeTasksCommand, ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";

/**
 * Runs one ECS task to completion and fails unless its container exits 0.
 * Pulumi runs this from a command.local.Command during `pulumi up` (never on
 * a preview), for GitLab's migrations:
 *
 *   node_modules/.bin/ts-node --transpile-only tools/runTask.ts
 *
 * Pulumi orders it between the services (components/gitlab/migrations.ts): a
 * failure here stops the update before anything that depends on it rolls.
 * stdout is the task ARN; progress goes to stderr.
 */

export interface RunTaskInput {
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
    describe(cluster: string, taskArn: string): Promise<StoppedTask>;
}

export interface RunTaskDeps {
    ecs: EcsApi;
    log: (s: string) => void;
    sleep: (ms: number) => Promise<void>;
    now: () => number;
}

const POLL_MS = 15_000;

export function readInput(env: NodeJS.ProcessEnv): RunTaskInput {
    const required = (name: string): string => {
        const value = env[name];
        if (value === undefined || value.trim() === "") {
            throw new Error(`environment variable ${name} is required`);
        }
        return value;
    };
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
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 24 * 60) {
        throw new Error(`TIMEOUT_MINUTES ${JSON.stringify(env.TIMEOUT_MINUTES)} must be a whole number of minutes (1–1440)`);
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
    };
}

/** Runs the task and waits for it to stop; resolves with its ARN if the container exited 0, rejects otherwise. */
export async function runTask(input: RunTaskInput, deps: RunTaskDeps): Promise<string> {
    const { ecs, log } = deps;
    const what = `${input.container} ${input.command.join(" ")}`;
    const arn = await ecs.runTask(input);
    log(`${what}: started ${arn}`);
    const deadline = deps.now() + input.timeoutMinutes * 60_000;
    const logs = input.logGroup ? ` (logs: ${input.logGroup})` : "";
    for (;;) {
        const task = await ecs.describe(input.cluster, arn);
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
        if (deps.now() >= deadline) {
            // Left running on purpose: stopping a migration halfway is worse than letting it finish.
            throw new Error(`${what} still ${task.lastStatus ?? "unknown"} after ${input.timeoutMinutes} minutes, task ${arn}${logs}; it keeps running`);
        }
        log(`${what}: ${task.lastStatus ?? "unknown"}`);
        await deps.sleep(POLL_MS);
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
                throw new Error(`ECS does not know task ${taskArn}`);
            }
            return {
                lastStatus: t.lastStatus,
                stopCode: t.stopCode,
                stoppedReason: t.stoppedReason,
                containers: (t.containers ?? []).map((c) => ({ name: c.name, exitCode: c.exitCode, reason: c.reason })),
            };
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

if (require.main === module) {
    main().catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        process.stderr.write(`runTask: ${message.replace(/\s*\n\s*/g, " ")}\n`);
        process.exitCode = 1;
    });
}
