import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { ROOT } from "../sim/harness";
import { parseGitlabCi } from "../ci/gitlabYaml";

/**
 * gitlab-ci-local (pinned 4.73.0) over this repository's .gitlab-ci.yml: it
 * validates the file against GitLab's schema, evaluates its rules for each
 * kind of pipeline and expands `extends`. It runs in a scratch git repository
 * holding the pipeline's files with `origin/main` at their committed state,
 * because it evaluates `rules:changes` as `git diff --name-only origin/main`
 * (what a merge request or a push to the default branch changed).
 */

const GCL = path.join(ROOT, "node_modules/.bin/gitlab-ci-local");
/** The files .gitlab-ci.yml reads or names in `changes`. */
const PIPELINE_FILES = [".gitlab-ci.yml", "ci/Dockerfile", "ci/test.Dockerfile"];
// The predefined variables the scenarios set on purpose.
const QUIET = {
    GCL_IGNORE_PREDEFINED_VARS: [
        "CI_PIPELINE_SOURCE",
        "CI_COMMIT_BRANCH",
        "CI_DEFAULT_BRANCH",
        "CI_COMMIT_REF_PROTECTED",
        "CI_MERGE_REQUEST_IID",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED",
        "CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED",
        "CI_MERGE_REQUEST_PROJECT_ID",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
        "CI_PROJECT_ID",
        "CI_REGISTRY_IMAGE",
        "CI_COMMIT_SHORT_SHA",
    ].join(","),
};

let scratch: string | undefined;

function git(dir: string, ...args: string[]) {
    const r = spawnSync("git", ["-c", "user.email=ci@example.com", "-c", "user.name=ci", ...args], { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    }
}

/**
 * The pipeline as it runs once the tools image's digest is recorded and the
 * deploys' dind pinned (docs/operations/ci-setup.md, step 7): no registry is reachable here,
 * so the scratch copy records this one. `AS_COMMITTED` is the file as it is
 * in the repository, for what happens before (`jobsAsCommitted`).
 */
export const RECORDED_DIGEST = `sha256:${"0".repeat(64)}`;
const AS_COMMITTED = ".gitlab-ci.as-committed.yml";
/** The tools image recorded, the deploys' dind not pinned. */
const TOOLS_ONLY = ".gitlab-ci.tools-only.yml";

/** .gitlab-ci.yml with `name`'s anchored image named by its tag alone, as before its digest is recorded or pinned. */
export function withoutDigest(ci: string, name: keyof typeof RECORDS): string {
    return ci.replace(new RegExp(`^(\\s*${name}: &${RECORDS[name]} \\S+?)@sha256:[0-9a-f]{64}$`, "m"), "$1");
}

/** The anchored image records a digest is recorded or pinned into, by variable. */
const RECORDS = { CI_TOOLS_IMAGE: "ci-tools-image", DIND_IMAGE: "dind-image" } as const;

/** .gitlab-ci.yml with a digest in each of `records` (default: the tools image and the deploys' dind), unless it has one. */
export function withRecordedDigest(ci: string, records: (keyof typeof RECORDS)[] = ["CI_TOOLS_IMAGE", "DIND_IMAGE"]): string {
    return records.reduce((text, name) => {
        const line = new RegExp(`^(\\s*${name}: &${RECORDS[name]} \\S+?)(@sha256:[0-9a-f]{64})?$`, "m");
        if (!line.test(text)) {
            throw new Error(`withRecordedDigest: no \`${name}: &${RECORDS[name]} <image>\` line ends the way this helper expects; the scenarios would run without a digest`);
        }
        return text.replace(line, (_m, image: string, digest?: string) => `${image}${digest ?? `@${RECORDED_DIGEST}`}`);
    }, ci);
}

/** The scratch repository (made once per process): the pipeline's files, committed, and origin/main there. */
function repo(): string {
    if (!scratch) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gcl-"));
        for (const f of PIPELINE_FILES) {
            fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
            fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
        }
        const ci = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
        fs.writeFileSync(path.join(dir, AS_COMMITTED), ci);
        // Whatever the committed file pins: the deploys' dind without its digest, as before it is pinned.
        fs.writeFileSync(path.join(dir, TOOLS_ONLY), withoutDigest(withRecordedDigest(ci, ["CI_TOOLS_IMAGE"]), "DIND_IMAGE"));
        fs.writeFileSync(path.join(dir, ".gitlab-ci.yml"), withRecordedDigest(ci));
        git(dir, "init", "-q", "-b", "main");
        git(dir, "add", "-A");
        git(dir, "commit", "-qm", "pipeline");
        git(dir, "update-ref", "refs/remotes/origin/main", "HEAD");
        git(dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main");
        process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
        scratch = dir;
    }
    return scratch;
}

/** Runs gitlab-ci-local with `changed` files edited in the working tree (as a branch that changes them), then restores them. */
export function gcl(args: string[], changed: string[] = []) {
    const dir = repo();
    for (const f of changed) {
        fs.appendFileSync(path.join(dir, f), "\n# changed\n");
    }
    try {
        const r = spawnSync(GCL, args, { cwd: dir, encoding: "utf8", env: { ...process.env, ...QUIET }, timeout: 60_000 });
        if (r.status !== 0) {
            throw new Error(`gitlab-ci-local ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
        }
        return r;
    } finally {
        if (changed.length > 0) {
            git(dir, "checkout", "-q", "--", ...changed);
        }
    }
}

const varArgs = (vars: Record<string, string>, unset: string[]) => [...Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]), ...unset.flatMap((u) => ["--unset-variable", u])];

/** gitlab-ci-local's job list for these arguments, once per process: the files it reads do not change while the tests run. */
const listed = new Map<string, { name: string; when: string }[]>();
function listJobs(args: string[], changed: string[]): { name: string; when: string }[] {
    const key = JSON.stringify([args, changed]);
    if (!listed.has(key)) {
        listed.set(key, JSON.parse(gcl(["--list-json", ...args], changed).stdout) as { name: string; when: string }[]);
    }
    return listed.get(key)!;
}

/** The jobs that would run (and how) in a pipeline with these variables, changing these files. */
export function jobs(vars: Record<string, string>, unset: string[] = [], changed: string[] = []): string[] {
    return listJobs(varArgs(vars, unset), changed)
        .filter((j) => j.when !== "never")
        .map((j) => (j.when === "on_success" ? j.name : `${j.name} (${j.when})`));
}

/** The job a listed name belongs to in the expanded pipeline: gitlab-ci-local lists a `parallel: N` job's instances as "<name>: [i/N]". */
export const baseJobName = (listed: string) => listed.replace(/: \[\d+\/\d+\]$/, "");

/** The names of the jobs that would run in a pipeline with these variables, manual ones included. */
export function jobNames(vars: Record<string, string>, unset: string[] = [], changed: string[] = [], file: string[] = []): string[] {
    return listJobs([...file, ...varArgs(vars, unset)], changed)
        .filter((j) => j.when !== "never")
        .map((j) => j.name);
}

/**
 * The value a variable has inside a job, rules' `variables` included, as
 * gitlab-ci-local's own rule evaluation gives it: a probe job with the real
 * job's rules, variables and image and a script that prints the variable,
 * run by its shell executor next to the real pipeline's top-level variables.
 */
export function valueInJob(job: Record<string, any>, top: Record<string, string>, name: string, vars: Record<string, string>, unset: string[] = [], changed: string[] = []): string {
    const probe = { variables: top, probe: { rules: job.rules, variables: job.variables, script: [`echo "PROBE=$${name}"`] } };
    const dir = repo();
    fs.writeFileSync(path.join(dir, ".probe.yml"), stringify(probe));
    const out = gcl(["--file", ".probe.yml", "--force-shell-executor", ...varArgs(vars, unset), "probe"], changed).stdout;
    const m = /> PROBE=(.*)$/m.exec(out);
    if (!m) {
        throw new Error(`the probe printed nothing: ${out}`);
    }
    return m[1];
}

/** The whole pipeline with `extends` and `!reference` resolved, as gitlab-ci-local expands it (once per process; a fresh copy each call). */
let preview: string | undefined;
export function expandedPipeline(): Record<string, any> {
    preview ??= gcl(["--preview"]).stdout;
    return parse(preview.slice(preview.indexOf("---")));
}

export const PUSH_MAIN = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" };

/**
 * Merge-request pipelines as GitLab sets their variables. CI_COMMIT_REF_PROTECTED is
 * "true" (and protected variables reach the pipeline) only when the source and the
 * target branch are protected, the project has "protected merge request pipelines" on
 * and the source is not a fork. A fork's merge request runs in the fork's project by
 * default (CI_PROJECT_ID the fork's), or in this one when a member runs it here.
 */
function mergeRequest(o: { source: boolean; target: boolean; fork?: "in fork" | "in parent" }) {
    const parent = "1";
    const source = o.fork ? "2" : parent;
    return {
        CI_PIPELINE_SOURCE: "merge_request_event",
        CI_MERGE_REQUEST_IID: "7",
        CI_DEFAULT_BRANCH: "main",
        CI_PROJECT_ID: o.fork === "in fork" ? source : parent,
        CI_MERGE_REQUEST_PROJECT_ID: parent,
        CI_MERGE_REQUEST_SOURCE_PROJECT_ID: source,
        CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: String(o.source),
        CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED: String(o.target),
        CI_COMMIT_REF_PROTECTED: String(o.source && o.target && !o.fork),
    };
}
export const PIPELINE_KINDS = {
    "push, unprotected branch": { vars: { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "feature/x", CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "false" } },
    "push, protected default branch": { vars: PUSH_MAIN },
    "push, protected default branch, ci/Dockerfile changed": { vars: PUSH_MAIN, changed: ["ci/Dockerfile"] },
    "merge request, unprotected source": { vars: mergeRequest({ source: false, target: true }) },
    "merge request, protected source and target": { vars: mergeRequest({ source: true, target: true }) },
    "merge request, protected source, unprotected target": { vars: mergeRequest({ source: true, target: false }) },
    "merge request, ci/Dockerfile changed": { vars: mergeRequest({ source: false, target: true }), changed: ["ci/Dockerfile"] },
    "fork merge request, in the fork's project": { vars: mergeRequest({ source: true, target: true, fork: "in fork" }), changed: ["ci/Dockerfile"] },
    "fork merge request, run in this project": { vars: mergeRequest({ source: true, target: true, fork: "in parent" }) },
    schedule: { vars: { CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" } },
} satisfies Record<string, { vars: Record<string, string>; changed?: string[] }>;
export type PipelineKind = keyof typeof PIPELINE_KINDS;
/** One kind of pipeline: its variables, the variables it lacks (a merge request has no CI_COMMIT_BRANCH) and the files it changes. */
export function pipelineKind(kind: PipelineKind): { vars: Record<string, string>; unset: string[]; changed?: string[] } {
    const k: { vars: Record<string, string>; changed?: string[] } = PIPELINE_KINDS[kind];
    return { ...k, unset: k.vars.CI_PIPELINE_SOURCE === "merge_request_event" ? ["CI_COMMIT_BRANCH"] : [] };
}

/** The jobs of one kind of pipeline with another copy of .gitlab-ci.yml in the scratch repository. */
function jobsWithFile(file: string, kind: PipelineKind): string[] {
    const k = pipelineKind(kind);
    return jobNames(k.vars, k.unset, k.changed, ["--file", file]);
}

/** The jobs of one kind of pipeline with .gitlab-ci.yml as committed (its tools image recorded or not). */
export const jobsAsCommitted = (kind: PipelineKind): string[] => jobsWithFile(AS_COMMITTED, kind);

/** The jobs of one kind of pipeline with the tools image recorded and the deploys' dind not pinned. */
export const jobsWithoutDindDigest = (kind: PipelineKind): string[] => jobsWithFile(TOOLS_ONLY, kind);

/** The jobs of one kind of pipeline. */
export function jobsOf(kind: PipelineKind): string[] {
    const k = pipelineKind(kind);
    return jobs(k.vars, k.unset, k.changed);
}

/**
 * Whether GitLab creates a pipeline with these variables: .gitlab-ci.yml's
 * `workflow:rules` as the rules of a probe job, evaluated by gitlab-ci-local
 * (which applies workflow rules' `variables` only, never their `when`, so its
 * job lists cannot show a pipeline that would not exist). A job's rules and
 * the workflow's read alike: the first matching `if` decides, `when: never`
 * drops it, and no match drops it too.
 */
export function pipelineCreated(vars: Record<string, string>, unset: string[] = []): boolean {
    const rules = (parseGitlabCi(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8")) as { workflow: { rules: unknown[] } }).workflow.rules;
    fs.writeFileSync(path.join(repo(), ".workflow-probe.yml"), stringify({ stages: ["test"], probe: { stage: "test", rules, script: ["true"] } }));
    const list = JSON.parse(gcl(["--file", ".workflow-probe.yml", "--list-json", ...varArgs(vars, unset)]).stdout) as { name: string; when: string }[];
    return list.some((j) => j.name === "probe" && j.when !== "never");
}
