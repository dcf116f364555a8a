import * as fs from "fs";
import * as path from "path";
import { parseGitlabCi } from "../ci/gitlabYaml";
import { parseCli, TS_NODE } from "./cli";

/**
 * Whether each image digest recorded in .gitlab-ci.yml (CI_TOOLS_IMAGE,
 * CI_TEST_IMAGE) is one a protected default-branch build printed
 * (docs/decisions/ci-images.md). Any pipeline's CI_JOB_TOKEN can push a tag
 * of the recorded shape, `<name>:<version>-<commit>-<job>`, and a
 * reviewer cannot judge a digest by reading it; GitLab can say which job
 * built it. For each record with a digest, the job named in its tag must be
 * the building job (`ci tools image` / `ci test image`), have succeeded, on
 * the default branch (not a tag), at the tag's commit, in a `push` pipeline
 * of that branch, the branch protected; and its artifact (`<name>-image.txt`,
 * written by .ci/tools-image.sh) must hold exactly the recorded line.
 *
 *   GITLAB_API_URL=https://gitlab.example.com/api/v4 GITLAB_PROJECT=platform/infrastructure \
 *   GITLAB_API_TOKEN=glpat-… node_modules/.bin/ts-node --transpile-only tools/verifyImageRecord.ts [.gitlab-ci.yml]
 *
 * In CI: CI_API_V4_URL and CI_PROJECT_ID stand in for the first two;
 * CI_DEFAULT_BRANCH (default `main`). A Reporter's token (read_api) reads
 * jobs, pipelines, branches and artifacts. Exit 0: every digest traced (or
 * none recorded); 1: one line per problem; 2: usage.
 */

export interface ImageRecordKind {
    /** The .gitlab-ci.yml variable holding the record. */
    readonly variable: string;
    /** The registry image under $CI_REGISTRY_IMAGE, and .ci/tools-image.sh's second argument. */
    readonly image: string;
    /** The job that builds it on the protected default branch. */
    readonly job: string;
    /** The file .ci/tools-image.sh writes the line to record into, the job's artifact. */
    readonly artifact: string;
}

export const RECORDS: readonly ImageRecordKind[] = [
    { variable: "CI_TOOLS_IMAGE", image: "ci-tools", job: "ci tools image", artifact: "ci-tools-image.txt" },
    { variable: "CI_TEST_IMAGE", image: "ci-test", job: "ci test image", artifact: "ci-test-image.txt" },
];

export const USAGE = [
    `usage: ${TS_NODE} tools/verifyImageRecord.ts [<.gitlab-ci.yml>]`,
    "  GITLAB_API_TOKEN     a token that reads the project's jobs and artifacts (Reporter, read_api)",
    "  GITLAB_API_URL       https://<host>/api/v4 (or CI_API_V4_URL)",
    "  GITLAB_PROJECT       the project's id or path (or CI_PROJECT_ID)",
    "  CI_DEFAULT_BRANCH    the protected default branch (default: main)",
].join("\n");

export class UsageError extends Error {}

export interface VerifyInput {
    readonly apiUrl: string;
    readonly project: string;
    readonly token: string;
    readonly defaultBranch: string;
}

export function readInput(env: NodeJS.ProcessEnv): VerifyInput {
    const pick = (...names: string[]) => names.map((n) => env[n]?.trim()).find((v) => v) ?? "";
    const input = {
        apiUrl: pick("GITLAB_API_URL", "CI_API_V4_URL").replace(/\/+$/, ""),
        project: pick("GITLAB_PROJECT", "CI_PROJECT_ID"),
        token: pick("GITLAB_API_TOKEN"),
        defaultBranch: pick("CI_DEFAULT_BRANCH") || "main",
    };
    const missing = [
        ["GITLAB_API_TOKEN", input.token],
        ["GITLAB_API_URL or CI_API_V4_URL", input.apiUrl],
        ["CI_PROJECT_ID or GITLAB_PROJECT", input.project],
    ].filter(([, v]) => !v);
    if (missing.length > 0) {
        throw new UsageError(`missing ${missing.map(([n]) => n).join(", ")}`);
    }
    if (!/^https?:\/\/[^/]+/.test(input.apiUrl)) {
        throw new UsageError(`GITLAB_API_URL ${JSON.stringify(input.apiUrl)} is not an http(s) URL`);
    }
    return input;
}

/** The record as written: its whole line (trimmed) and the image reference after the optional anchor. */
export type FoundRecord = { line: string; ref: string } | { problem: string };

/** The one `<VARIABLE>: [&anchor] <ref>` line of the file, cross-checked against the YAML's top-level variables. */
export function findRecord(ciText: string, variable: string): FoundRecord {
    const lines = ciText.split("\n").filter((l) => new RegExp(`^\\s*${variable}:(\\s|$)`).test(l));
    if (lines.length !== 1) {
        return { problem: `${lines.length === 0 ? "no" : lines.length} \`${variable}:\` line${lines.length === 0 ? "" : "s"} in .gitlab-ci.yml (expected exactly one, in the top-level variables)` };
    }
    const line = lines[0].trim();
    const ref = line.slice(variable.length + 1).trim().replace(/^&[A-Za-z0-9_-]+\s+/, "");
    const variables = (parseGitlabCi(ciText).variables ?? {}) as Record<string, unknown>;
    if (variables[variable] !== ref) {
        return { problem: `the \`${variable}:\` line (${JSON.stringify(ref)}) is not the top-level variable's value (${JSON.stringify(variables[variable])})` };
    }
    return { line, ref };
}

export type ParsedRef =
    | { kind: "no-digest" }
    | { kind: "bad"; reason: string }
    | { kind: "digest"; version: string; commit: string; jobId: number; digest: string };

/** `$CI_REGISTRY_IMAGE/<image>:<version>-<commit>-<job id>@sha256:<64 hex>`, the shape .ci/tools-image.sh prints. */
export function parseImageRef(ref: string, image: string): ParsedRef {
    if (!ref.includes("@")) {
        return { kind: "no-digest" };
    }
    const m = /^\$CI_REGISTRY_IMAGE\/([a-z0-9-]+):(.+)-([0-9a-f]{7,40})-([1-9]\d*)@(sha256:[0-9a-f]{64})$/.exec(ref);
    if (!m) {
        return { kind: "bad", reason: `${JSON.stringify(ref)} is not $CI_REGISTRY_IMAGE/${image}:<version>-<commit>-<job id>@sha256:<64 hex>` };
    }
    if (m[1] !== image) {
        return { kind: "bad", reason: `records image ${m[1]}, not ${image}` };
    }
    const jobId = Number(m[4]);
    if (!Number.isSafeInteger(jobId)) {
        return { kind: "bad", reason: `job id ${m[4]} is not a job id` };
    }
    return { kind: "digest", version: m[2], commit: m[3], jobId, digest: m[5] };
}

/** The fields of GitLab's answers this relies on (GET /projects/:id/jobs/:job_id, /pipelines/:id, /repository/branches/:name). */
export interface JobFacts {
    name?: unknown;
    status?: unknown;
    ref?: unknown;
    tag?: unknown;
    commit?: { id?: unknown } | null;
    pipeline?: { id?: unknown; source?: unknown; protected?: unknown } | null;
    protected?: unknown;
}
export interface PipelineFacts {
    source?: unknown;
    ref?: unknown;
    tag?: unknown;
    sha?: unknown;
    protected?: unknown;
}

/** What makes the job not the protected default-branch build of this record, one phrase each. */
export function jobProblems(kind: ImageRecordKind, commit: string, defaultBranch: string, job: JobFacts, pipeline: PipelineFacts, branchProtected: unknown): string[] {
    const got = (v: unknown) => (v === undefined ? "absent" : JSON.stringify(v));
    const problems: string[] = [];
    const want = (ok: boolean, what: string) => void (ok || problems.push(what));
    want(job.name === kind.job, `job name is ${got(job.name)}, not "${kind.job}"`);
    want(job.status === "success", `job status is ${got(job.status)}, not "success"`);
    want(job.ref === defaultBranch, `job ref is ${got(job.ref)}, not the default branch "${defaultBranch}"`);
    want(job.tag === false, `job tag is ${got(job.tag)}, not false (a branch, not a tag of that name)`);
    const sha = job.commit?.id;
    want(typeof sha === "string" && sha.startsWith(commit), `job commit is ${got(sha)}, not the tag's ${commit}`);
    want(pipeline.source === "push", `pipeline source is ${got(pipeline.source)}, not "push"`);
    want(pipeline.ref === defaultBranch, `pipeline ref is ${got(pipeline.ref)}, not "${defaultBranch}"`);
    want(pipeline.tag !== true, "pipeline is a tag pipeline");
    // Neither answer carries `protected` today; if a GitLab version adds it, it must agree.
    for (const [what, v] of [["job", job.protected], ["job's pipeline", job.pipeline?.protected], ["pipeline", pipeline.protected]] as const) {
        want(v === undefined || v === true, `${what} protected is ${got(v)}`);
    }
    want(branchProtected === true, `branch "${defaultBranch}" protected is ${got(branchProtected)}, not true`);
    return problems;
}

/** The artifact against the recorded line, surrounding whitespace aside. */
export function artifactProblem(recordedLine: string, artifact: string): string | undefined {
    const text = artifact.trim();
    return text === recordedLine.trim() ? undefined : `artifact holds ${JSON.stringify(text.slice(0, 300))}, not the recorded line ${JSON.stringify(recordedLine.trim())}`;
}

export class HttpError extends Error {
    constructor(
        message: string,
        readonly status: number,
    ) {
        super(message);
    }
}

export interface GitLabReader {
    json(apiPath: string): Promise<Record<string, unknown>>;
    text(apiPath: string): Promise<string>;
}

/**
 * GET under the API with PRIVATE-TOKEN. Redirects (an artifact may be served
 * from object storage) are followed by hand: the token goes to the API's own
 * origin only.
 */
export function gitlabReader(input: VerifyInput, http: typeof fetch = fetch): GitLabReader {
    const origin = new URL(input.apiUrl).origin;
    const get = async (apiPath: string): Promise<Response> => {
        let url = `${input.apiUrl}${apiPath}`;
        for (let hop = 0; hop < 5; hop++) {
            const headers: Record<string, string> = new URL(url).origin === origin ? { "PRIVATE-TOKEN": input.token } : {};
            const r = await http(url, { headers, redirect: "manual" });
            const location = r.headers.get("location");
            if (r.status >= 300 && r.status < 400 && location) {
                url = new URL(location, url).toString();
                continue;
            }
            if (r.status !== 200) {
                throw new HttpError(`GET ${apiPath}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`, r.status);
            }
            return r;
        }
        throw new Error(`GET ${apiPath}: too many redirects`);
    };
    return {
        json: async (p) => (await (await get(p)).json()) as Record<string, unknown>,
        text: async (p) => (await get(p)).text(),
    };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** One record against GitLab: the problems found (empty: traced to a protected default-branch build). */
export async function verifyDigest(kind: ImageRecordKind, line: string, commit: string, jobId: number, input: VerifyInput, api: GitLabReader): Promise<string[]> {
    const project = `/projects/${encodeURIComponent(input.project)}`;
    let job: JobFacts;
    try {
        job = (await api.json(`${project}/jobs/${jobId}`)) as JobFacts;
    } catch (e) {
        const gone = e instanceof HttpError && e.status === 404;
        return [gone ? "no such job in this project (GitLab answers 404)" : message(e)];
    }
    const pipelineId = job.pipeline?.id;
    if (typeof pipelineId !== "number") {
        return [`the job's answer names no pipeline (pipeline.id is ${JSON.stringify(pipelineId)})`];
    }
    let pipeline: PipelineFacts;
    let branchProtected: unknown;
    try {
        pipeline = (await api.json(`${project}/pipelines/${pipelineId}`)) as PipelineFacts;
        branchProtected = (await api.json(`${project}/repository/branches/${encodeURIComponent(input.defaultBranch)}`)).protected;
    } catch (e) {
        return [message(e)];
    }
    const problems = jobProblems(kind, commit, input.defaultBranch, job, pipeline, branchProtected);
    if (problems.length > 0) {
        // Another job's artifact proves nothing: no need to read it.
        return problems;
    }
    try {
        const found = artifactProblem(line, await api.text(`${project}/jobs/${jobId}/artifacts/${kind.artifact}`));
        return found ? [found] : [];
    } catch (e) {
        return [e instanceof HttpError && e.status === 404 ? `no artifact ${kind.artifact} (expired, erased, or never written)` : message(e)];
    }
}

export interface VerifyResult {
    /** What was found, one line per record. */
    readonly notes: string[];
    /** `<VARIABLE> (job <id>): <what differs>`, one line per problem. */
    readonly problems: string[];
}

/**
 * The anchors through which jobs run the recorded images and the image-building
 * ones. YAML lets a later `&name` redefine an anchor and an alias takes the
 * latest: a second definition would leave the variable (what the rules and this
 * tool read) traced while the jobs run another image.
 */
export const IMAGE_ANCHORS = ["ci-tools-image", "ci-test-image", "docker-image", "dind-image"] as const;

/** One problem per anchor not defined exactly once in the file. */
export function anchorProblems(ciText: string, anchors: readonly string[] = IMAGE_ANCHORS): string[] {
    return anchors
        .map((a) => [a, (ciText.match(new RegExp(`&${a}(?![\\w-])`, "g")) ?? []).length] as const)
        .filter(([, n]) => n !== 1)
        .map(([a, n]) => `&${a}: defined ${n} times in .gitlab-ci.yml (exactly once: a later definition would give the jobs another image than the variable names)`);
}

/** Every record of the file: the digests traced, the records without one noted; and the anchors defined once. */
export async function verifyRecords(ciText: string, input: VerifyInput, api: GitLabReader, kinds: readonly ImageRecordKind[] = RECORDS): Promise<VerifyResult> {
    const notes: string[] = [];
    const problems: string[] = anchorProblems(ciText);
    for (const kind of kinds) {
        const found = findRecord(ciText, kind.variable);
        if ("problem" in found) {
            problems.push(`${kind.variable}: ${found.problem}`);
            continue;
        }
        const ref = parseImageRef(found.ref, kind.image);
        if (ref.kind === "no-digest") {
            notes.push(`${kind.variable}: no digest recorded (${found.ref}): nothing to verify`);
        } else if (ref.kind === "bad") {
            problems.push(`${kind.variable}: ${ref.reason}`);
        } else {
            const traced = await verifyDigest(kind, found.line, ref.commit, ref.jobId, input, api);
            problems.push(...traced.map((p) => `${kind.variable} (job ${ref.jobId}): ${p}`));
            if (traced.length === 0) {
                notes.push(`${kind.variable}: ${ref.digest} printed by job ${ref.jobId} ("${kind.job}", ${input.defaultBranch}, push pipeline, protected)`);
            }
        }
    }
    return { notes, problems };
}

async function main(argv: string[]): Promise<number> {
    const { positionals } = parseCli({ name: "verifyImageRecord", usage: USAGE, positionals: [0, 1] }, argv);
    let input: VerifyInput;
    try {
        input = readInput(process.env);
    } catch (e) {
        if (e instanceof UsageError) {
            process.stderr.write(`verifyImageRecord: ${e.message}\n${USAGE}\n`);
            return 2;
        }
        throw e;
    }
    const file = positionals[0] ?? path.join(__dirname, "..", ".gitlab-ci.yml");
    const { notes, problems } = await verifyRecords(fs.readFileSync(file, "utf8"), input, gitlabReader(input));
    for (const line of notes) {
        process.stdout.write(`${line}\n`);
    }
    for (const line of problems) {
        process.stderr.write(`${line}\n`);
    }
    return problems.length > 0 ? 1 : 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (e: unknown) => {
            process.stderr.write(`verifyImageRecord: ${message(e).replace(/\s*\n\s*/g, " ")}\n`);
            process.exitCode = 1;
        },
    );
}
