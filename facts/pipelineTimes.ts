import { containerWindowSeconds, ContainerCheckTiming, HealthTiming, rolloutFloorSeconds } from "./rollout";

/**
 * How long each step of the GitLab pipeline takes, for the pipeline model
 * (tools/pipelineModel.ts, docs/decisions/ci-pipeline.md). Every
 * figure says where it comes from:
 *   measured   timed on this machine (2 cores), with the command and the date;
 *   derived    computed from the program's own numbers (appRollout below);
 *   estimated  what no machine here can time (EC2, Fargate, registries, Docker
 *              builds: no AWS account, no registry, no Docker daemon), with the basis.
 * The test steps (npm ci, the venv, tsc, eslint, mocha, pytest, the plans)
 * were timed on a quiet machine (load average 0.6-2.2 on its 2 cores, about
 * a CI worker's 2 vCPUs): the wall time of one run, with /usr/bin/time. The
 * rest were timed earlier while it was shared (load 7-10): the least, over one
 * to three runs, of the wall time and the CPU time (user + sys).
 */

export type TimeSource =
    | { readonly kind: "measured"; readonly command: string; readonly date: string }
    | { readonly kind: "derived"; readonly from: string }
    | { readonly kind: "estimated"; readonly basis: string };

export interface StepTime {
    readonly seconds: number;
    readonly source: TimeSource;
}

const DATE = "2026-12-07";
const measured = (seconds: number, command: string): StepTime => ({ seconds, source: { kind: "measured", command, date: DATE } });
const estimated = (seconds: number, basis: string): StepTime => ({ seconds, source: { kind: "estimated", basis } });

/** The steps jobs are made of (tools/pipelineModel.ts maps each job to its steps). */
export const STEP_TIMES = {
    "git clone (full history)": measured(0.9, "git clone file:///<repository> (GIT_DEPTH 0; the pack is 1.3 MB, so the network adds little)"),
    "runner helper image: pull": estimated(4, "gitlab-runner-helper (Alpine, ~35 MB compressed) from registry.gitlab.com, on every job: each worker is fresh (max_use_count 1) and has nothing cached"),
    "cache restore: pip": estimated(4, "the pip cache of app/requirements-dev.txt's wheels, ~60 MB, from S3"),
    "cache restore: npm": estimated(10, "the npm cache is 143 MB here (du ~/.npm/_cacache); S3 download at ~100 MB/s plus unzipping many small files"),
    "cache save: npm and pip": estimated(5, "the runner re-uploads a cache only when its files changed; a lock-file change uploads ~200 MB"),
    "apt: PostgreSQL, Ruby, Graphviz": estimated(150, "apt-get update and install of postgresql, ruby, graphviz and their libraries into node:20-bookworm (~120 MB of packages through the NAT, then unpacking and PostgreSQL's cluster setup); issue 21 item 9's 12-13 min test job"),
    "apt: Graphviz": estimated(40, "apt-get update and install of graphviz (~25 MB of packages) into node:20-bookworm"),
    "npm ci (warm cache)": measured(11.5, "npm ci --no-audit --no-fund --prefer-offline --loglevel=error from a warm cache, package.json and the lock in a scratch directory"),
    "app venv (warm pip cache)": measured(19.3, "python3 -m venv app/.venv && pip install --require-hashes --no-deps -r app/requirements-dev.txt from a warm pip cache"),
    tsc: measured(8.5, "npx tsc --noEmit -p ."),
    eslint: measured(9.3, "npx eslint ."),
    mocha: measured(134.4, "npx mocha --reporter json: every spec, serially (789 tests; mocha's own duration)"),
    // Not a third of the serial run: each shard loads ts-node and the program and runs the stacks its files use,
    // and the shard with the tool runs (tests/tools.test.ts, processes in parallel) takes longest. 4 shards
    // measured 63 / 101 / 47 / 62 s: the same shape, a fourth worker for 12 s.
    "mocha: the longest of 3 shards": measured(113.4, "npx mocha --config <shard's config> --reporter dot --forbid-only for each shard of ci/mochaShard.ts <i> 3 in turn (79 / 87 / 113 s), the longest"),
    "pytest on PostgreSQL": measured(76.1, "bash app/scripts/with-postgres.sh bash app/scripts/test.sh -q (225 tests, with starting and stopping its own PostgreSQL, which the pipeline's service does before the job)"),
    "offline plan dev": measured(5.0, "npm run --silent plan -- dev --out <dir>"),
    "offline plan prod": measured(5.0, "npm run --silent plan -- prod --out <dir>"),
    "ts-node: one ci/ program": measured(0.3, "node_modules/.bin/ts-node --transpile-only ci/deployDeadline.ts"),
    "tools image check": estimated(1, ".ci/tools-image-check.sh compares two strings"),
    "pulumi login (S3 backend)": estimated(2, "one S3 list call"),
    "pulumi engine: plugins, state, AWS reads": estimated(60, "on top of the program's own run (the offline plan, transpiled only as the jobs run it: PULUMI_NODEJS_TRANSPILE_ONLY): starting the provider plugins (the AWS one is a ~500 MB binary), reading and decrypting the state from S3/KMS, the program's AWS lookups; with the program about 65 s, the low end of docs/decisions/ci-pipeline.md's 1-3 min for a preview"),
    "pulumi stack output": estimated(3, "reads and decrypts the state (S3, KMS)"),
    "GitLab API: MR note": estimated(2, "two GitLab API calls"),
    "app image: build from the layer cache": estimated(60, "buildx with --cache-from the previous tag in ECR: fetching the cache manifest and the base layers it reuses, then only `COPY . /app/` and collectstatic rerun for an app-only commit"),
    "app image: push": estimated(10, "the changed layers (the app's code, its static files: a few MB) and the manifest to ECR in-region"),
    "ecs: new task definition, update service": estimated(3, "RegisterTaskDefinition + UpdateService"),
    "ecs: the scheduler places the new task": estimated(10, "from UpdateService to the deployment's first task being provisioned: ECS's scheduler acts on the new deployment within seconds"),
    "ecs: steady state seen": estimated(10, "the provider's waitForSteadyState polls DescribeServices; half a poll on average after ECS completes the deployment"),
    "ci image: build and push": estimated(120, "docs/decisions/ci-pipeline.md: a build of ci/Dockerfile, about 2 min (Docker-in-Docker, base image and plugins downloaded)"),
    "pulumi refresh: read every resource": estimated(90, "one AWS read per resource (some 400 in prod); docs/decisions/ci-pipeline.md: 1-3 min"),
    "job: upload artifacts, finish": estimated(5, "the runner's upload of reports or dotenv and its teardown"),
} satisfies Record<string, StepTime>;

export type StepName = keyof typeof STEP_TIMES;

/** A worker for the job: a fresh EC2 instance (max_use_count 1, no idle capacity), or one waiting in the warm pool. */
export const WORKER_START = {
    cold: estimated(75, "ASG scale-out by the docker-autoscaler's fleeting plugin, EC2 pending to running and the OS boot (~26-30 s to SSH: daemonology.net 2021 EC2 boot-time benchmark; brevdev ec2-coldboot-research), the ECS-optimised AMI's Docker daemon, the plugin connecting, and the manager's next poll"),
    warm: estimated(5, "an idle instance is taken on the manager's next check (check_interval 3 s) and connected to"),
} as const;

export type PullSource = "docker hub" | "gitlab registry" | "ecr";

/** Pull rate (compressed MB/s, download and unpack together: a 2-vCPU worker unpacks gzip slower than the network brings it) and the fixed cost per image (auth, manifest). */
export const PULL_RATES: Record<PullSource, { readonly mbPerSecond: number; readonly perImageSeconds: number; readonly basis: string }> = {
    "docker hub": { mbPerSecond: 30, perImageSeconds: 3, basis: "anonymously from Docker Hub through the NAT gateway: token, manifest, layers from its CDN; unpacking bounds the rate" },
    "gitlab registry": { mbPerSecond: 35, perImageSeconds: 2, basis: "GitLab's registry in the same VPC, blobs from S3" },
    ecr: { mbPerSecond: 40, perImageSeconds: 1, basis: "ECR in-region (a pull-through cache of Docker Hub too); unpacking bounds the rate" },
};

/**
 * The compressed size of each image a job pulls, matched on the reference as
 * .gitlab-ci.yml writes it (variables expanded). No registry is reachable
 * here to read the manifests: estimated from the images' published sizes.
 */
export const IMAGE_SIZES: readonly { readonly match: RegExp; readonly mb: number; readonly basis: string }[] = [
    { match: /(^|\/)node:20[\w.]*-bookworm(@|$)/, mb: 400, basis: "node:<version>-bookworm: ~1.1 GB unpacked (iximiuz Labs, Node.js image comparison), ~0.4 GB compressed" },
    { match: /(^|\/)postgres:17[\w.]*-bookworm(@|$)/, mb: 150, basis: "postgres:17-bookworm: ~0.43 GB unpacked, ~0.15 GB compressed" },
    { match: /(^|\/)docker:27[\w.]*-dind(@|$)/, mb: 130, basis: "docker:27-dind: Alpine, dockerd, containerd, the CLI and plugins" },
    { match: /(^|\/)docker:27[\w.]*(@|$)/, mb: 75, basis: "docker:27: Alpine, the CLI, buildx and compose" },
    { match: /\/ci-test(\/mr)?:/, mb: 520, basis: "node:20-bookworm (~0.4 GB compressed) plus PostgreSQL, Ruby and Graphviz (~0.12 GB of packages)" },
    { match: /\/ci-tools(\/mr)?:/, mb: 800, basis: "pulumi/pulumi-nodejs-22 (~0.35 GB compressed) plus the six provider plugins (docs/decisions/ci-pipeline.md: some 400 MB) and Graphviz" },
];

/** A job's service container starting before its script may run: the runner waits for the service's port. Matched on the image reference. */
export const SERVICE_START: readonly { readonly match: RegExp; readonly seconds: number; readonly basis: string }[] = [
    { match: /(^|\/)docker:[\w.]*-dind(@|$)/, seconds: 10, basis: "dockerd starts and, with DOCKER_TLS_CERTDIR, generates its CA, server and client certificates before it listens on 2376" },
    { match: /(^|\/)postgres:/, seconds: 5, basis: "the official image's initdb of an empty cluster and its restart before it listens on 5432" },
];

/** What the app's rollout in a stack is made of, from the program's own settings. */
export interface AppRolloutInputs {
    /** The target group's checks and deregistration delay (facts/rollout.ts SERVICE_HEALTH). */
    readonly health: HealthTiming;
    /** The web container's health check (components/app/facts.ts WEB_CONTAINER_CHECK). */
    readonly container: ContainerCheckTiming;
    /** The stack's `app.deployment`. */
    readonly deployment: { readonly strategy: string; readonly bakeTimeMinutes: number; readonly canaryBakeTimeMinutes: number };
    /** The stack's `app.cpu` (CPU units): the task's share of a vCPU slows its Python start-up. */
    readonly cpuUnits: number;
}

/** Fargate's own part, which nothing here can time. */
export const FARGATE_TASK_START = estimated(40, "placement, the task's ENI in a private subnet and the pull of the app image (~0.15 GB, python:3.11-slim + the venv) from ECR; AWS: Fargate caches no image, the pull's time is the task's start time");
/** Django's start-up on this machine's one core, which the task's share of a vCPU stretches. */
export const DJANGO_START = {
    migrate: measured(0.7, "app/.venv/bin/python manage.py migrate_locked --no-input, nothing pending, on PostgreSQL"),
    web: measured(2.1, "PORT=<port> WEB_CONCURRENCY=2 app/.venv/bin/gunicorn --config gunicorn.conf.py until GET /healthz answers 200 (wall time only)"),
};

export interface RolloutStep extends StepTime {
    readonly name: string;
}

const derived = (name: string, seconds: number, from: string): RolloutStep => ({ name, seconds, source: { kind: "derived", from } });

/** The first check at or after `ready`, on checks every `interval` from the container's start (the first one an interval in). */
const firstPassAt = (ready: number, interval: number) => Math.max(1, Math.ceil(ready / interval)) * interval;

/**
 * The app service's rollout in a stack: a new task starts, migrates, serves
 * once both the container check and the target group see it healthy, then
 * the old task drains and the strategy's bake times run; `serving` is the
 * index of the step after which the new code answers.
 */
export function appRollout(p: AppRolloutInputs): { steps: RolloutStep[]; serving: number } {
    const slow = 1024 / p.cpuUnits;
    const migrate = DJANGO_START.migrate.seconds * slow;
    const ready = DJANGO_START.web.seconds * slow;
    if (ready > containerWindowSeconds(p.container)) {
        throw new Error(`the web container is ready after ${ready.toFixed(0)} s, beyond its health check's window of ${containerWindowSeconds(p.container)} s: ECS would stop it`);
    }
    const h = p.health;
    // Docker runs the container check every interval from the start (passing inside the start period
    // counts); the ALB checks the registered target every interval and wants healthyThreshold passes.
    const containerHealthy = firstPassAt(ready, p.container.interval);
    const targetHealthy = firstPassAt(ready, h.intervalSeconds) + (h.healthyThreshold - 1) * h.intervalSeconds;
    const after = rolloutFloorSeconds(h, p.deployment) - h.intervalSeconds * h.healthyThreshold;
    const steps: RolloutStep[] = [
        { name: "app: Fargate task start", ...FARGATE_TASK_START },
        derived("app: migrate container", migrate, `measured ${DJANGO_START.migrate.seconds} s × 1024 / ${p.cpuUnits} CPU units`),
        derived("app: web container ready", ready, `measured ${DJANGO_START.web.seconds} s × 1024 / ${p.cpuUnits} CPU units`),
        derived(
            "app: new task healthy",
            Math.max(containerHealthy, targetHealthy) - ready,
            `container check every ${p.container.interval} s (start period ${p.container.startPeriod} s); target group every ${h.intervalSeconds} s × ${h.healthyThreshold} healthy`,
        ),
        derived("app: old task drained, bake", after, `deregistration delay ${h.deregistrationDelaySeconds} s + ${p.deployment.strategy} bake times`),
    ];
    return { steps, serving: 3 };
}
