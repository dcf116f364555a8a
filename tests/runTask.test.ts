import { spawnSync } from "child_process";
import * as path from "path";
import { expect } from "chai";
import { createEcs, EcsApi, readInput, runTask, RunTaskInput, StoppedTask } from "../tools/runTask";
import { ROOT } from "./harness";

const INPUT: RunTaskInput = {
    region: "us-east-1",
    cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/platform-prod-cluster",
    taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/platform-prod-gitlab-migrate:7",
    container: "migrate",
    command: ["migrate"],
    subnets: ["subnet-a", "subnet-b"],
    securityGroups: ["sg-1"],
    capacityProvider: "FARGATE",
    timeoutMinutes: 60,
    logGroup: "/platform/prod/gitlab-migrate-abc",
};
const ARN = "arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0123";

/** A fake ECS: the task goes through these states, one per describe (the last repeats). */
function fakeEcs(states: StoppedTask[], start?: () => Promise<string>) {
    const calls: { runTask: RunTaskInput[]; describe: string[] } = { runTask: [], describe: [] };
    let i = 0;
    const ecs: EcsApi = {
        async runTask(input) {
            calls.runTask.push(input);
            return start ? start() : ARN;
        },
        async describe(_cluster, taskArn) {
            calls.describe.push(taskArn);
            return states[Math.min(i++, states.length - 1)];
        },
    };
    return { ecs, calls };
}

const deps = (ecs: EcsApi, clock = { t: 0 }) => ({
    ecs,
    log: () => undefined,
    sleep: async (ms: number) => {
        clock.t += ms;
    },
    now: () => clock.t,
});

const running: StoppedTask = { lastStatus: "RUNNING", containers: [{ name: "migrate" }] };
const stopped = (exitCode?: number, extra: Partial<StoppedTask> = {}): StoppedTask => ({ lastStatus: "STOPPED", containers: [{ name: "migrate", exitCode }], ...extra });

describe("tools/runTask (one-off ECS task, e.g. GitLab's migrations)", () => {
    it("starts the task once, waits until it stops, and resolves with its ARN when the container exits 0", async () => {
        const { ecs, calls } = fakeEcs([{ lastStatus: "PROVISIONING", containers: [] }, running, running, stopped(0)]);
        expect(await runTask(INPUT, deps(ecs))).to.equal(ARN);
        expect(calls.runTask).to.deep.equal([INPUT]);
        expect(calls.describe).to.have.length(4);
    });

    it("fails with the exit code, ECS's reasons and where the logs are when the container exits non-zero", async () => {
        const { ecs } = fakeEcs([running, stopped(1, { stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" })]);
        const err = await runTask(INPUT, deps(ecs)).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(err?.message).to.include("migrate migrate failed: exit code 1");
        expect(err?.message).to.include("EssentialContainerExited; Essential container in task exited");
        expect(err?.message).to.include(ARN);
        expect(err?.message).to.include(INPUT.logGroup);
    });

    it("fails when the task stopped without the container ever exiting (image pull, secrets, Spot reclaim)", async () => {
        const { ecs } = fakeEcs([stopped(undefined, { stopCode: "TaskFailedToStart", stoppedReason: "ResourceInitializationError: unable to pull secrets" })]);
        const err = await runTask(INPUT, deps(ecs)).catch((e: Error) => e);
        expect((err as Error).message).to.match(/failed: no exit code \(TaskFailedToStart; ResourceInitializationError/);
    });

    it("gives up waiting after the timeout but says the task keeps running", async () => {
        const { ecs, calls } = fakeEcs([running]);
        const err = await runTask({ ...INPUT, timeoutMinutes: 2 }, deps(ecs)).catch((e: Error) => e);
        expect((err as Error).message).to.include("still RUNNING after 2 minutes");
        expect((err as Error).message).to.include("it keeps running");
        // 15 s polls over 2 minutes.
        expect(calls.describe.length).to.be.within(8, 10);
    });

    it("passes a placement failure on without waiting", async () => {
        const { ecs, calls } = fakeEcs([running], async () => {
            throw new Error("ECS did not start x: RESOURCE:MEMORY");
        });
        const err = await runTask(INPUT, deps(ecs)).catch((e: Error) => e);
        expect((err as Error).message).to.include("RESOURCE:MEMORY");
        expect(calls.describe).to.deep.equal([]);
    });

    describe("readInput", () => {
        const env = {
            AWS_REGION: "us-east-1",
            CLUSTER: INPUT.cluster,
            TASK_DEFINITION: INPUT.taskDefinition,
            CONTAINER: "migrate",
            COMMAND: '["post-migrate"]',
            SUBNETS: '["subnet-a","subnet-b"]',
            SECURITY_GROUPS: '["sg-1"]',
            CAPACITY_PROVIDER: "FARGATE",
            TIMEOUT_MINUTES: "120",
            LOG_GROUP: "/platform/prod/x",
        };

        it("parses what migrations.ts passes", () => {
            expect(readInput(env)).to.deep.equal({ ...INPUT, command: ["post-migrate"], timeoutMinutes: 120, logGroup: "/platform/prod/x" });
        });

        for (const [key, value, message] of [
            ["CLUSTER", "", /CLUSTER is required/],
            ["COMMAND", "migrate", /COMMAND is not valid JSON/],
            ["SUBNETS", "[]", /SUBNETS must be a JSON array of at least 1/],
            ["SECURITY_GROUPS", '[""]', /SECURITY_GROUPS must be a JSON array/],
            ["TIMEOUT_MINUTES", "0", /TIMEOUT_MINUTES "0" must be a whole number/],
        ] as const) {
            it(`rejects ${key}=${JSON.stringify(value)}`, () => {
                expect(() => readInput({ ...env, [key]: value })).to.throw(message);
            });
        }
    });

    it("createEcs sends RunTask with private networking, the command override and no public IP (ECS client stubbed)", async () => {
        const ecs = createEcs("us-east-1");
        const sent: any[] = [];
        // The SDK client is private to createEcs; stub the prototype's send for this call only.
        const proto = Object.getPrototypeOf((await import("@aws-sdk/client-ecs")).ECSClient.prototype);
        const original = proto.send;
        proto.send = async function (cmd: any) {
            sent.push(cmd.input);
            return cmd.constructor.name === "RunTaskCommand" ? { tasks: [{ taskArn: ARN }] } : { tasks: [{ lastStatus: "STOPPED", containers: [{ name: "migrate", exitCode: 0 }] }] };
        };
        try {
            expect(await ecs.runTask(INPUT)).to.equal(ARN);
            expect(await ecs.describe(INPUT.cluster, ARN)).to.deep.include({ lastStatus: "STOPPED" });
        } finally {
            proto.send = original;
        }
        expect(sent[0]).to.deep.include({ cluster: INPUT.cluster, taskDefinition: INPUT.taskDefinition, count: 1 });
        expect(sent[0].capacityProviderStrategy).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1 }]);
        expect(sent[0].networkConfiguration.awsvpcConfiguration).to.deep.equal({ subnets: INPUT.subnets, securityGroups: INPUT.securityGroups, assignPublicIp: "DISABLED" });
        expect(sent[0].overrides.containerOverrides).to.deep.equal([{ name: "migrate", command: ["migrate"] }]);
        expect(sent[1]).to.deep.equal({ cluster: INPUT.cluster, tasks: [ARN] });
    });

    it("CLI: with no inputs exits 1 with one 'runTask:' line on stderr", function () {
        this.timeout(60_000);
        const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "tools/runTask.ts"], { cwd: ROOT, env: { PATH: process.env.PATH! }, encoding: "utf8" });
        expect(r.status).to.equal(1);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        expect(lines).to.deep.equal(["runTask: environment variable AWS_REGION is required"]);
    });
});
