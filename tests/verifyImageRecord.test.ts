import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { ROOT } from "../sim/harness";
import { parseGitlabCi } from "../ci/gitlabYaml";
import { anchorProblems, findRecord, parseImageRef, readInput, RECORDS, verifyRecords, gitlabReader, VerifyInput } from "../tools/verifyImageRecord";

/**
 * tools/verifyImageRecord.ts (docs/decisions/ci-images.md):
 * a recorded digest is accepted only when GitLab says a protected default-branch
 * push pipeline's `ci tools image` / `ci test image` printed that very line.
 * Against a fake GitLab API on a local port.
 */

const DIGEST = `sha256:${"5e".repeat(32)}`;
const OTHER = `sha256:${"a7".repeat(32)}`;
const SHA = `0a1b2c3d${"e".repeat(32)}`;
const JOB = 4242;
const PIPELINE = 900;
const PROJECT = "group/platform";
const TOOLS_LINE = `  CI_TOOLS_IMAGE: &ci-tools-image $CI_REGISTRY_IMAGE/ci-tools:pulumi-3.274.1-docker-27.5.1-4-0a1b2c3d-${JOB}@${DIGEST}`;

const COMMITTED_CI = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
const CI_TEST_VERSION = /^ {2}CI_TEST_VERSION: "([^"]+)"$/m.exec(COMMITTED_CI)![1];
/** The repository's file with the test image by its version's tag, as before its first record: these cases trace the tools image. */
const REPO_CI = COMMITTED_CI.replace(/^( {2}CI_TEST_IMAGE: &ci-test-image \$CI_REGISTRY_IMAGE\/ci-test:)\S+$/m, (_m, head: string) => `${head}${CI_TEST_VERSION}`);

/** The repository's .gitlab-ci.yml with CI_TOOLS_IMAGE's record replaced by `line`. */
function withToolsRecord(line: string): string {
    const out = REPO_CI.replace(/^ {2}CI_TOOLS_IMAGE: .*$/m, line);
    expect(out).to.not.equal(REPO_CI);
    return out;
}

type Routes = Record<string, { status: number; body: unknown; headers?: Record<string, string> }>;

/** What GitLab answers for the protected main push job that built and printed TOOLS_LINE. */
function protectedBuild(over: { job?: object; pipeline?: object; artifact?: string; branch?: object } = {}): Routes {
    const p = `/api/v4/projects/${encodeURIComponent(PROJECT)}`;
    return {
        [`${p}/jobs/${JOB}`]: {
            status: 200,
            body: { id: JOB, name: "ci tools image", status: "success", ref: "main", tag: false, commit: { id: SHA }, pipeline: { id: PIPELINE, project_id: 1, ref: "main", sha: SHA, status: "success", source: "push" }, ...over.job },
        },
        [`${p}/pipelines/${PIPELINE}`]: { status: 200, body: { id: PIPELINE, ref: "main", sha: SHA, tag: false, status: "success", source: "push", ...over.pipeline } },
        [`${p}/repository/branches/main`]: { status: 200, body: { name: "main", protected: true, default: true, ...over.branch } },
        [`${p}/jobs/${JOB}/artifacts/ci-tools-image.txt`]: { status: 200, body: over.artifact ?? `${TOOLS_LINE}\n` },
    };
}

/** A fake GitLab answering GETs from `routes`; records each request's path and token. */
async function fakeGitLab(routes: Routes) {
    const requests: { url: string; token: string | undefined }[] = [];
    const server = http.createServer((req, res) => {
        requests.push({ url: req.url!, token: req.headers["private-token"] as string | undefined });
        const route = routes[req.url!];
        if (!route) {
            res.writeHead(404, { "content-type": "application/json" }).end('{"message":"404 Not found"}');
            return;
        }
        const text = typeof route.body === "string" ? route.body : JSON.stringify(route.body);
        res.writeHead(route.status, { "content-type": typeof route.body === "string" ? "application/octet-stream" : "application/json", ...route.headers }).end(text);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const input: VerifyInput = { apiUrl: `${url}/api/v4`, project: PROJECT, token: "glpat-reporter", defaultBranch: "main" };
    return { requests, url, input, close: () => new Promise((ok) => server.close(ok)) };
}

async function verify(ciText: string, routes: Routes) {
    const g = await fakeGitLab(routes);
    try {
        return { ...(await verifyRecords(ciText, g.input, gitlabReader(g.input))), requests: g.requests };
    } finally {
        await g.close();
    }
}

describe("tools/verifyImageRecord (a recorded digest traced to its protected build)", () => {
    it("passes a record that a protected main push pipeline's `ci tools image` printed, asking with the token", async () => {
        const r = await verify(withToolsRecord(TOOLS_LINE), protectedBuild());
        expect(r.problems).to.deep.equal([]);
        expect(r.notes[0]).to.match(/^CI_TOOLS_IMAGE: sha256:5e.* printed by job 4242/);
        // The test image records no digest in this file: said, and passed.
        expect(r.notes[1]).to.match(/^CI_TEST_IMAGE: no digest recorded .*nothing to verify$/);
        expect(r.requests.every((q) => q.token === "glpat-reporter")).to.equal(true);
        expect(r.requests.map((q) => q.url)).to.include(`/api/v4/projects/group%2Fplatform/jobs/${JOB}/artifacts/ci-tools-image.txt`);
    });

    it("refuses a record whose job ran for a merge request or another branch", async () => {
        const mr = await verify(withToolsRecord(TOOLS_LINE), protectedBuild({ job: { ref: "refs/merge-requests/7/head" }, pipeline: { source: "merge_request_event", ref: "refs/merge-requests/7/head" } }));
        expect(mr.problems).to.deep.equal([
            'CI_TOOLS_IMAGE (job 4242): job ref is "refs/merge-requests/7/head", not the default branch "main"',
            'CI_TOOLS_IMAGE (job 4242): pipeline source is "merge_request_event", not "push"',
            'CI_TOOLS_IMAGE (job 4242): pipeline ref is "refs/merge-requests/7/head", not "main"',
        ]);
        const branch = await verify(withToolsRecord(TOOLS_LINE), protectedBuild({ job: { ref: "feature" }, pipeline: { ref: "feature" } }));
        expect(branch.problems).to.have.length(2);
        expect(branch.problems[0]).to.equal('CI_TOOLS_IMAGE (job 4242): job ref is "feature", not the default branch "main"');
        // Someone else's job proves nothing: its artifact is not even read.
        expect(branch.requests.map((q) => q.url).some((u) => u.includes("/artifacts/"))).to.equal(false);
    });

    it("refuses a main job of a pipeline that was not a push (run by hand, scheduled), a tag named main, an unprotected main", async () => {
        const web = await verify(withToolsRecord(TOOLS_LINE), protectedBuild({ pipeline: { source: "web" } }));
        expect(web.problems).to.deep.equal(['CI_TOOLS_IMAGE (job 4242): pipeline source is "web", not "push"']);
        const tag = await verify(withToolsRecord(TOOLS_LINE), protectedBuild({ job: { tag: true }, pipeline: { tag: true } }));
        expect(tag.problems.join("\n")).to.include("job tag is true, not false").and.include("pipeline is a tag pipeline");
        const open = await verify(withToolsRecord(TOOLS_LINE), protectedBuild({ branch: { protected: false } }));
        expect(open.problems).to.deep.equal(['CI_TOOLS_IMAGE (job 4242): branch "main" protected is false, not true']);
    });

    it("refuses a job of another name, or one that did not succeed", async () => {
        const r = await verify(withToolsRecord(TOOLS_LINE), protectedBuild({ job: { name: "push my image", status: "failed" } }));
        expect(r.problems).to.deep.equal(['CI_TOOLS_IMAGE (job 4242): job name is "push my image", not "ci tools image"', 'CI_TOOLS_IMAGE (job 4242): job status is "failed", not "success"']);
    });

    it("refuses a record whose line differs from the job's artifact (another digest), and a job without the artifact", async () => {
        const other = TOOLS_LINE.replace(DIGEST, OTHER);
        const r = await verify(withToolsRecord(other), protectedBuild());
        expect(r.problems).to.have.length(1);
        expect(r.problems[0]).to.match(/^CI_TOOLS_IMAGE \(job 4242\): artifact holds ".*sha256:5e.*", not the recorded line ".*sha256:a7.*"$/);
        const routes = protectedBuild();
        delete routes[`/api/v4/projects/${encodeURIComponent(PROJECT)}/jobs/${JOB}/artifacts/ci-tools-image.txt`];
        const none = await verify(withToolsRecord(TOOLS_LINE), routes);
        expect(none.problems).to.deep.equal(["CI_TOOLS_IMAGE (job 4242): no artifact ci-tools-image.txt (expired, erased, or never written)"]);
    });

    it("refuses a job id GitLab does not know, and a commit other than the tag's", async () => {
        const unknown = await verify(withToolsRecord(TOOLS_LINE.replace(`-${JOB}@`, "-4243@")), protectedBuild());
        expect(unknown.problems).to.deep.equal(["CI_TOOLS_IMAGE (job 4243): no such job in this project (GitLab answers 404)"]);
        const commit = await verify(withToolsRecord(TOOLS_LINE), protectedBuild({ job: { commit: { id: "f".repeat(40) } } }));
        expect(commit.problems).to.deep.equal([`CI_TOOLS_IMAGE (job 4242): job commit is "${"f".repeat(40)}", not the tag's 0a1b2c3d`]);
    });

    it("follows an artifact's redirect to object storage without the token", async () => {
        const storage = await fakeGitLab({ "/bucket/ci-tools-image.txt": { status: 200, body: `${TOOLS_LINE}\n` } });
        try {
            const routes = protectedBuild();
            routes[`/api/v4/projects/${encodeURIComponent(PROJECT)}/jobs/${JOB}/artifacts/ci-tools-image.txt`] = { status: 302, body: "", headers: { location: `${storage.url}/bucket/ci-tools-image.txt` } };
            const r = await verify(withToolsRecord(TOOLS_LINE), routes);
            expect(r.problems).to.deep.equal([]);
            expect(storage.requests).to.deep.equal([{ url: "/bucket/ci-tools-image.txt", token: undefined }]);
        } finally {
            await storage.close();
        }
    });

    it("parses the record: no digest, the printed shape, anything else", () => {
        expect(parseImageRef("$CI_REGISTRY_IMAGE/ci-test:node-20.19.5-debian-20261201-1", "ci-test")).to.deep.equal({ kind: "no-digest" });
        expect(parseImageRef(`$CI_REGISTRY_IMAGE/ci-tools:pulumi-3.274.1-docker-27.5.1-4-0a1b2c3d-${JOB}@${DIGEST}`, "ci-tools")).to.deep.equal({
            kind: "digest",
            version: "pulumi-3.274.1-docker-27.5.1-4",
            commit: "0a1b2c3d",
            jobId: JOB,
            digest: DIGEST,
        });
        expect(parseImageRef(`$CI_REGISTRY_IMAGE/ci-tools:pulumi-3.274.1-docker-27.5.1-4@${DIGEST}`, "ci-tools")).to.include({ kind: "bad" });
        expect(parseImageRef(`$CI_REGISTRY_IMAGE/ci-test:v-0a1b2c3d-1@${DIGEST}`, "ci-tools")).to.deep.equal({ kind: "bad", reason: "records image ci-test, not ci-tools" });
        expect(findRecord("variables:\n  A: 1\n", "CI_TOOLS_IMAGE")).to.have.property("problem").that.matches(/^no `CI_TOOLS_IMAGE:` line/);
        expect(findRecord(`variables:\n${TOOLS_LINE}\njob:\n  variables:\n${TOOLS_LINE}\n`, "CI_TOOLS_IMAGE")).to.have.property("problem").that.matches(/^2 `CI_TOOLS_IMAGE:` lines/);
    });

    it("asks about the jobs and artifacts .gitlab-ci.yml and .ci/tools-image.sh name", () => {
        const ci = parseGitlabCi(REPO_CI) as Record<string, { script?: string[]; artifacts?: { paths?: string[] } }>;
        const script = fs.readFileSync(path.join(ROOT, ".ci/tools-image.sh"), "utf8");
        expect(script).to.include('printf \'%s\\n\' "$line" >"$name-image.txt"');
        for (const kind of RECORDS) {
            expect(ci[kind.job].script!.join("\n")).to.include(`.ci/tools-image.sh ci/`).and.match(new RegExp(` ${kind.image}$`));
            expect(ci[kind.job].artifacts!.paths).to.deep.equal([kind.artifact]);
            expect(kind.artifact).to.equal(`${kind.image}-image.txt`);
            // The repository's own record is found (with or without a digest).
            expect(findRecord(REPO_CI, kind.variable)).to.have.property("line").that.matches(new RegExp(`^${kind.variable}: &${kind.image}-image \\$CI_REGISTRY_IMAGE/${kind.image}:`));
        }
    });

    it("reads its inputs from the environment: CI's or an operator's", () => {
        expect(readInput({ GITLAB_API_TOKEN: "t", CI_API_V4_URL: "https://gitlab.example.com/api/v4/", CI_PROJECT_ID: "12" })).to.deep.equal({ apiUrl: "https://gitlab.example.com/api/v4", project: "12", token: "t", defaultBranch: "main" });
        expect(readInput({ GITLAB_API_TOKEN: "t", GITLAB_API_URL: "https://g/api/v4", GITLAB_PROJECT: PROJECT, CI_DEFAULT_BRANCH: "trunk" })).to.include({ project: PROJECT, defaultBranch: "trunk" });
    });

    describe("CLI", function () {
        this.timeout(60_000);
        const run = (env: Record<string, string>, args: string[] = []) =>
            spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "tools/verifyImageRecord.ts", ...args], { cwd: ROOT, env: { PATH: process.env.PATH!, ...env }, encoding: "utf8" });

        it("without a token exits 2 with its usage", () => {
            const r = run({ CI_API_V4_URL: "https://gitlab.example.com/api/v4", CI_PROJECT_ID: "1" });
            expect(r.status).to.equal(2);
            expect(r.stderr).to.match(/^verifyImageRecord: missing GITLAB_API_TOKEN\nusage: /);
        });

        it("exits 0 on a traced record and 1 with one line per problem", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-image-"));
            const good = path.join(dir, "good.yml");
            const bad = path.join(dir, "bad.yml");
            fs.writeFileSync(good, withToolsRecord(TOOLS_LINE));
            fs.writeFileSync(bad, withToolsRecord(TOOLS_LINE.replace(DIGEST, OTHER)));
            const g = await fakeGitLab(protectedBuild());
            try {
                const env = { GITLAB_API_TOKEN: "glpat-reporter", GITLAB_API_URL: g.input.apiUrl, GITLAB_PROJECT: PROJECT };
                // spawnSync would block the fake server's event loop: run it asynchronously.
                const runAsync = (file: string) =>
                    new Promise<{ status: number | null; stdout: string; stderr: string }>((ok) => {
                        const c = spawn(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "tools/verifyImageRecord.ts", file], { cwd: ROOT, env: { PATH: process.env.PATH!, ...env } });
                        let stdout = "";
                        let stderr = "";
                        c.stdout.on("data", (d) => (stdout += d));
                        c.stderr.on("data", (d) => (stderr += d));
                        c.on("close", (status) => ok({ status, stdout, stderr }));
                    });
                const ok = await runAsync(good);
                expect(ok.status, ok.stderr).to.equal(0);
                expect(ok.stdout).to.include("CI_TEST_IMAGE: no digest recorded");
                const no = await runAsync(bad);
                expect(no.status).to.equal(1);
                expect(no.stderr.trim().split("\n")).to.have.length(1);
                expect(no.stderr).to.match(/^CI_TOOLS_IMAGE \(job 4242\): artifact holds/);
            } finally {
                await g.close();
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    it("refuses a file that defines an image anchor twice (an alias takes the later one), and the committed file defines each once", async () => {
        const committed = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
        expect(anchorProblems(committed)).to.deep.equal([]);
        const redefined = committed.replace(/^\.pulumi:$/m, ".shadow: &ci-tools-image $CI_REGISTRY_IMAGE/ci-tools:x-0a1b2c3d-9@sha256:" + "f".repeat(64) + "\n\n.pulumi:");
        expect(redefined).to.not.equal(committed);
        expect(anchorProblems(redefined)).to.deep.equal(["&ci-tools-image: defined 2 times in .gitlab-ci.yml (exactly once: a later definition would give the jobs another image than the variable names)"]);
        expect(anchorProblems(committed.replace("&dind-image ", ""))[0]).to.match(/^&dind-image: defined 0 times/);
    });
});
