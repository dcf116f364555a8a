import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { parse } from "yaml";
import { marker, MAX_PREVIEW_CHARS, MrNoteInput, noteBody, readInput, upsertNote } from "../ci/mrNote";
import { ROOT } from "../sim/harness";
import { ciAudience } from "../components/deployIdentity/facts";
import { naming } from "../facts/naming";
import { projectName } from "../ci/assertTarget";

/**
 * .gitlab-ci.yml, checked with a real client: gitlab-ci-local (pinned 4.73.0)
 * validates it against GitLab's schema, evaluates its rules for each kind of
 * pipeline, and expands `extends` (--preview), so the assertions below see
 * each job as GitLab would.
 */

const GCL = path.join(ROOT, "node_modules/.bin/gitlab-ci-local");
// The predefined variables each scenario sets on purpose.
const QUIET = { GCL_IGNORE_PREDEFINED_VARS: "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH,CI_COMMIT_REF_PROTECTED,CI_MERGE_REQUEST_IID,CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED" };

function gcl(args: string[]) {
    const r = spawnSync(GCL, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...QUIET }, timeout: 60_000 });
    if (r.status !== 0) {
        throw new Error(`gitlab-ci-local ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    }
    return r;
}

/** The jobs that would run (and how) in a pipeline with these variables. */
function jobs(vars: Record<string, string>, unset: string[] = []): string[] {
    const args = ["--list-json", ...Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]), ...unset.flatMap((u) => ["--unset-variable", u])];
    const list = JSON.parse(gcl(args).stdout) as { name: string; when: string }[];
    return list.filter((j) => j.when !== "never").map((j) => (j.when === "on_success" ? j.name : `${j.name} (${j.when})`));
}

const PUSH_MAIN = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" };

/** The whole pipeline with `extends` resolved, as gitlab-ci-local expands it. */
let expanded: Record<string, any>;
const job = (name: string) => {
    const j = expanded[name];
    expect(j, name).to.be.an("object");
    return j;
};
const PULUMI_JOBS = ["preview dev", "preview prod", "deploy dev", "deploy prod", "drift dev", "drift prod"];
const PROJECT = projectName(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));

describe(".gitlab-ci.yml (gitlab-ci-local 4.73.0)", function () {
    this.timeout(120_000);

    before(() => {
        const out = gcl(["--preview"]).stdout;
        expanded = parse(out.slice(out.indexOf("---")));
    });

    it("validates against GitLab's CI schema", () => {
        const r = gcl(["--list-json"]);
        expect(r.stderr).to.include("json schema validated");
        expect(JSON.parse(r.stdout).length).to.be.greaterThan(5);
    });

    it("a push to the protected default branch: test, prod's preview, dev, then prod by hand (the pipeline green without it)", () => {
        expect(jobs(PUSH_MAIN)).to.deep.equal(["ci tools image", "test", "preview prod", "deploy dev", "deploy prod (manual)"]);
    });

    it("a push to an unprotected default branch never offers prod", () => {
        expect(jobs({ ...PUSH_MAIN, CI_COMMIT_REF_PROTECTED: "false" })).to.deep.equal(["ci tools image", "test", "deploy dev"]);
    });

    it("a merge request from a protected branch: test and a preview of each stack, no deploy", () => {
        const mr = { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main", CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: "true" };
        expect(jobs(mr, ["CI_COMMIT_BRANCH"])).to.deep.equal(["ci tools image", "test", "preview dev", "preview prod"]);
    });

    it("a merge request from an unprotected branch: prod only as the offline plan (its code never runs with a prod role)", () => {
        const mr = { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main", CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: "false" };
        expect(jobs(mr, ["CI_COMMIT_BRANCH"])).to.deep.equal(["ci tools image", "test", "preview dev", "plan prod"]);
    });

    it("a schedule: test and the drift check of each stack", () => {
        expect(jobs({ CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main" })).to.deep.equal(["ci tools image", "test", "drift dev", "drift prod"]);
    });

    it("a push to another branch: test only", () => {
        expect(jobs({ CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "feature/x", CI_DEFAULT_BRANCH: "main" })).to.deep.equal(["test"]);
    });

    it("the test job runs exactly the README's test command, against a postgres service, with JUnit reports, coverage and lock-keyed caches", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("## Fresh machine")))![1];
        const lines = block.split("\n");
        const command = lines[lines.findIndex((l) => l.startsWith("# 2.")) + 1].trim();
        expect(command).to.equal("bash scripts/setup.sh && npm test");
        const t = job("test");
        expect(t.script).to.deep.equal([command]);
        // The same command CI runs here (.ci/run).
        expect(fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8").trim().split("\n").pop()).to.equal(command);
        expect(t.services.map((s: any) => s.name)).to.deep.equal(["$POSTGRES_IMAGE"]);
        expect(t.variables.DATABASE_URL).to.match(/^postgres:\/\/app:[^@]+@postgres:5432\/app_test$/);
        expect(t.variables.REPORTS_DIR).to.equal("reports");
        expect(t.artifacts.reports.junit).to.deep.equal(["reports/mocha.xml", "reports/pytest.xml"]);
        expect(t.artifacts.when).to.equal("always");
        expect(new RegExp(t.coverage.slice(1, -1), "m").exec("Name  Stmts  Miss  Cover\nTOTAL                                          393    105    73%\n")?.[1]).to.equal("73%");
        expect(t.cache.map((c: any) => c.key.files)).to.deep.equal([["package-lock.json"], ["app/requirements-dev.txt"]]);
        expect(t.interruptible).to.equal(true);
    });

    it("test-all.sh writes both JUnit reports when REPORTS_DIR is set (the reporters exist and are configured)", () => {
        const script = fs.readFileSync(path.join(ROOT, "scripts/test-all.sh"), "utf8");
        expect(script).to.include('MOCHA_FILE="$reports/mocha.xml"');
        expect(script).to.include('--junitxml="$reports/pytest.xml"');
        const config = JSON.parse(fs.readFileSync(path.join(ROOT, ".ci/mocha-reporters.json"), "utf8"));
        for (const reporter of config.reporterEnabled.split(",").map((r: string) => r.trim())) {
            if (reporter !== "spec") {
                expect(() => require.resolve(reporter, { paths: [ROOT] }), reporter).to.not.throw();
            }
        }
    });

    it("every Pulumi job reaches AWS by OIDC web identity, with no static keys anywhere", () => {
        const text = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
        expect(text).to.not.match(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN/);
        for (const name of PULUMI_JOBS) {
            const j = job(name);
            expect(j.variables.AWS_ROLE_ARN, name).to.match(/^\$AWS_(PREVIEW|DEPLOY)_ROLE_ARN_(DEV|PROD)$/);
            // One token, for the role the job uses and no other (README: "Deploy identity"); a literal, so no pipeline variable moves it.
            const kind = /DEPLOY/.test(j.variables.AWS_ROLE_ARN) ? "deploy" : "preview";
            expect(j.id_tokens, name).to.deep.equal({ AWS_ID_TOKEN: { aud: ciAudience(naming(PROJECT, j.variables.STACK), kind) } });
            // The target is checked before the first AWS call (tests/ciTarget.test.ts runs this line).
            expect(j.before_script.indexOf("node_modules/.bin/ts-node --transpile-only ci/assertTarget.ts"), name).to.be.within(0, j.before_script.indexOf('pulumi login "$PULUMI_BACKEND_URL"') - 1);
            expect(j.variables.AWS_WEB_IDENTITY_TOKEN_FILE, name).to.be.a("string");
            expect(j.before_script[0], name).to.equal(`printf '%s' "$AWS_ID_TOKEN" >"$AWS_WEB_IDENTITY_TOKEN_FILE"`);
            expect(j.before_script, name).to.include('pulumi login "$PULUMI_BACKEND_URL"');
            expect(j.image.name, name).to.equal("$CI_TOOLS_IMAGE");
            expect(j.timeout, name).to.match(/^\d+m$/);
        }
        // No other job asks for a token.
        expect(Object.keys(expanded).filter((n) => expanded[n]?.id_tokens)).to.deep.equal(PULUMI_JOBS);
        // Only the deploy jobs may change anything, and only they use the deploy roles.
        expect(PULUMI_JOBS.filter((n) => /DEPLOY/.test(job(n).variables.AWS_ROLE_ARN))).to.deep.equal(["deploy dev", "deploy prod"]);
    });

    it("previews and drift checks change nothing and build nothing; deploys build through Docker-in-Docker over TLS", () => {
        for (const name of ["preview dev", "preview prod", "drift dev", "drift prod"]) {
            const j = job(name);
            expect(j.services ?? [], name).to.deep.equal([]);
            // No engine: the docker provider (loaded for the builds in the state) skips its ping
            // only for an ssh:// host (pulumi-docker v4.11.2 configureDockerClient), and a .invalid
            // name never resolves, so nothing is reached even if something dialled it.
            expect(j.variables.DOCKER_HOST, name).to.match(/^ssh:\/\/[a-z-]+\.invalid$/);
            expect(j.script.join("\n"), name).to.not.match(/pulumi up|docker /);
            expect(j.interruptible, name).to.equal(true);
        }
        // Drift: AWS against the last deployed state, not against code prod has not received yet.
        for (const name of ["drift dev", "drift prod"]) {
            expect(job(name).script.join(" "), name).to.match(/pulumi refresh --stack "\$STACK" --preview-only --expect-no-changes/);
        }
        for (const name of ["deploy dev", "deploy prod"]) {
            const j = job(name);
            expect(j.services, name).to.deep.equal([{ name: "$DIND_IMAGE", alias: "docker" }]);
            expect(j.variables, name).to.include({ DOCKER_HOST: "tcp://docker:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs/client", DOCKER_TLS_CERTDIR: "/certs" });
            // The admin gate reads the preview before anything is applied; the policy pack checks both.
            // `pulumi up` runs with the job's deadline exported (tests/deployTimeline.test.ts runs those lines).
            expect(j.script.slice(0, 7), name).to.deep.equal([
                'pulumi preview --stack "$STACK" --non-interactive --json $(bash .ci/policy-args.sh "$STACK") >preview.json',
                "node_modules/.bin/ts-node --transpile-only ci/adminGate.ts preview.json",
                'DEPLOY_DEADLINE="$(node_modules/.bin/ts-node --transpile-only ci/deployDeadline.ts)"',
                "export DEPLOY_DEADLINE",
                "left=$(( DEPLOY_DEADLINE - $(date +%s) ))",
                '[ "$left" -ge 60 ] || { echo "deploy: ${left} s left before DEPLOY_DEADLINE, pulumi up not started" >&2; exit 1; }',
                'timeout --signal=INT --kill-after=4m "${left}s" pulumi up --yes --skip-preview --stack "$STACK" --non-interactive --diff --color never $(bash .ci/policy-args.sh "$STACK")',
            ]);
            expect(j.interruptible, name).to.equal(false);
            expect(j.artifacts.reports.dotenv, name).to.equal("deploy.env");
        }
    });

    it("deploys: one at a time per stack, tracked as environments, prod after dev on protected refs only", () => {
        expect(job("deploy dev")).to.deep.include({ resource_group: "pulumi-dev", environment: { name: "dev", url: "$APP_URL" } });
        expect(job("deploy prod")).to.deep.include({ resource_group: "pulumi-prod", environment: { name: "production", url: "$APP_URL" } });
        const needs = (name: string) => job(name).needs.map((n: any) => (typeof n === "string" ? n : n.job));
        expect(needs("deploy prod")).to.include.members(["deploy dev", "preview prod"]);
        // Not dev's dotenv: its APP_URL would name prod's environment.
        expect(job("deploy prod").needs.find((n: any) => n.job === "deploy dev").artifacts).to.equal(false);
        expect(job("deploy prod").rules).to.deep.equal([
            { if: '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_COMMIT_REF_PROTECTED == "true"', when: "manual", allow_failure: true },
        ]);
        expect(needs("deploy dev")).to.include("test");
    });

    it("the tools image is pushed from protected refs only (deploys run in it with the deploy roles)", () => {
        const script = job("ci tools image").script.join("\n");
        expect(script).to.match(/elif \[ "\$CI_COMMIT_REF_PROTECTED" = "true" \]; then\s+docker build --pull -t "\$CI_TOOLS_IMAGE" ci && docker push "\$CI_TOOLS_IMAGE"/);
        expect(script.match(/docker push/g)).to.have.length(1);
        // Run the decision with a fake docker: an unprotected ref with no image fails and pushes nothing.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tools-image-"));
        fs.writeFileSync(path.join(dir, "docker"), `#!/bin/bash\necho "docker $*" >>'${dir}/calls'\n[ "$1" = manifest ] && exit 1\nexit 0\n`, { mode: 0o755 });
        const run = (protectedRef: string) => {
            fs.rmSync(path.join(dir, "calls"), { force: true });
            const r = spawnSync("bash", ["-c", job("ci tools image").script.join("\n")], { env: { PATH: `${dir}:${process.env.PATH}`, CI_COMMIT_REF_PROTECTED: protectedRef, CI_TOOLS_IMAGE: "registry/ci-tools:v", CI_REGISTRY_PASSWORD: "p", CI_REGISTRY_USER: "u", CI_REGISTRY: "registry" }, encoding: "utf8" });
            return { status: r.status, calls: fs.readFileSync(path.join(dir, "calls"), "utf8") };
        };
        const unprotected = run("false");
        expect(unprotected.status).to.equal(1);
        expect(unprotected.calls).to.not.include("docker push");
        const protectedRef = run("true");
        expect(protectedRef.status).to.equal(0);
        expect(protectedRef.calls).to.include("docker push registry/ci-tools:v");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("merge-request previews are exposed in the merge request and keep the offline plan beside them", () => {
        for (const stack of ["dev", "prod"]) {
            const j = job(`preview ${stack}`);
            expect(j.artifacts.expose_as).to.equal(`pulumi preview ${stack}`);
            expect(j.artifacts.paths).to.deep.equal(["preview/"]);
            expect(j.script).to.deep.equal(["bash .ci/preview.sh"]);
            expect(j.variables.STACK).to.equal(stack);
        }
    });

    it("pins every image in one place: the top-level variables, with explicit versions", () => {
        const top = expanded.variables as Record<string, string>;
        const images = Object.entries(expanded)
            .filter(([, j]) => j && typeof j === "object" && "script" in j)
            .flatMap(([, j]: [string, any]) => [j.image?.name, ...(j.services ?? []).map((s: any) => s.name)])
            .filter((x): x is string => typeof x === "string");
        expect(images.length).to.be.greaterThan(8);
        for (const image of images) {
            expect(image, "a job names its image by variable").to.match(/^\$[A-Z_]+$/);
            // One level of the pipeline's own variables expanded (the tools image names its version).
            const value = top[image.slice(1)]?.replace(/\$([A-Z_]+)/g, (m, v: string) => top[v] ?? m);
            expect(value, image).to.be.a("string");
            expect(value, image).to.not.match(/:latest$/);
            expect(value, image).to.match(/:[\w.-]*\d[\w.-]*$/);
        }
        // The tools image's version names the CLI and Docker versions ci/Dockerfile pins.
        const dockerfile = fs.readFileSync(path.join(ROOT, "ci/Dockerfile"), "utf8");
        const pulumiVersion = /FROM pulumi\/pulumi-nodejs-22:(\S+)/.exec(dockerfile)![1];
        const dockerVersion = /FROM docker:(\S+)-cli/.exec(dockerfile)![1];
        expect(top.CI_TOOLS_VERSION).to.match(new RegExp(`^pulumi-${pulumiVersion.replace(/\./g, "\\.")}-docker-${dockerVersion.replace(/\./g, "\\.")}-\\d+$`));
        expect(top.DOCKER_IMAGE).to.equal(`docker:${dockerVersion}`);
        expect(top.DIND_IMAGE).to.equal(`docker:${dockerVersion}-dind`);
        // The plugins baked into it are the ones the installed packages ask for, no more, no fewer.
        const baked = [...dockerfile.matchAll(/pulumi plugin install resource (\S+) (\S+)/g)].map((m) => `${m[1]}@${m[2]}`).sort();
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const declared = Object.keys(pkg.dependencies)
            .filter((d) => d.startsWith("@pulumi/"))
            .map((d) => JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", d, "package.json"), "utf8")).pulumi)
            .filter((p) => p?.resource)
            .map((p) => `${p.name}@${p.version}`)
            .sort();
        expect(baked).to.deep.equal(declared);
    });
});

describe(".ci/preview.sh (fake pulumi and npm on PATH)", () => {
    function preview(pulumiStatus: number, mergeRequest = true) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "calls");
        fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/bash\necho "pulumi $*" >>'${log}'\necho "Resources:"\necho "    ~ 1 to update"\nexit ${pulumiStatus}\n`, { mode: 0o755 });
        // The plan writes its own files into --out's directory (and prints to the log).
        fs.writeFileSync(path.join(bin, "npm"), `#!/bin/bash\necho "npm $*" >>'${log}'\nmkdir -p preview && echo "  380  total" >preview/plan-prod.txt\necho "printed"\n`, { mode: 0o755 });
        // A copy of the repository's script in a scratch project, so preview/ lands there.
        fs.mkdirSync(path.join(dir, ".ci"));
        fs.copyFileSync(path.join(ROOT, ".ci/preview.sh"), path.join(dir, ".ci/preview.sh"));
        fs.copyFileSync(path.join(ROOT, ".ci/policy-args.sh"), path.join(dir, ".ci/policy-args.sh"));
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        fs.copyFileSync(path.join(ROOT, "tsconfig.json"), path.join(dir, "tsconfig.json"));
        fs.mkdirSync(path.join(dir, "ci"));
        fs.copyFileSync(path.join(ROOT, "ci/mrNote.ts"), path.join(dir, "ci/mrNote.ts"));
        const r = spawnSync("bash", [path.join(dir, ".ci/preview.sh")], {
            env: { PATH: `${bin}:${process.env.PATH}`, STACK: "prod", ...(mergeRequest ? { CI_MERGE_REQUEST_IID: "7" } : {}) },
            encoding: "utf8",
            timeout: 60_000,
        });
        const result = {
            r,
            calls: fs.readFileSync(log, "utf8").trim().split("\n"),
            preview: fs.readFileSync(path.join(dir, "preview/preview-prod.txt"), "utf8"),
            plan: fs.readFileSync(path.join(dir, "preview/plan-prod.txt"), "utf8"),
        };
        fs.rmSync(dir, { recursive: true, force: true });
        return result;
    }

    it("runs the offline plan and `pulumi preview --diff` for the stack, keeps both, and never deploys", function () {
        this.timeout(60_000);
        const p = preview(0);
        expect(p.r.status, p.r.stderr).to.equal(0);
        // The policy pack, mandatory: prod is previewed without the advisory config.
        expect(p.calls).to.deep.equal(["npm run --silent plan -- prod --out preview", "pulumi preview --stack prod --diff --non-interactive --color never --policy-pack policy"]);
        expect(p.preview).to.include("~ 1 to update");
        expect(p.plan).to.include("380  total");
        // No token: no note, said once.
        expect(p.r.stderr).to.include("mrNote: GITLAB_API_TOKEN is not set");
    });

    it("outside a merge request (prod's preview on the default branch) it posts no note", function () {
        this.timeout(60_000);
        const p = preview(0, false);
        expect(p.r.status, p.r.stderr).to.equal(0);
        expect(p.r.stderr).to.include("preview: not a merge request: no note");
        expect(p.r.stderr).to.not.include("mrNote");
    });

    it("fails with the preview's status", function () {
        this.timeout(60_000);
        expect(preview(255).r.status).to.equal(255);
    });
});

describe("ci/mrNote (one merge-request note per stack, against a fake GitLab API)", () => {
    interface Call {
        method: string;
        url: string;
        token?: string;
        body?: any;
    }

    /** A fake notes API: the given notes over pages of `pageSize`; records every call. */
    async function fakeGitLab(notes: { id: number; body: string; system?: boolean }[], pageSize = 100, status = 200) {
        const calls: Call[] = [];
        const server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (d) => (raw += d));
            req.on("end", () => {
                calls.push({ method: req.method!, url: req.url!, token: req.headers["private-token"] as string, body: raw ? JSON.parse(raw) : undefined });
                if (status !== 200) {
                    res.writeHead(status).end("forbidden");
                    return;
                }
                const u = new URL(req.url!, "http://x");
                if (req.method === "GET") {
                    const page = Number(u.searchParams.get("page"));
                    const slice = notes.slice((page - 1) * pageSize, page * pageSize);
                    const more = page * pageSize < notes.length;
                    res.writeHead(200, { "content-type": "application/json", ...(more ? { "x-next-page": String(page + 1) } : { "x-next-page": "" }) }).end(JSON.stringify(slice));
                } else {
                    res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" }).end("{}");
                }
            });
        });
        await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
        const port = (server.address() as { port: number }).port;
        const input: MrNoteInput = { apiUrl: `http://127.0.0.1:${port}/api/v4`, projectId: "group/platform", mergeRequestIid: "7", token: "glpat-test", stack: "dev", previewFile: "" };
        return { calls, input, close: () => new Promise((ok) => server.close(ok)) };
    }

    it("creates the note when none carries this stack's marker", async () => {
        const g = await fakeGitLab([{ id: 1, body: "LGTM" }, { id: 2, body: `${marker("prod")}\nold prod preview` }]);
        try {
            expect(await upsertNote(g.input, "BODY")).to.equal("created");
        } finally {
            await g.close();
        }
        expect(g.calls.map((c) => `${c.method} ${c.url.split("?")[0]}`)).to.deep.equal(["GET /api/v4/projects/group%2Fplatform/merge_requests/7/notes", "POST /api/v4/projects/group%2Fplatform/merge_requests/7/notes"]);
        expect(g.calls[1].body).to.deep.equal({ body: "BODY" });
        expect(g.calls.every((c) => c.token === "glpat-test")).to.equal(true);
    });

    it("edits the stack's own note on a later push, even on a later page, and never adds a second", async () => {
        const notes = [...Array.from({ length: 3 }, (_, i) => ({ id: i + 1, body: `comment ${i}` })), { id: 9, body: `${marker("dev")}\nold`, system: false }];
        const g = await fakeGitLab(notes, 2);
        try {
            expect(await upsertNote(g.input, "NEW")).to.equal("updated");
        } finally {
            await g.close();
        }
        expect(g.calls.map((c) => c.method)).to.deep.equal(["GET", "GET", "PUT"]);
        expect(g.calls[2].url).to.equal("/api/v4/projects/group%2Fplatform/merge_requests/7/notes/9");
        expect(g.calls[2].body).to.deep.equal({ body: "NEW" });
    });

    it("fails on an API error (a token without the api scope)", async () => {
        const g = await fakeGitLab([], 100, 403);
        try {
            const err = await upsertNote(g.input, "X").catch((e: Error) => e);
            expect((err as Error).message).to.match(/GET .*notes.*HTTP 403 forbidden/);
        } finally {
            await g.close();
        }
    });

    it("without GITLAB_API_TOKEN does nothing; with it needs the merge request's variables", () => {
        expect(readInput({ CI_API_V4_URL: "https://gitlab.example.com/api/v4" })).to.equal(undefined);
        expect(() => readInput({ GITLAB_API_TOKEN: "t", CI_API_V4_URL: "https://gitlab.example.com/api/v4", CI_PROJECT_ID: "1", STACK: "dev", PREVIEW_FILE: "p" })).to.throw(/CI_MERGE_REQUEST_IID is required/);
    });

    it("the note carries the marker, the change summary and the output, cut when huge, with code fences defused", () => {
        const preview = "Previewing update (dev)\n```evil```\nResources:\n    ~ 2 to update\n    80 unchanged\n";
        const body = noteBody("dev", preview, "  292  total\n", "https://gitlab.example.com/job/1");
        expect(body.startsWith(marker("dev"))).to.equal(true);
        expect(body).to.include("- ~ 2 to update");
        expect(body).to.include("- offline plan: 292 total resources");
        expect(body).to.include("- job: https://gitlab.example.com/job/1");
        expect(body.match(/```/g)).to.have.length(2);
        const huge = noteBody("dev", "x".repeat(MAX_PREVIEW_CHARS + 10), undefined, undefined);
        expect(huge).to.include("(cut: the whole output is in the job's artifacts)");
        expect(huge.length).to.be.lessThan(MAX_PREVIEW_CHARS + 1000);
    });
});
