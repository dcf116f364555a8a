import { spawnSync } from "child_process";
import * as path from "path";
import { expect } from "chai";
import { createEcs, EcsApi, familyOf, MIN_RUN_MINUTES, readInput, runTask, RunTaskInput, ServiceState, StoppedTask } from "../hooks/runTask";
import { ROOT } from "../sim/harness";

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
    expectServices: [{ service: "platform-prod-gitlab-gitaly", taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/platform-prod-gitlab-gitaly:4" }],
    reserveMinutes: 0,
};
const ROLLED_OUT: ServiceState = {
    serviceName: "platform-prod-gitlab-gitaly",
    deployments: [{ status: "PRIMARY", taskDefinition: INPUT.expectServices[0].taskDefinition, rolloutState: "COMPLETED", runningCount: 1, desiredCount: 1 }],
};
const ARN = "arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0123";

/**
 * A fake ECS: the task goes through these states, one per describe (the last
 * repeats); the services are as given; ListTasks answers `siblings` in turn
 * (the last repeats). `order` records which call came when.
 */
function fakeEcs(states: (StoppedTask | undefined)[], start?: () => Promise<string>, services: ServiceState[][] = [[ROLLED_OUT]], siblings: string[][] = [[]]) {
    const calls: { runTask: RunTaskInput[]; describe: string[]; describeServices: string[][]; listRunning: string[][]; order: string[] } = {
        runTask: [],
        describe: [],
        describeServices: [],
        listRunning: [],
        order: [],
    };
    let i = 0;
    let j = 0;
    let k = 0;
    const ecs: EcsApi = {
        async runTask(input) {
            calls.runTask.push(input);
            calls.order.push("runTask");
            return start ? start() : ARN;
        },
        async listRunning(cluster, family) {
            calls.listRunning.push([cluster, family]);
            calls.order.push("listRunning");
            return siblings[Math.min(k++, siblings.length - 1)];
        },
        async describe(_cluster, taskArn) {
            calls.describe.push(taskArn);
            return states[Math.min(i++, states.length - 1)];
        },
        async describeServices(_cluster, names) {
            calls.describeServices.push(names);
            return services[Math.min(j++, services.length - 1)];
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

describe("hooks/runTask (one-off ECS task, e.g. GitLab's migrations)", () => {
    it("starts the task once, waits until it stops, and resolves with its ARN when the container exits 0", async () => {
        const { ecs, calls } = fakeEcs([{ lastStatus: "PROVISIONING", containers: [] }, running, running, stopped(0)]);
        expect(await runTask(INPUT, deps(ecs))).to.equal(ARN);
        expect(calls.runTask).to.deep.equal([INPUT]);
        expect(calls.describe).to.have.length(4);
        expect(calls.describeServices).to.deep.equal([["platform-prod-gitlab-gitaly"]]);
    });

    describe("a migration an earlier update left running (same family)", () => {
        const OLD = "arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0042";

        it("asks ECS for the family's running tasks after the services' check and before starting", async () => {
            const { ecs, calls } = fakeEcs([stopped(0)]);
            expect(await runTask(INPUT, deps(ecs))).to.equal(ARN);
            expect(calls.listRunning).to.deep.equal([[INPUT.cluster, "platform-prod-gitlab-migrate"]]);
            expect(calls.order.slice(0, 2)).to.deep.equal(["listRunning", "runTask"]);
        });

        it("waits for it to stop, then starts its own: never two beside each other", async () => {
            const clock = { t: 0 };
            const { ecs, calls } = fakeEcs([running, stopped(0)], undefined, [[ROLLED_OUT]], [[OLD], [OLD], [OLD], []]);
            expect(await runTask(INPUT, deps(ecs, clock))).to.equal(ARN);
            expect(calls.order.slice(0, 5)).to.deep.equal(["listRunning", "listRunning", "listRunning", "listRunning", "runTask"]);
            expect(calls.runTask).to.have.length(1);
        });

        it("gives up without starting when it outlives the timeout, and says it keeps running", async () => {
            const clock = { t: 0 };
            const { ecs, calls } = fakeEcs([stopped(0)], undefined, [[ROLLED_OUT]], [[OLD]]);
            const err = await runTask({ ...INPUT, timeoutMinutes: 2 }, deps(ecs, clock)).catch((e: Error) => e);
            expect((err as Error).message).to.match(/migrate migrate not started: platform-prod-gitlab-migrate still runs .*0042 after 2 minutes; it keeps running/);
            expect(calls.runTask).to.deep.equal([]);
            expect(clock.t).to.be.within(2 * 60_000, 2 * 60_000 + 15_000);
        });

        it("waiting for it counts against the same timeout as its own run (one deadline)", async () => {
            const clock = { t: 0 };
            // The sibling stops after 90 s; our task then runs for ever.
            const { ecs, calls } = fakeEcs([running], undefined, [[ROLLED_OUT]], [[OLD], [OLD], [OLD], [OLD], [OLD], [OLD], []]);
            const err = await runTask({ ...INPUT, timeoutMinutes: MIN_RUN_MINUTES + 2 }, deps(ecs, clock)).catch((e: Error) => e);
            expect(calls.order.indexOf("runTask")).to.equal(7);
            expect((err as Error).message).to.include(`still RUNNING after ${MIN_RUN_MINUTES + 2} minutes`);
            expect(clock.t).to.be.within((MIN_RUN_MINUTES + 2) * 60_000, (MIN_RUN_MINUTES + 2) * 60_000 + 15_000);
        });

        it("reads the family from a task definition ARN or family:revision", () => {
            expect(familyOf(INPUT.taskDefinition)).to.equal("platform-prod-gitlab-migrate");
            expect(familyOf("platform-dev-gitlab-migrate:12")).to.equal("platform-dev-gitlab-migrate");
        });
    });

    it("tolerates ECS not listing the new task for its first minute (eventual consistency), not longer", async () => {
        const ok = fakeEcs([undefined, undefined, running, stopped(0)]);
        expect(await runTask(INPUT, deps(ok.ecs))).to.equal(ARN);
        const lost = fakeEcs([undefined]);
        const err = await runTask(INPUT, deps(lost.ecs)).catch((e: Error) => e);
        expect((err as Error).message).to.include(`ECS does not list task ${ARN} 60 s after starting it`);
        expect(lost.calls.describe.length).to.be.within(4, 6);
    });

    const TD = INPUT.expectServices[0].taskDefinition;
    const OLD_TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/platform-prod-gitlab-gitaly:3";
    const gitaly = (...deployments: ServiceState["deployments"]): ServiceState[] => [{ serviceName: "platform-prod-gitlab-gitaly", deployments }];

    const refused: [string, ServiceState[], RegExp][] = [
        ["was rolled back to the previous revision", gitaly({ status: "PRIMARY", taskDefinition: OLD_TD, rolloutState: "COMPLETED", runningCount: 1, desiredCount: 1 }), /it runs .*gitaly:3, not .*gitaly:4/],
        ["failed its rollout", gitaly({ status: "PRIMARY", taskDefinition: TD, rolloutState: "FAILED", runningCount: 0, desiredCount: 1 }), /its rollout of .*gitaly:4 FAILED/],
        ["does not exist", [], /service platform-prod-gitlab-gitaly not found/],
    ];
    for (const [why, services, message] of refused) {
        it(`refuses at once when a service it follows ${why} (the provider may record an ECS rollback as an update)`, async () => {
            const { ecs, calls } = fakeEcs([stopped(0)], undefined, [services]);
            const err = await runTask(INPUT, deps(ecs)).catch((e: Error) => e);
            expect((err as Error).message).to.match(/migrate migrate not started: service platform-prod-gitlab-gitaly is not on the new version/);
            expect((err as Error).message).to.match(message);
            expect((err as Error).message).to.include("pulumi up --refresh");
            expect(calls.runTask).to.deep.equal([]);
            expect(calls.describeServices).to.have.length(1);
        });
    }

    it("waits while a service it follows is still rolling or baking, then runs (autoscaled counts do not matter)", async () => {
        const { ecs, calls } = fakeEcs([stopped(0)], undefined, [
            gitaly({ status: "PRIMARY", taskDefinition: TD, rolloutState: "IN_PROGRESS", runningCount: 0, desiredCount: 1 }, { status: "ACTIVE", taskDefinition: OLD_TD, runningCount: 1, desiredCount: 0 }),
            gitaly({ status: "PRIMARY", taskDefinition: TD, rolloutState: "IN_PROGRESS", runningCount: 1, desiredCount: 1 }),
            // Autoscaling just asked for one more task: the version is proven all the same.
            gitaly({ status: "PRIMARY", taskDefinition: TD, rolloutState: "COMPLETED", runningCount: 2, desiredCount: 3 }),
        ]);
        expect(await runTask(INPUT, deps(ecs))).to.equal(ARN);
        expect(calls.describeServices).to.have.length(3);
        expect(calls.runTask).to.have.length(1);
    });

    it("gives up waiting for a rollout that never completes, without starting the task", async () => {
        const { ecs, calls } = fakeEcs([stopped(0)], undefined, [gitaly({ status: "PRIMARY", taskDefinition: TD, rolloutState: "IN_PROGRESS", runningCount: 1, desiredCount: 1 })]);
        const err = await runTask(INPUT, deps(ecs)).catch((e: Error) => e);
        expect((err as Error).message).to.match(/not started: after 45 minutes platform-prod-gitlab-gitaly: its rollout is IN_PROGRESS/);
        expect(calls.runTask).to.deep.equal([]);
    });

    describe("the deploy's shared deadline (DEPLOY_DEADLINE less RESERVE_MINUTES)", () => {
        const OLD = "arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0042";
        const T0 = Date.parse("2026-12-07T03:00:00Z");
        const at = (minutes: number) => T0 + minutes * 60_000;
        /** The job's deadline 60 minutes from the step's start, 45 of them kept for the rollouts after it: 15 left. */
        const SHARED = { ...INPUT, timeoutMinutes: 40, deployDeadline: at(60), reserveMinutes: 45 };

        it("ends the task's wait at the deadline less the reserve, before its own 40 minutes, and says it keeps running", async () => {
            const clock = { t: T0 };
            const { ecs, calls } = fakeEcs([running]);
            const err = await runTask(SHARED, deps(ecs, clock)).catch((e: Error) => e);
            expect(clock.t).to.equal(at(15));
            expect((err as Error).message).to.match(/migrate migrate still RUNNING at the deploy job's deadline \(DEPLOY_DEADLINE 2026-12-07T04:00:00.000Z, less 45 minutes kept for the rollouts after this step\), task .*0123.*; it keeps running, and the next `pulumi up` waits for it/);
            expect(calls.runTask).to.have.length(1);
        });

        it("ends the wait for the services it follows there too, without starting the task", async () => {
            const clock = { t: T0 };
            const { ecs, calls } = fakeEcs([stopped(0)], undefined, [gitaly({ status: "PRIMARY", taskDefinition: TD, rolloutState: "IN_PROGRESS", runningCount: 1, desiredCount: 1 })]);
            const err = await runTask(SHARED, deps(ecs, clock)).catch((e: Error) => e);
            expect(clock.t).to.equal(at(15));
            expect((err as Error).message).to.match(/not started: at the deploy job's deadline .* platform-prod-gitlab-gitaly: its rollout is IN_PROGRESS/);
            expect(calls.runTask).to.deep.equal([]);
        });

        it("and the wait for a migration an earlier update left running", async () => {
            const clock = { t: T0 };
            const { ecs, calls } = fakeEcs([stopped(0)], undefined, [[ROLLED_OUT]], [[OLD]]);
            const err = await runTask(SHARED, deps(ecs, clock)).catch((e: Error) => e);
            expect(clock.t).to.equal(at(15));
            expect((err as Error).message).to.match(/not started: platform-prod-gitlab-migrate still runs .*0042 at the deploy job's deadline/);
            expect(calls.runTask).to.deep.equal([]);
        });

        it(`refuses at once, asking ECS nothing, with less than ${MIN_RUN_MINUTES} minutes left for a run`, async () => {
            const clock = { t: T0 };
            const { ecs, calls } = fakeEcs([stopped(0)]);
            const err = await runTask({ ...SHARED, deployDeadline: at(45 + MIN_RUN_MINUTES - 1) }, deps(ecs, clock)).catch((e: Error) => e);
            expect((err as Error).message).to.match(new RegExp(`migrate migrate not started: ${MIN_RUN_MINUTES - 1} minutes left before the deploy job's deadline .*, a run needs at least ${MIN_RUN_MINUTES}; nothing was started`));
            expect([calls.describeServices, calls.listRunning, calls.runTask]).to.deep.equal([[], [], []]);
            expect(clock.t).to.equal(T0);
        });

        it("does not start the task when waiting for an earlier one used up the time a run needs", async () => {
            const clock = { t: T0 };
            // The earlier migration stops 8 of the 15 minutes in: 7 are left.
            const { ecs, calls } = fakeEcs([stopped(0)], undefined, [[ROLLED_OUT]], [...Array(32).fill([OLD]), []]);
            const err = await runTask(SHARED, deps(ecs, clock)).catch((e: Error) => e);
            expect((err as Error).message).to.match(/not started: 7 minutes left before the deploy job's deadline/);
            expect(calls.runTask).to.deep.equal([]);
        });

        it("does not start the task when waiting for an earlier one used up its own bound's time, with or without DEPLOY_DEADLINE", async () => {
            for (const input of [{ ...SHARED, deployDeadline: at(600) }, { ...INPUT, timeoutMinutes: 40 }]) {
                const clock = { t: T0 };
                // The earlier migration stops 35 of the step's 40 minutes in (one poll every 15 s): 5 are left.
                const { ecs, calls } = fakeEcs([stopped(0)], undefined, [[ROLLED_OUT]], [...Array(140).fill([OLD]), []]);
                const err = await runTask(input, deps(ecs, clock)).catch((e: Error) => e);
                expect((err as Error).message).to.match(/not started: 5 minutes left before the end of this step's own 40 minutes, a run needs at least/);
                expect(calls.runTask).to.deep.equal([]);
            }
        });

        it("keeps the step's own bound when it ends first (a deadline far off), and without DEPLOY_DEADLINE", async () => {
            for (const input of [{ ...SHARED, deployDeadline: at(600) }, { ...INPUT, timeoutMinutes: 40, reserveMinutes: 45 }]) {
                const clock = { t: T0 };
                const { ecs } = fakeEcs([running]);
                const err = await runTask(input, deps(ecs, clock)).catch((e: Error) => e);
                expect(clock.t).to.equal(at(40));
                expect((err as Error).message).to.include("still RUNNING after 40 minutes");
            }
        });

        it("with the deadline already past, starts nothing", async () => {
            const clock = { t: T0 };
            const { ecs, calls } = fakeEcs([stopped(0)]);
            const err = await runTask({ ...SHARED, deployDeadline: at(-1), reserveMinutes: 0 }, deps(ecs, clock)).catch((e: Error) => e);
            expect((err as Error).message).to.match(/not started: 0 minutes left before the deploy job's deadline \(DEPLOY_DEADLINE [^,]*\), a run needs/);
            expect(calls.runTask).to.deep.equal([]);
        });
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
        const err = await runTask({ ...INPUT, timeoutMinutes: MIN_RUN_MINUTES }, deps(ecs)).catch((e: Error) => e);
        expect((err as Error).message).to.include(`still RUNNING after ${MIN_RUN_MINUTES} minutes`);
        expect((err as Error).message).to.include("it keeps running");
        // 15 s polls over the minutes.
        expect(calls.describe.length).to.be.within(MIN_RUN_MINUTES * 4 - 1, MIN_RUN_MINUTES * 4 + 1);
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
            EXPECT_SERVICES: JSON.stringify(INPUT.expectServices),
        };

        it("parses what migrations.ts passes", () => {
            expect(readInput(env)).to.deep.equal({ ...INPUT, command: ["post-migrate"], timeoutMinutes: 120, logGroup: "/platform/prod/x" });
            expect(readInput({ ...env, EXPECT_SERVICES: "" }).expectServices).to.deep.equal([]);
        });

        it("takes the step's reserve from its resource and the deadline (epoch seconds) from the environment the job passes down", () => {
            const input = readInput({ ...env, RESERVE_MINUTES: "45", DEPLOY_DEADLINE: "1796612400" });
            expect([input.reserveMinutes, input.deployDeadline]).to.deep.equal([45, Date.parse("2026-12-07T03:00:00Z")]);
            expect(readInput({ ...env, DEPLOY_DEADLINE: "" })).to.not.have.property("deployDeadline");
        });

        for (const [key, value, message] of [
            ["CLUSTER", "", /CLUSTER is required/],
            ["COMMAND", "migrate", /COMMAND is not valid JSON/],
            ["SUBNETS", "[]", /SUBNETS must be a JSON array of at least 1/],
            ["SECURITY_GROUPS", '[""]', /SECURITY_GROUPS must be a JSON array/],
            ["TIMEOUT_MINUTES", "0", /TIMEOUT_MINUTES "0" must be a whole number/],
            ["TIMEOUT_MINUTES", String(MIN_RUN_MINUTES - 1), new RegExp(`must be a whole number of minutes \\(${MIN_RUN_MINUTES}–1440\\)`)],
            ["EXPECT_SERVICES", '[{"service":"x"}]', /EXPECT_SERVICES must be a JSON array of \{service, taskDefinition\}/],
            ["DEPLOY_DEADLINE", "2026-12-07T04:00:00Z", /DEPLOY_DEADLINE "2026-12-07T04:00:00Z" must be a whole number of seconds since the epoch/],
            ["RESERVE_MINUTES", "-5", /RESERVE_MINUTES "-5" must be a whole number of minutes/],
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
            // A copy: the SDK's paginator reuses one input object and sets each page's token on it.
            sent.push({ ...cmd.input });
            switch (cmd.constructor.name) {
                case "RunTaskCommand":
                    return { tasks: [{ taskArn: ARN }] };
                case "ListTasksCommand":
                    // Two pages: the second only for the first's token.
                    return cmd.input.nextToken === "page-2"
                        ? { taskArns: ["arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0043"] }
                        : { taskArns: ["arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0042"], nextToken: "page-2" };
                case "DescribeServicesCommand":
                    return { services: [{ serviceName: "platform-prod-gitlab-gitaly", deployments: [{ status: "PRIMARY", taskDefinition: "td:4", rolloutState: "COMPLETED", runningCount: 1, desiredCount: 1, id: "ecs-svc/1" }] }] };
                default:
                    return sent.length > 3 ? { tasks: [] } : { tasks: [{ lastStatus: "STOPPED", containers: [{ name: "migrate", exitCode: 0 }] }] };
            }
        };
        try {
            expect(await ecs.runTask(INPUT)).to.equal(ARN);
            expect(await ecs.describe(INPUT.cluster, ARN)).to.deep.include({ lastStatus: "STOPPED" });
            expect(await ecs.describeServices(INPUT.cluster, ["platform-prod-gitlab-gitaly"])).to.deep.equal([
                { serviceName: "platform-prod-gitlab-gitaly", deployments: [{ status: "PRIMARY", taskDefinition: "td:4", rolloutState: "COMPLETED", runningCount: 1, desiredCount: 1 }] },
            ]);
            // A task ECS does not list (yet) is undefined, for runTask's grace period.
            expect(await ecs.describe(INPUT.cluster, ARN)).to.equal(undefined);
            expect(await ecs.listRunning(INPUT.cluster, "platform-prod-gitlab-migrate")).to.deep.equal([
                "arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0042",
                "arn:aws:ecs:us-east-1:123456789012:task/platform-prod-cluster/0043",
            ]);
        } finally {
            proto.send = original;
        }
        expect(sent[0]).to.deep.include({ cluster: INPUT.cluster, taskDefinition: INPUT.taskDefinition, count: 1 });
        expect(sent[0].capacityProviderStrategy).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1 }]);
        expect(sent[0].networkConfiguration.awsvpcConfiguration).to.deep.equal({ subnets: INPUT.subnets, securityGroups: INPUT.securityGroups, assignPublicIp: "DISABLED" });
        expect(sent[0].overrides.containerOverrides).to.deep.equal([{ name: "migrate", command: ["migrate"] }]);
        expect(sent[1]).to.deep.equal({ cluster: INPUT.cluster, tasks: [ARN] });
        // Tasks ECS wants running: pending and provisioning ones too, not those already stopping.
        expect(sent[sent.length - 2]).to.deep.include({ cluster: INPUT.cluster, family: "platform-prod-gitlab-migrate", desiredStatus: "RUNNING", nextToken: undefined });
        expect(sent[sent.length - 1]).to.deep.include({ family: "platform-prod-gitlab-migrate", nextToken: "page-2" });
    });

    it("CLI: with no inputs exits 1 with one 'runTask:' line on stderr", function () {
        this.timeout(60_000);
        const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "tools/runTask.ts"], { cwd: ROOT, env: { PATH: process.env.PATH! }, encoding: "utf8" });
        expect(r.status).to.equal(1);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        expect(lines).to.deep.equal(["runTask: environment variable AWS_REGION is required"]);
    });
});
