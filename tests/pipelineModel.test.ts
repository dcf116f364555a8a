import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../sim/harness";
import { STEP_TIMES } from "../facts/pipelineTimes";
import { pipelineGraph } from "../tools/pipelineGraph";
import { criticalPath, JOB_STEPS, model, PIPELINES, pullStep, DOC_FILE, DOC_MARKERS, docTable, recordedVars, rolloutInputs, schedule, TimedJob } from "../tools/pipelineModel";
import { jobNames, PipelineKind, pipelineKind } from "./gitlabCiLocal";

const CI = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");

/** A job of `seconds` in one step, waiting for `needs`. */
const timed = (name: string, seconds: number, needs: string[]): TimedJob => ({
    name,
    when: "on_success",
    needs,
    parallel: 1,
    steps: [{ name: "work", seconds, source: { kind: "estimated", basis: "test" } }],
    start: 0,
    finish: 0,
});

/** The model's pipelines and the gitlab-ci-local scenarios (tests/gitlabCiLocal.ts) that are the same pipeline. */
const SCENARIO: Record<keyof typeof PIPELINES, PipelineKind> = { mr: "merge request, unprotected source", push: "push, protected default branch" };
/** gitlab-ci-local names the copies of a `parallel: N` job `<name>: [i/N]`. */
const baseName = (job: string) => job.replace(/: \[\d+\/\d+\]$/, "");

describe("pipeline model (tools/pipelineModel.ts)", function () {
    this.timeout(120_000);

    it("a small graph's critical path is the chain of needs worked out by hand", function () {
        // Stage a: x (10 s), y (30 s); stage b: z waits for the whole of stage a (no needs), w needs x only.
        const graph = pipelineGraph(
            ["stages: [a, b]", "x: { stage: a, needs: [], script: [t] }", "y: { stage: a, script: [t] }", "z: { stage: b, script: [t] }", "w: { stage: b, needs: [x], script: [t] }"].join("\n"),
            { vars: {}, changed: [] },
        );
        expect(Object.fromEntries(graph.map((j) => [j.name, j.needs]))).to.deep.equal({ x: [], y: [], z: ["x", "y"], w: ["x"] });
        const seconds: Record<string, number> = { x: 10, y: 30, z: 5, w: 8 };
        const jobs = schedule(graph.map((j) => timed(j.name, seconds[j.name], j.needs)));
        const at = Object.fromEntries(jobs.map((j) => [j.name, [j.start, j.finish]]));
        // z starts when y (the later of x and y) ends: 30 -> 35; w after x: 10 -> 18.
        expect(at).to.deep.equal({ x: [0, 10], y: [0, 30], z: [30, 35], w: [10, 18] });
        expect(criticalPath(jobs, jobs.find((j) => j.name === "z")!)).to.deep.equal(["y", "z"]);
        expect(criticalPath(jobs, jobs.find((j) => j.name === "w")!)).to.deep.equal(["x", "w"]);
    });

    it("fails on a job its mapping does not know, naming it", function () {
        const extra = `${CI}\nlint extra:\n  stage: test\n  needs: []\n  image: $NODE_IMAGE\n  script: [true]\n`;
        expect(() => model(extra, "mr", { workers: "cold" })).to.throw(/"lint extra".*JOB_STEPS/);
    });

    for (const [pipeline, scenario] of Object.entries(SCENARIO) as [keyof typeof PIPELINES, PipelineKind][]) {
        it(`every job of the ${scenario} pipeline is mapped, and the model's rules find exactly gitlab-ci-local's jobs`, function () {
            const k = pipelineKind(scenario);
            const running = [...new Set(jobNames(k.vars, k.unset, k.changed).map(baseName))].sort();
            expect(running.filter((j) => !(j in JOB_STEPS)), "jobs without steps in JOB_STEPS").to.deep.equal([]);
            // As the scenarios run: the tools image recorded, the deploys' dind pinned.
            const modelled = pipelineGraph(CI, { vars: { ...recordedVars(CI), ...PIPELINES[pipeline].vars }, changed: ["app/core/views.py"] });
            expect(modelled.map((j) => j.name).sort()).to.deep.equal(running);
        });
    }

    it("a matching rule's variables choose the job's image (preview dev runs the MR's throwaway tools image when ci/Dockerfile changes)", function () {
        const image = (changed: string[]) => pipelineGraph(CI, { vars: PIPELINES.mr.vars, changed }).find((j) => j.name === "preview dev")!.images[0];
        expect(image(["ci/Dockerfile"])).to.match(/\/ci-tools\/mr:/);
        expect(image(["app/core/views.py"])).to.match(/\/ci-tools:/);
    });

    it("an image through the ECR pull-through cache ($DOCKER_HUB_MIRROR) pulls at ECR's rate, an unknown image is an error naming it", function () {
        const hub = pullStep("node:20.19.5-bookworm");
        const cached = pullStep("$DOCKER_HUB_MIRROR/library/node:20.19.5-bookworm");
        expect(cached.seconds).to.be.below(hub.seconds);
        expect(cached.source).to.have.property("basis").that.includes("from ecr");
        expect(() => pullStep("ruby:3.4")).to.throw(/no size for the image ruby:3\.4/);
    });

    it("a job split with parallel: N runs its step as timed for one of N copies; split otherwise, the model refuses it (the figure would not be its own)", function () {
        const mocha = model(CI, "mr", { workers: "cold" }).jobs.find((j) => j.name === "test: mocha")!;
        const ref = JOB_STEPS["test: mocha"].find((r) => typeof r === "object" && "shardOf" in r) as { step: keyof typeof STEP_TIMES; shardOf: number };
        expect(mocha.parallel).to.equal(ref.shardOf);
        expect(mocha.steps.find((st) => st.name === ref.step)!.seconds).to.equal(STEP_TIMES[ref.step].seconds);
        const other = CI.replace(/^(\s+parallel: )\d+$/m, (_m, p: string) => `${p}${ref.shardOf + 1}`);
        expect(other).to.not.equal(CI);
        expect(() => model(other, "mr", { workers: "cold" })).to.throw(new RegExp(`test: mocha runs parallel: ${ref.shardOf + 1}, but "${ref.step}" was timed for ${ref.shardOf} copies`));
    });

    it("the warm pool: the first jobs to ask take its workers, the rest boot theirs, a taken worker is replaced a cold boot later", function () {
        const warmable = (name: string, needs: string[], parallel = 1): TimedJob => ({ ...timed(name, 10, needs), parallel, pool: "general", steps: [{ name: "worker start (cold)", seconds: 75, source: { kind: "estimated", basis: "test" } }, ...timed(name, 10, needs).steps] });
        // a and b (3 copies) ask at 0 from a pool of 2: a takes one, b one (its other copies boot: 75 s); c asks at 15
        // (after a), before the first replacement is ready at 75: waiting (60 s) + 5 beats a boot, so 65 s.
        const jobs = schedule([warmable("a", []), warmable("b", [], 3), warmable("c", ["a"]), timed("d", 10, [])], { general: 2 });
        const first = Object.fromEntries(jobs.map((j) => [j.name, [j.steps[0].name, j.steps[0].seconds]]));
        expect(first).to.deep.equal({ a: ["worker start (warm)", 5], b: ["worker start (1 of 3 warm)", 75], c: ["worker start (warm)", 65], d: ["work", 10] });
        expect(jobs.find((j) => j.name === "c")!.start).to.equal(15);
        // No worker in its fleet's pool (the other fleet's does not count): it keeps its cold start.
        expect(schedule([warmable("a", [])], { general: 0, deploy: 3 })[0].steps[0].seconds).to.equal(75);
    });

    it("the dev rollout follows the app's health-check numbers: serving moves with the target group's threshold, not with the bake after it", function () {
        const base = model(CI, "push", { workers: "cold" });
        const dev = rolloutInputs("dev");
        const slower = model(CI, "push", { workers: "cold", rollout: (s) => ({ ...rolloutInputs(s), health: { ...dev.health, healthyThreshold: dev.health.healthyThreshold + 3 } }) });
        expect(slower.totalSeconds - base.totalSeconds).to.equal(3 * dev.health.intervalSeconds);
        const longerBake = model(CI, "push", { workers: "cold", rollout: (s) => ({ ...rolloutInputs(s), deployment: { strategy: "BLUE_GREEN", bakeTimeMinutes: 10, canaryBakeTimeMinutes: 0 } }) });
        expect(longerBake.totalSeconds).to.equal(base.totalSeconds);
        const deploy = (r: typeof base) => r.jobs.find((j) => j.name === "deploy dev")!;
        expect(deploy(longerBake).steps.find((s) => s.name === "app: old task drained, bake")!.seconds - deploy(base).steps.find((s) => s.name === "app: old task drained, bake")!.seconds).to.equal(600);
    });

    it("warm pools never lengthen a pipeline, pools as wide as the first jobs shorten both; each fleet's jobs take only its own pool; an app-only push is a test then a deploy", function () {
        for (const pipeline of ["mr", "push"] as const) {
            const cold = model(CI, pipeline, { workers: "cold" });
            expect(model(CI, pipeline, { workers: "warm" }).totalSeconds).to.be.at.most(cold.totalSeconds);
            const wide = cold.jobs.filter((j) => j.start === 0).reduce((n, j) => n + j.parallel, 0);
            expect(model(CI, pipeline, { workers: "warm", pools: { general: wide, deploy: 1 } }).totalSeconds).to.be.below(cold.totalSeconds);
        }
        const first = (pools: { general: number; deploy: number }) => {
            const jobs = model(CI, "push", { workers: "warm", pools }).jobs;
            return ["test: types", "deploy dev"].map((n) => jobs.find((j) => j.name === n)!.steps[0].name);
        };
        expect(first({ general: 20, deploy: 0 })).to.deep.equal(["worker start (warm)", "worker start (cold)"]);
        expect(first({ general: 0, deploy: 1 })).to.deep.equal(["worker start (cold)", "worker start (warm)"]);
        expect(model(CI, "push", { workers: "cold" }).criticalPath.at(-1)).to.equal("deploy dev");
    });

    it("the CI design note quotes the model's figures as it prints them today (npm run pipeline-model -- --write-docs)", function () {
        const doc = fs.readFileSync(path.join(ROOT, DOC_FILE), "utf8");
        const [open, close] = DOC_MARKERS;
        const block = doc.slice(doc.indexOf(open) + open.length, doc.indexOf(close));
        expect(doc.indexOf(open), `${DOC_FILE} has the pipeline-model markers`).to.be.above(0);
        expect(block.trim()).to.equal(docTable(CI));
    });

    it("answers --help and refuses an unknown option", function () {
        const run = (...args: string[]) => spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "tools/pipelineModel.ts", ...args], { cwd: ROOT, encoding: "utf8" });
        const help = run("--help");
        expect(help.status).to.equal(0);
        expect(help.stdout).to.match(/^usage: .*pipelineModel\.ts \[--warm \| --cold\] \[--write-docs\]/);
        const bad = run("--fast");
        expect(bad.status).to.equal(2);
        expect(bad.stderr).to.include("pipelineModel: unknown option '--fast'");
    });
});
