import * as fs from "fs";
import * as path from "path";
import { parseConfig } from "../config";
import { readStackFile } from "../config/stackFile";
import { WEB_CONTAINER_CHECK } from "../components/app/facts";
import { appRollout, IMAGE_SIZES, PULL_RATES, PullSource, SERVICE_START, STEP_TIMES, StepName, StepTime, WORKER_START } from "../facts/pipelineTimes";
import { SERVICE_HEALTH } from "../facts/rollout";
import { DEPLOY_RUNNER_TAG } from "../components/runner/facts";
import { parseGitlabCi } from "../ci/gitlabYaml";
import { GraphJob, pipelineGraph } from "./pipelineGraph";
import { parseCli, TS_NODE } from "./cli";
import { refreshBlock } from "./docBlocks";

/**
 * The pipeline model: how long a merge request's pipeline takes and how long
 * an app-only commit pushed to main takes to serve in dev, from the job graph
 * of the committed .gitlab-ci.yml (tools/pipelineGraph.ts) and the time of
 * each step (facts/pipelineTimes.ts). Each job is its worker's start, its
 * images' pulls and its steps; jobs run in parallel as far as `needs` lets
 * them. docs/decisions/ci-pipeline.md quotes its figures (`--write-docs` rewrites them;
 * tests/pipelineModel.test.ts holds them equal).
 *
 *   npx ts-node --transpile-only tools/pipelineModel.ts [--warm | --cold] [--write-docs]
 */

const ROOT = path.join(__dirname, "..");

/**
 * One step of a job. `shardOf: N`: the step's time is one copy's of a job split
 * `parallel: N` (the longest copy, measured so): a job split otherwise is an
 * error, since the figure would not be its own.
 */
export type StepRef = StepName | { readonly step: StepName; readonly shardOf: number } | { readonly rollout: "dev" | "prod" };

const PULUMI_SETUP: StepRef[] = ["git clone (full history)", "cache restore: npm", "npm ci (warm cache)", "ts-node: one ci/ program", "pulumi login (S3 backend)"];
/** A Pulumi preview or up: the program's run (as long as the offline plan's) and the engine's own work. */
const pulumiRun = (stack: "dev" | "prod"): StepRef[] => [stack === "dev" ? "offline plan dev" : "offline plan prod", "pulumi engine: plugins, state, AWS reads"];
const preview = (stack: "dev" | "prod"): StepRef[] => [...PULUMI_SETUP, stack === "dev" ? "offline plan dev" : "offline plan prod", ...pulumiRun(stack), "ts-node: one ci/ program", "GitLab API: MR note", "job: upload artifacts, finish"];
const deploy = (stack: "dev" | "prod"): StepRef[] => [
    "tools image check",
    ...PULUMI_SETUP,
    ...pulumiRun(stack),
    "ts-node: one ci/ program", // the admin gate
    "ts-node: one ci/ program", // the ancestry check ...
    "pulumi stack output", // ... reads deployedSha
    "ts-node: one ci/ program", // ECR's credential helper
    "ts-node: one ci/ program", // DEPLOY_DEADLINE
    ...pulumiRun(stack),
    "app image: build from the layer cache",
    "app image: push",
    "ecs: new task definition, update service",
    "ecs: the scheduler places the new task",
    { rollout: stack },
    "ecs: steady state seen",
    "pulumi stack output",
    "job: upload artifacts, finish",
];
const drift = (stack: "dev" | "prod"): StepRef[] => ["tools image check", ...PULUMI_SETUP, ...pulumiRun(stack), "pulumi refresh: read every resource", "job: upload artifacts, finish"];

/**
 * Every job of .gitlab-ci.yml, as its steps. A job the pipeline has and this
 * does not is an error naming it, so the model cannot drift from the file.
 * A job split with `parallel: N` names the step timed for one of its copies: `{ step: ..., shardOf: N }`.
 */
export const JOB_STEPS: Record<string, readonly StepRef[]> = {
    test: [
        "git clone (full history)",
        "cache restore: npm",
        "apt: PostgreSQL, Ruby, Graphviz",
        "npm ci (warm cache)",
        "app venv (warm pip cache)",
        "tsc",
        "eslint",
        "mocha",
        "pytest on PostgreSQL",
        "cache save: npm and pip",
        "job: upload artifacts, finish",
    ],
    // The split test stage, each part on its own worker in the prebuilt test image (issue 21 item 8);
    // mocha's figure is its longest shard's, timed as such.
    "test: types": ["git clone (full history)", "cache restore: npm", "npm ci (warm cache)", "tsc", "eslint", "cache save: npm and pip", "job: upload artifacts, finish"],
    "test: mocha": ["git clone (full history)", "cache restore: npm", "npm ci (warm cache)", { step: "mocha: the longest of 3 shards", shardOf: 3 }, "job: upload artifacts, finish"],
    "test: app": ["git clone (full history)", "cache restore: pip", "app venv (warm pip cache)", "pytest on PostgreSQL", "cache save: npm and pip", "job: upload artifacts, finish"],
    "ci tools image": ["git clone (full history)", "ci image: build and push", "job: upload artifacts, finish"],
    "ci test image": ["git clone (full history)", "ci image: build and push", "job: upload artifacts, finish"],
    "preview dev": preview("dev"),
    "preview prod": ["tools image check", ...preview("prod")],
    "plan prod": ["git clone (full history)", "cache restore: npm", "npm ci (warm cache)", "apt: Graphviz", "offline plan prod", "job: upload artifacts, finish"],
    "deploy dev": deploy("dev"),
    "deploy prod": deploy("prod"),
    "drift dev": drift("dev"),
    "drift prod": drift("prod"),
};

export type Workers = keyof typeof WORKER_START;

/** The two pipelines the issue sets goals for, as GitLab sets their variables, for a commit that changes only app/. */
export const PIPELINES = {
    mr: {
        title: "merge request pipeline",
        goalSeconds: 6 * 60,
        vars: { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main", CI_PROJECT_ID: "1", CI_MERGE_REQUEST_PROJECT_ID: "1", CI_MERGE_REQUEST_SOURCE_PROJECT_ID: "1", CI_COMMIT_REF_PROTECTED: "false" },
        until: undefined,
    },
    push: {
        title: "push to main: serving in dev",
        goalSeconds: 10 * 60,
        vars: { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" },
        until: "deploy dev",
    },
} as const;
export type PipelineName = keyof typeof PIPELINES;
const APP_ONLY_COMMIT = ["app/core/views.py"];

/** A stack's settings, from its Pulumi.<stack>.yaml: read and parsed once per process (the model asks for them per job). */
const settings = new Map<string, ReturnType<typeof parseConfig>>();
function stackSettings(stack: "dev" | "prod"): ReturnType<typeof parseConfig> {
    let s = settings.get(stack);
    if (s === undefined) {
        s = parseConfig(readStackFile(ROOT, stack), stack);
        settings.set(stack, s);
    }
    return s;
}

/** What a stack's app rollout is made of, from its Pulumi.<stack>.yaml and the app's constants. */
export function rolloutInputs(stack: "dev" | "prod") {
    const app = stackSettings(stack).app;
    return { health: SERVICE_HEALTH, container: WEB_CONTAINER_CHECK, deployment: app.deployment, cpuUnits: app.cpu };
}

/** The runner's two fleets: a job tagged DEPLOY_RUNNER_TAG runs on the deploy fleet, every other on the general one. */
export type Fleet = "general" | "deploy";
export type Pools = Readonly<Record<Fleet, number>>;

/** Each fleet's warm workers in working hours: prod's runner.warmPool (the runner lives in prod), none without one. */
export function warmPools(): Pools {
    const runner = stackSettings("prod").runner;
    return runner.enabled && runner.warmPool ? { general: runner.warmPool.idle, deploy: runner.warmPool.deployIdle } : { general: 0, deploy: 0 };
}

export interface ModelOptions {
    /** cold: every job boots its worker; warm: in working hours, general-fleet jobs take the warm pool's workers while it has them. */
    readonly workers: Workers;
    /** The warm pools' sizes (default: prod's runner.warmPool). */
    readonly pools?: Pools;
    /** The app rollout's inputs per stack (default: the program's own). */
    readonly rollout?: (stack: "dev" | "prod") => Parameters<typeof appRollout>[0];
}

export interface TimedStep extends StepTime {
    readonly name: string;
}

export interface TimedJob {
    readonly name: string;
    readonly when: GraphJob["when"];
    readonly needs: string[];
    readonly parallel: number;
    /** The warm pool its first step, the worker's start, may come from (none: it boots one). */
    readonly pool?: Fleet;
    readonly steps: TimedStep[];
    /** Index of the last step before the pipeline's goal is reached (deploy dev: the app serves). */
    readonly stopAfter?: number;
    start: number;
    finish: number;
}

/** Where an image comes from: ECR (by its host, or the runner's `$DOCKER_HUB_MIRROR`, the pull-through cache of Docker Hub), GitLab's registry, else Docker Hub. */
function source(ref: string): PullSource {
    if (/\.dkr\.ecr\.|\$\{?(ECR_|DOCKER_HUB_MIRROR)/.test(ref)) {
        return "ecr";
    }
    return /\$\{?CI_REGISTRY/.test(ref) ? "gitlab registry" : "docker hub";
}

/** The pull of one image: its estimated size at its registry's rate. */
export function pullStep(ref: string): TimedStep {
    const size = IMAGE_SIZES.find((s) => s.match.test(ref));
    if (!size) {
        throw new Error(`pipeline model: no size for the image ${ref} (facts/pipelineTimes.ts IMAGE_SIZES)`);
    }
    const rate = PULL_RATES[source(ref)];
    return { name: `pull ${ref.replace(/@sha256:[0-9a-f]+$/, "")}`, seconds: rate.perImageSeconds + size.mb / rate.mbPerSecond, source: { kind: "estimated", basis: `${size.mb} MB (${size.basis}) from ${source(ref)}: ${rate.basis}` } };
}

/** A service's start, until the runner sees its port. */
export function serviceStart(ref: string): TimedStep {
    const known = SERVICE_START.find((x) => x.match.test(ref));
    if (!known) {
        throw new Error(`pipeline model: no start time for the service ${ref} (facts/pipelineTimes.ts SERVICE_START)`);
    }
    return { name: `service start ${ref.replace(/@sha256:[0-9a-f]+$/, "")}`, seconds: known.seconds, source: { kind: "estimated", basis: known.basis } };
}

function timedJob(job: GraphJob, o: ModelOptions, until?: string): TimedJob {
    const refs = JOB_STEPS[job.name];
    if (!refs) {
        throw new Error(`pipeline model: the job ${JSON.stringify(job.name)} has no steps in tools/pipelineModel.ts JOB_STEPS`);
    }
    const steps: TimedStep[] = [
        { name: "worker start (cold)", ...WORKER_START.cold },
        { name: "runner helper image: pull", ...STEP_TIMES["runner helper image: pull"] },
        ...job.images.map(pullStep),
        ...job.images.slice(1).map(serviceStart),
    ];
    let stopAfter: number | undefined;
    for (const ref of refs) {
        if (typeof ref === "string") {
            steps.push({ name: ref, ...STEP_TIMES[ref] });
        } else if ("shardOf" in ref) {
            if (job.parallel !== ref.shardOf) {
                throw new Error(`pipeline model: ${job.name} runs parallel: ${job.parallel}, but "${ref.step}" was timed for ${ref.shardOf} copies (facts/pipelineTimes.ts): time one copy again`);
            }
            steps.push({ name: ref.step, ...STEP_TIMES[ref.step] });
        } else {
            const r = appRollout((o.rollout ?? rolloutInputs)(ref.rollout));
            if (job.name === until) {
                stopAfter = steps.length + r.serving;
            }
            steps.push(...r.steps);
        }
    }
    const pool: Fleet | undefined = o.workers === "warm" ? (job.tags.includes(DEPLOY_RUNNER_TAG) ? "deploy" : "general") : undefined;
    return { name: job.name, when: job.when, needs: job.needs, parallel: job.parallel, pool, steps, stopAfter, start: 0, finish: 0 };
}

/**
 * The first step of a job that starts at `t` on `copies` workers of a fleet with a warm pool: each
 * copy takes the warm slot that is ready first when waiting for it beats a cold
 * boot, and the autoscaler then boots that slot's replacement (ready a cold
 * start later); otherwise it boots its own. The job waits for its slowest copy.
 */
function workerFromPool(t: number, copies: number, slots: number[]): TimedStep {
    const starts: number[] = [];
    let warm = 0;
    for (let c = 0; c < copies; c++) {
        const i = slots.reduce((best, r, k) => (r < slots[best] ? k : best), 0);
        const viaSlot = slots.length > 0 ? Math.max(0, slots[i] - t) + WORKER_START.warm.seconds : Infinity;
        if (viaSlot < WORKER_START.cold.seconds) {
            starts.push(viaSlot);
            slots[i] = Math.max(t, slots[i]) + WORKER_START.cold.seconds;
            warm++;
        } else {
            starts.push(WORKER_START.cold.seconds);
        }
    }
    const seconds = Math.max(...starts);
    const basis = `${warm} of ${copies} from the warm pool of ${slots.length} (${WORKER_START.warm.seconds} s, or the wait for a slot's replacement), the rest booted (${WORKER_START.cold.seconds} s)`;
    return { name: `worker start (${warm === copies ? "warm" : warm === 0 ? "cold" : `${warm} of ${copies} warm`})`, seconds, source: { kind: "estimated", basis } };
}

/**
 * Start and finish of every job: a job starts when the last job it needs has
 * finished, in the order they become ready, so that each fleet's warm
 * workers (`pools`) go to the jobs that ask first.
 */
export function schedule(jobs: TimedJob[], pools: Partial<Pools> = {}): TimedJob[] {
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const slots: Record<Fleet, number[]> = { general: Array.from({ length: pools.general ?? 0 }, () => 0), deploy: Array.from({ length: pools.deploy ?? 0 }, () => 0) };
    const done = new Set<string>();
    const readyAt = (j: TimedJob) => Math.max(0, ...j.needs.map((n) => byName.get(n)!.finish));
    while (done.size < jobs.length) {
        const ready = jobs.filter((j) => !done.has(j.name) && j.needs.every((n) => done.has(n)));
        if (ready.length === 0) {
            throw new Error(`pipeline model: needs cycle among ${jobs.filter((j) => !done.has(j.name)).map((j) => j.name).join(", ")}`);
        }
        const j = ready.reduce((a, b) => (readyAt(b) < readyAt(a) ? b : a));
        j.start = readyAt(j);
        if (j.pool) {
            j.steps[0] = workerFromPool(j.start, j.parallel, slots[j.pool]);
        }
        const counted = j.stopAfter === undefined ? j.steps : j.steps.slice(0, j.stopAfter + 1);
        j.finish = j.start + counted.reduce((sum, x) => sum + x.seconds, 0);
        done.add(j.name);
    }
    return jobs;
}

/** The jobs that decide when `last` finishes: back from it, each through the need that finished last. */
export function criticalPath(jobs: readonly TimedJob[], last: TimedJob): string[] {
    const path: string[] = [];
    for (let j: TimedJob | undefined = last; j; ) {
        path.unshift(j.name);
        const { start, needs }: { start: number; needs: string[] } = j;
        j = jobs.find((d) => needs.includes(d.name) && d.finish === start);
    }
    return path;
}

export interface PipelineResult {
    readonly pipeline: PipelineName;
    readonly workers: Workers;
    readonly jobs: TimedJob[];
    readonly totalSeconds: number;
    /** The jobs the total runs through, first to last. */
    readonly criticalPath: string[];
}

/** The image records the pipeline's rules read: a record of the tools and test images, and the deploys' dind pinned. */
const RECORDS = ["CI_TOOLS_IMAGE", "CI_TEST_IMAGE", "DIND_IMAGE"] as const;

/**
 * The pipeline as it runs once set up (docs/decisions/ci-images.md): a stand-in
 * digest for each record .gitlab-ci.yml does not have yet; before, no deploy
 * exists and the tests install their packages. A record it has is kept.
 */
export function recordedVars(ciText: string): Record<string, string> {
    const top = (parseGitlabCi(ciText).variables ?? {}) as Record<string, unknown>;
    const unrecorded = RECORDS.filter((name) => !/@sha256:[0-9a-f]{64}$/.test(String(top[name] ?? "")));
    return Object.fromEntries(unrecorded.map((name) => [name, `${String(top[name] ?? name)}@sha256:${"0".repeat(64)}`]));
}

/** The jobs that run by themselves (manual ones wait for a person and are not in the total). */
export function model(ciText: string, pipeline: PipelineName, o: ModelOptions): PipelineResult {
    const p = PIPELINES[pipeline];
    const graph = pipelineGraph(ciText, { vars: { ...recordedVars(ciText), ...p.vars }, changed: APP_ONLY_COMMIT });
    const auto = graph.filter((j) => j.when === "on_success");
    const jobs = schedule(
        auto.map((j) => timedJob(j, o, p.until)),
        o.workers === "warm" ? (o.pools ?? warmPools()) : {},
    );
    graph.filter((j) => j.when === "manual").forEach((j) => timedJob(j, o)); // unknown manual jobs fail too
    const last = p.until ? jobs.find((j) => j.name === p.until) : [...jobs].sort((a, b) => b.finish - a.finish)[0];
    if (!last) {
        throw new Error(`pipeline model: the ${p.title} has no job ${p.until}`);
    }
    return { pipeline, workers: o.workers, jobs, totalSeconds: last.finish, criticalPath: criticalPath(jobs, last) };
}

export const minutes = (s: number) => `${Math.floor(Math.round(s) / 60)} min ${String(Math.round(s) % 60).padStart(2, "0")} s`;

const sourceText = (t: StepTime) => (t.source.kind === "measured" ? `${t.source.command}, ${t.source.date}` : t.source.kind === "derived" ? t.source.from : t.source.basis);

/** One pipeline's jobs and steps, as text, then where each step's time comes from. */
export function report(r: PipelineResult): string {
    const p = PIPELINES[r.pipeline];
    const lines = [`${p.title} (${r.workers} workers): ${minutes(r.totalSeconds)} against a goal of ${minutes(p.goalSeconds)}; critical path: ${r.criticalPath.join(" -> ")}`];
    const sources = new Map<string, string>();
    for (const j of r.jobs) {
        lines.push(`  ${j.name}${j.parallel > 1 ? ` (parallel ${j.parallel})` : ""}: ${minutes(j.start)} -> ${minutes(j.finish)}${j.needs.length > 0 ? `, after ${j.needs.join(", ")}` : ""}`);
        j.steps.forEach((s, i) => {
            const cut = j.stopAfter !== undefined && i > j.stopAfter ? ", after the goal" : "";
            lines.push(`    ${s.seconds.toFixed(1).padStart(6)} s  ${s.name} (${s.source.kind}${cut})`);
            sources.set(s.name, `${s.source.kind}: ${sourceText(s)}`);
        });
    }
    lines.push("  sources:", ...[...sources].map(([name, text]) => `    ${name}: ${text}`));
    return lines.join("\n");
}

export const DOC_MARKERS = ["<!-- pipeline-model: generated by tools/pipelineModel.ts --write-docs -->", "<!-- /pipeline-model -->"] as const;

/** The design note that quotes the model, and its block's name (tools/docBlocks.ts). */
export const DOC_FILE = "docs/decisions/ci-pipeline.md";
export const DOC_BLOCK = "pipeline-model";

/** The design note's table: both pipelines, fresh workers and the warm pools, against the goals, each with its critical path. */
export function docTable(ciText: string): string {
    const pools = warmPools();
    const rows = (Object.keys(PIPELINES) as PipelineName[]).map((name) => {
        const [cold, warm] = (["cold", "warm"] as const).map((workers) => model(ciText, name, { workers, pools }));
        const cell = (r: PipelineResult) => `${minutes(r.totalSeconds)}${r.totalSeconds <= PIPELINES[name].goalSeconds ? "" : " (over)"}: ${r.criticalPath.join(" → ")}`;
        return `| ${PIPELINES[name].title} | ${minutes(PIPELINES[name].goalSeconds)} | ${cell(cold)} | ${cell(warm)} |`;
    });
    return [
        `| pipeline (an app-only commit; the tools and test images recorded, the deploys' dind pinned) | goal | fresh workers: time, critical path | warm pools (working hours: ${pools.general} general, ${pools.deploy} deploy): time, critical path |`,
        "| --- | --- | --- | --- |",
        ...rows,
    ].join("\n");
}

const HELP = `usage: ${TS_NODE} tools/pipelineModel.ts [--warm | --cold] [--write-docs]

Models the merge-request pipeline and the push to main of an app-only commit
(until it serves in dev) from .gitlab-ci.yml's jobs and facts/pipelineTimes.ts.
  --cold          fresh EC2 workers for every job (no warm pool)
  --warm          general-fleet jobs take the warm pool's workers (prod's
                  runner.warmPool.idle) while it has them; deploys boot theirs
  (neither: both)
  --write-docs    rewrite the table between the pipeline-model markers of
                  docs/decisions/ci-pipeline.md`;

function main(argv: string[]): number {
    const { values } = parseCli({ name: "pipelineModel", usage: HELP, options: { warm: { type: "boolean" }, cold: { type: "boolean" }, "write-docs": { type: "boolean" } } }, argv);
    const ciText = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
    if (values["write-docs"]) {
        refreshBlock(path.join(ROOT, DOC_FILE), DOC_BLOCK, docTable(ciText));
    }
    const workers: Workers[] = values.warm ? ["warm"] : values.cold ? ["cold"] : ["cold", "warm"];
    for (const w of workers) {
        for (const name of Object.keys(PIPELINES) as PipelineName[]) {
            console.log(`${report(model(ciText, name, { workers: w }))}\n`);
        }
    }
    console.log(docTable(ciText));
    return 0;
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (e) {
        console.error(e instanceof Error ? e.message : String(e));
        process.exitCode = 1;
    }
}
