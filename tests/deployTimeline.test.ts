import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { parseGitlabCi } from "../ci/gitlabYaml";
import { prodSingle } from "./variants";
import { deployDeadline, PULUMI_MARGIN_MINUTES } from "../ci/deployDeadline";
import { EcsApi, readInput, runTask, RunTaskInput } from "../hooks/runTask";
import { RUN_TASK_COMMAND } from "../components/gitlab/migrations";
import { Resource, ROOT, stackRun, StackRun } from "../sim/harness";

/*
 * The whole deploy job's timeline: one `pulumi up` runs the stack's waits in
 * dependency order (the provider's rollout waits, the migration steps), and
 * all of them must end before the CI job's timeout, with Pulumi's margin
 * left to write its state. Read from the stacks' real graphs, the real
 * runTask (against an ECS that takes as long as it may) and the job's own
 * lines from .gitlab-ci.yml.
 */

const JOB_START = "2026-12-07T03:00:00Z";
const START_MS = Date.parse(JOB_START);
const MINUTE = 60_000;
const minutes = (ms: number) => (ms - START_MS) / MINUTE;

/**
 * The job's own work before `pulumi up` reaches its first rollout, swept
 * from 0: npm ci from the cache (seconds), the admin gate's `pulumi
 * preview` (1–3 min), the image builds (a thin layer on GitLab's image, the
 * app's from cache: minutes each).
 */
const BEFORE_ROLLOUTS_MINUTES = 20;

/** The AWS provider's own wait for an ECS service without customTimeouts. */
const PROVIDER_DEFAULT_MINUTES = 20;

interface DeployJob {
    readonly timeoutMinutes: number;
    readonly script: string[];
}

/** `.deploy`, which both deploy jobs extend without changing its timeout or script. */
function deployJob(): DeployJob {
    const ci = parseGitlabCi(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8")) as Record<string, { timeout?: string; extends?: string | string[]; script?: string[] }>;
    for (const job of ["deploy dev", "deploy prod"]) {
        expect([ci[job].extends].flat(), job).to.include(".deploy");
        expect([ci[job].timeout, ci[job].script], `${job} keeps .deploy's timeout and script`).to.deep.equal([undefined, undefined]);
    }
    const m = /^(\d+)m$/.exec(ci[".deploy"].timeout ?? "");
    expect(m, ".deploy timeout in minutes").to.not.equal(null);
    return { timeoutMinutes: Number(m![1]), script: ci[".deploy"].script ?? [] };
}

/** DEPLOY_DEADLINE (epoch seconds) as the job's lines before `pulumi up` export it, with GitLab's variables for this job. */
function jobDeadline(job: DeployJob): number {
    const up = job.script.findIndex((l) => /(^|\s)pulumi up --yes/.test(l));
    // The lines that set and export it, not those that use it (the start guard reads the clock: the job's start here is fixed).
    const lines = job.script.slice(0, up).filter((l) => /^(export\s+)?DEPLOY_DEADLINE\b/.test(l));
    expect(lines, "the deploy job sets DEPLOY_DEADLINE before `pulumi up`").to.not.deep.equal([]);
    // printenv: only an exported variable reaches `pulumi up` and the commands it runs.
    const r = spawnSync("bash", ["-eo", "pipefail", "-c", [...lines, "printenv DEPLOY_DEADLINE"].join("\n")], {
        cwd: ROOT,
        env: { PATH: process.env.PATH!, CI_JOB_STARTED_AT: JOB_START, CI_JOB_TIMEOUT: String(job.timeoutMinutes * 60) },
        encoding: "utf8",
    });
    expect(r.status, r.stderr).to.equal(0);
    return Number(r.stdout.trim());
}

/** An ECS on which every wait lasts as long as it can: services settle at `servicesAt`, an earlier task goes at `siblingsGoneAt`, ours never stops. */
function slowEcs(input: RunTaskInput, clock: { t: number }, p: { servicesAt: number; siblingsGoneAt: number }, started: { yes: boolean }): EcsApi {
    return {
        async describeServices() {
            const rolloutState = clock.t >= p.servicesAt ? "COMPLETED" : "IN_PROGRESS";
            return input.expectServices.map((e) => ({ serviceName: e.service, deployments: [{ status: "PRIMARY", taskDefinition: e.taskDefinition, rolloutState, runningCount: 1, desiredCount: 1 }] }));
        },
        async listRunning() {
            return clock.t >= p.siblingsGoneAt ? [] : ["arn:aws:ecs:us-east-1:123456789012:task/c/earlier"];
        },
        async runTask() {
            started.yes = true;
            return "arn:aws:ecs:us-east-1:123456789012:task/c/ours";
        },
        async describe() {
            return { lastStatus: "RUNNING", containers: [] };
        },
    };
}

/** When runTask gives up on `slowEcs` started at `start`, and whether it started the task. */
async function giveUp(input: RunTaskInput, start: number, p: { servicesAt: number; siblingsGoneAt: number }): Promise<{ at: number; started: boolean }> {
    const clock = { t: start };
    const started = { yes: false };
    const sleep = async (ms: number) => {
        clock.t += ms;
        expect(clock.t - start, "runTask still waiting a day later").to.be.lessThan(24 * 60 * MINUTE);
    };
    await runTask(input, { ecs: slowEcs(input, clock, p, started), log: () => undefined, sleep, now: () => clock.t }).then(
        () => expect.fail("a task that never stops cannot succeed"),
        () => undefined,
    );
    return { at: clock.t, started: started.yes };
}

/**
 * A migration step from `start`: the latest it can end (failed or not), and
 * the latest it can succeed (the task stopping with 0 at the last poll), if
 * it can: services settling at the last moment, then an earlier migration
 * going at the last moment, then ours running to the end; or all at once.
 */
async function stepTiming(r: Resource, start: number, deadline: number): Promise<{ end: number; ready?: number }> {
    const input = readInput({ ...r.inputs.environment, DEPLOY_DEADLINE: String(deadline) });
    const t1 = (await giveUp(input, start, { servicesAt: Infinity, siblingsGoneAt: Infinity })).at;
    const t2 = (await giveUp(input, start, { servicesAt: t1, siblingsGoneAt: Infinity })).at;
    const late = await giveUp(input, start, { servicesAt: t1, siblingsGoneAt: t2 });
    const early = await giveUp(input, start, { servicesAt: start, siblingsGoneAt: start });
    const successes = [late, early].filter((x) => x.started).map((x) => x.at);
    return { end: Math.max(t1, t2, late.at, early.at), ready: successes.length > 0 ? Math.max(...successes) : undefined };
}

/** Minutes the provider waits for a service's rollout (0: it does not wait). */
function rolloutWait(r: Resource): number {
    if (!r.inputs.waitForSteadyState) {
        return 0;
    }
    const m = [r.customTimeouts.create, r.customTimeouts.update].map((t) => /^(\d+)m$/.exec(t));
    return m.every((x) => x === null) ? PROVIDER_DEFAULT_MINUTES : Math.max(...m.map((x) => (x ? Number(x[1]) : 0)));
}

interface Timing {
    readonly name: string;
    readonly urn: string;
    /** Epoch ms it ends by, or undefined when it does not run (something it depends on failed). */
    readonly end?: number;
    /** When what depends on it may start: undefined when it cannot succeed. */
    readonly ready?: number;
    /** The URN of what it waited for last. */
    readonly after?: string;
}

/** The custom resources a dependency stands for (a component's dependency is on its descendants). */
function expander(run: StackRun): (urn: string) => string[] {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const children = new Map<string, Resource[]>();
    for (const r of run.resources) {
        children.set(r.parentUrn ?? "", [...(children.get(r.parentUrn ?? "") ?? []), r]);
    }
    const expand = (urn: string): string[] => {
        const r = byUrn.get(urn);
        return !r ? [] : r.custom ? [urn] : (children.get(urn) ?? []).flatMap((c) => expand(c.urn));
    };
    return expand;
}

/** Every custom resource's worst-case timing when `pulumi up` reaches the rollouts `t0` minutes into the job. */
async function timeline(run: StackRun, t0: number, deadline: number): Promise<Map<string, Timing>> {
    const expand = expander(run);
    const out = new Map<string, Timing>();
    // Registration order is a dependency order: a resource can only depend on one registered before it.
    for (const r of run.resources.filter((x) => x.custom)) {
        const deps = [...new Set(r.dependencies.flatMap(expand))].map((u) => out.get(u)).filter((x): x is Timing => x !== undefined);
        if (deps.some((d) => d.ready === undefined)) {
            out.set(r.urn, { name: r.name, urn: r.urn });
            continue;
        }
        const last = deps.reduce<Timing | undefined>((a, d) => (a === undefined || d.ready! > a.ready! ? d : a), undefined);
        const start = Math.max(START_MS + t0 * MINUTE, last?.ready ?? 0);
        const me = { name: r.name, urn: r.urn, after: last?.urn };
        if (r.type === "command:local:Command" && r.inputs.create === RUN_TASK_COMMAND) {
            out.set(r.urn, { ...me, ...(await stepTiming(r, start, deadline)) });
        } else {
            const end = start + rolloutWait(r) * MINUTE;
            out.set(r.urn, { ...me, end, ready: end });
        }
    }
    return out;
}

/** The chain of waits that ends in `x`, as `name start→end` in minutes of the job (what takes no time left out). */
function chainTo(t: Map<string, Timing>, x: Timing): string[] {
    const chain: string[] = [];
    for (let at: Timing | undefined = x; at; at = at.after ? t.get(at.after) : undefined) {
        const prev = at.after ? t.get(at.after) : undefined;
        const start = prev?.ready ?? at.end!;
        if (at.end! > start || at === x) {
            chain.unshift(`${at.name} ${minutes(start).toFixed(1)}→${minutes(at.end!).toFixed(1)}`);
        }
    }
    return chain;
}

/** The chain that ends last. */
function criticalChain(t: Map<string, Timing>): string[] {
    return chainTo(t, [...t.values()].filter((v) => v.end !== undefined).reduce((a, b) => (b.end! > a.end! ? b : a)));
}

describe("the deploy job's timeline: every wait of `pulumi up` ends before the CI job's timeout", () => {
    const runs: [string, () => Promise<StackRun>][] = [
        ["dev (single)", () => stackRun("dev")],
        ["prod (split)", () => stackRun("prod")],
        ["prod as single", prodSingle],
    ];
    for (const [label, runOf] of runs) {
        it(`${label}: the longest chain of rollouts and migration steps, started 0–${BEFORE_ROLLOUTS_MINUTES} minutes into the job, ends by the job's deadline`, async () => {
            const run = await runOf();
            const job = deployJob();
            const deadline = jobDeadline(job);
            const limit = minutes(deadline * 1000);
            // Pulumi's margin: what the job keeps after the last wait, to write the state.
            expect(job.timeoutMinutes - limit, "minutes left to Pulumi").to.be.at.least(PULUMI_MARGIN_MINUTES);
            for (let t0 = 0; t0 <= BEFORE_ROLLOUTS_MINUTES; t0++) {
                const t = await timeline(run, t0, deadline);
                const ends = [...t.values()].filter((x) => x.end !== undefined).map((x) => minutes(x.end!));
                expect(Math.max(...ends), `${label}, rollouts from minute ${t0}: ${criticalChain(t).join(", ")}; the job's deadline is minute ${limit}`).to.be.at.most(limit);
            }
            // Not vacuous: from minute 0, post-migrate runs after migrate and the rollout between them.
            const t = await timeline(run, 0, deadline);
            const post = [...t.values()].find((x) => x.name === "gitlab-post-migrate")!;
            const chain = chainTo(t, post).map((c) => c.split(" ")[0]);
            const tiers = chain.slice(-3).map((n) => n.replace(/^gitlab-(web|sidekiq)$/, "gitlab"));
            expect(tiers, chain.join(", ")).to.deep.equal(["gitlab-migrate", "gitlab", "gitlab-post-migrate"]);
        });
    }

    it("the job's lines around `pulumi up`, run in bash with fakes: SIGINT (Pulumi's cancel) at DEPLOY_DEADLINE, SIGKILL within the job's margin, nothing started with under a minute left", function () {
        this.timeout(30_000);
        const script = deployJob().script;
        const from = script.findIndex((l) => l.startsWith("left="));
        const up = script.findIndex((l) => /(^|\s)pulumi up --yes/.test(l));
        expect([from, up].every((i) => i >= 0) && from < up, "the deadline lines precede pulumi up").to.equal(true);
        const lines = script.slice(from, up + 1).map((l) => l.replace(/\$\(bash \.ci\/policy-args\.sh "\$STACK"\)/, ""));
        const bin = fs.mkdtempSync(path.join(require("os").tmpdir(), "fake-pulumi-"));
        // A `pulumi up` that never ends by itself and says which signal ended it.
        fs.writeFileSync(path.join(bin, "pulumi"), '#!/bin/bash\ntrap \'echo "cancelled by INT"; exit 130\' INT\nwhile :; do sleep 0.1; done\n', { mode: 0o755 });
        // `timeout` as the job calls it, logged, then the real one with its duration cut to 1 s.
        const realTimeout = spawnSync("bash", ["-c", "command -v timeout"], { encoding: "utf8" }).stdout.trim();
        fs.writeFileSync(path.join(bin, "timeout"), `#!/bin/bash\necho "timeout $*" >&2\nargs=("$@"); for i in "\${!args[@]}"; do [[ "\${args[$i]}" =~ ^[0-9]+s$ ]] && args[$i]=1s; done\nexec ${realTimeout} "\${args[@]}"\n`, { mode: 0o755 });
        const run = (secondsAhead: number) =>
            spawnSync("bash", ["-e", "-c", [`DEPLOY_DEADLINE=$(( $(date +%s) + ${secondsAhead} ))`, ...lines].join("\n")], {
                env: { PATH: `${bin}:${process.env.PATH}`, STACK: "dev" },
                encoding: "utf8",
                timeout: 20_000,
                killSignal: "SIGKILL",
            });
        try {
            const ahead = run(600);
            // timeout's own status when it had to signal; the duration was the time to the deadline.
            expect(ahead.status, ahead.stderr).to.equal(124);
            expect(ahead.stdout.trim()).to.equal("cancelled by INT");
            const [, killAfter, seconds] = /^timeout --signal=INT --kill-after=(\d+)m (\d+)s pulumi up /m.exec(ahead.stderr) ?? [];
            expect(Number(seconds)).to.be.within(598, 600);
            // SIGKILL still inside the minutes the job keeps after the deadline.
            expect(Number(killAfter)).to.be.below(PULUMI_MARGIN_MINUTES);
            for (const secondsLeft of [30, -600]) {
                const late = run(secondsLeft);
                expect(late.status).to.equal(1);
                expect(late.stderr).to.match(/deploy: -?\d+ s left before DEPLOY_DEADLINE, pulumi up not started/);
                expect(late.stderr).to.not.include("timeout --signal");
                expect(late.stdout).to.equal("");
            }
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("ci/deployDeadline.ts: the job's start + its timeout - Pulumi's margin, from GitLab's variables; none, and the job stops before `pulumi up`", () => {
        const env = { CI_JOB_STARTED_AT: "2026-12-07T03:00:00Z", CI_JOB_TIMEOUT: "7200" };
        expect(deployDeadline(env)).to.equal(Date.parse("2026-12-07T05:00:00Z") / 1000 - PULUMI_MARGIN_MINUTES * 60);
        expect(() => deployDeadline({ ...env, CI_JOB_STARTED_AT: undefined })).to.throw(/CI_JOB_STARTED_AT undefined is not an ISO 8601 time/);
        expect(() => deployDeadline({ ...env, CI_JOB_TIMEOUT: "" })).to.throw(/CI_JOB_TIMEOUT "" must be the job's timeout in seconds/);
        expect(() => deployDeadline({ ...env, CI_JOB_TIMEOUT: "120m" })).to.throw(/CI_JOB_TIMEOUT "120m"/);
    });
});
