import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { expect } from "chai";
import { createAndStore, gitlabApi, readInput, RunnerTokenInput } from "../tools/runnerToken";
import { ROOT } from "../sim/harness";
import { parseGitlabCi } from "../ci/gitlabYaml";

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:platform-prod/runner-token-abc-AbCdEf";
const DEPLOY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:platform-prod/runner-deploy-token-xyz-AbCdEf";

/** A fake GitLab answering POST /api/v4/user/runners; records the requests. */
async function fakeGitLab(status: number, answer: unknown) {
    const requests: { method: string; url: string; token: string; body: any }[] = [];
    const server = http.createServer((req, res) => {
        let raw = "";
        req.on("data", (d) => (raw += d));
        req.on("end", () => {
            requests.push({ method: req.method!, url: req.url!, token: req.headers["private-token"] as string, body: raw ? JSON.parse(raw) : undefined });
            res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
        });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { requests, url, close: () => new Promise((ok) => server.close(ok)) };
}

const input = (gitlabUrl: string, kind: RunnerTokenInput["kind"] = "general"): RunnerTokenInput => ({
    gitlabUrl,
    adminToken: "glpat-admin",
    secretArn: kind === "deploy" ? DEPLOY_ARN : ARN,
    region: "us-east-1",
    description: "platform runner",
    kind,
    ...(kind === "deploy" ? { projectId: 42 } : {}),
});

describe("tools/runnerToken (the runner token, created and stored in one command)", () => {
    it("creates an instance runner with the admin token and stores its glrt- token in the secret, printing no token", async () => {
        const g = await fakeGitLab(201, { id: 42, token: "glrt-s3cret_Token", token_expires_at: null });
        const stored: [string, string][] = [];
        const logs: string[] = [];
        try {
            const id = await createAndStore(input(g.url), { createRunner: gitlabApi(), storeSecret: async (a, v) => void stored.push([a, v]), log: (s) => logs.push(s) });
            expect(id).to.equal(42);
        } finally {
            await g.close();
        }
        expect(g.requests).to.have.length(1);
        expect(g.requests[0]).to.deep.include({ method: "POST", url: "/api/v4/user/runners", token: "glpat-admin" });
        expect(g.requests[0].body).to.deep.equal({ runner_type: "instance_type", description: "platform runner", run_untagged: true, access_level: "not_protected" });
        expect(stored).to.deep.equal([[ARN, "glrt-s3cret_Token"]]);
        expect(logs.join("\n")).to.not.include("glrt-");
    });

    it("the deploy runner: a project runner locked to the project, taking only platform-deploy jobs of protected refs", async () => {
        const g = await fakeGitLab(201, { id: 1, token: "glrt-t1_x.y" });
        try {
            await createAndStore(input(g.url, "deploy"), { createRunner: gitlabApi(), storeSecret: async () => undefined, log: () => undefined });
        } finally {
            await g.close();
        }
        // No job on it outlives a deploy: GitLab caps every job's timeout at the deploy job's own.
        const deployTimeout = /^(\d+)m$/.exec((parseGitlabCi(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8"))[".deploy"] as { timeout: string }).timeout)!;
        expect(g.requests[0].body).to.deep.equal({
            runner_type: "project_type",
            project_id: 42,
            locked: true,
            description: "platform runner",
            run_untagged: false,
            tag_list: ["platform-deploy"],
            access_level: "ref_protected",
            maximum_timeout: Number(deployTimeout[1]) * 60,
        });
    });

    it("fails clearly without an administrator's create_runner token, storing nothing", async () => {
        const g = await fakeGitLab(403, { message: "403 Forbidden" });
        const stored: string[] = [];
        try {
            const err = await createAndStore(input(g.url), { createRunner: gitlabApi(), storeSecret: async (_a, v) => void stored.push(v), log: () => undefined }).catch((e: Error) => e);
            expect((err as Error).message).to.match(/HTTP 403 .*create_runner scope/);
        } finally {
            await g.close();
        }
        expect(stored).to.deep.equal([]);
    });

    it("says which runner to delete when the token cannot be stored (GitLab shows it only once)", async () => {
        const err = await createAndStore(input("https://unused"), {
            createRunner: async () => ({ id: 7, token: "glrt-abc" }),
            storeSecret: async () => {
                throw new Error("AccessDeniedException");
            },
            log: () => undefined,
        }).catch((e: Error) => e);
        expect((err as Error).message).to.match(/runner 7 was created but its token could not be stored \(AccessDeniedException\); delete the runner/);
        expect((err as Error).message).to.not.include("glrt-abc");
    });

    it("refuses an answer without a runner authentication token", async () => {
        const err = await createAndStore(input("https://unused"), { createRunner: async () => ({ id: 8, token: "" }), storeSecret: async () => undefined, log: () => undefined }).catch((e: Error) => e);
        expect((err as Error).message).to.include("without a runner authentication token");
    });

    describe("readInput", () => {
        const env = { GITLAB_URL: "https://gitlab.example.com/", GITLAB_ADMIN_TOKEN: "glpat-x", SECRET_ARN: ARN, AWS_REGION: "us-east-1" };
        const deploy = { ...env, RUNNER_KIND: "deploy", SECRET_ARN: DEPLOY_ARN, GITLAB_PROJECT_ID: "42" };
        it("parses the environment: the general runner by default, the deploy runner with its project", () => {
            expect(readInput(env)).to.deep.equal({ gitlabUrl: "https://gitlab.example.com", adminToken: "glpat-x", secretArn: ARN, region: "us-east-1", description: "platform runner (docker-autoscaler on AWS)", kind: "general", projectId: undefined });
            expect(readInput(deploy)).to.deep.include({ kind: "deploy", projectId: 42, secretArn: DEPLOY_ARN });
        });
        for (const [key, value, message] of [
            ["GITLAB_URL", "http://gitlab.example.com", /must be https:\/\/<host>/],
            ["SECRET_ARN", "runner-token", /is not a Secrets Manager secret ARN/],
            ["GITLAB_ADMIN_TOKEN", "", /GITLAB_ADMIN_TOKEN is required/],
            // The deploy runner's token in the general fleet's secret would let that fleet take deploy jobs.
            ["SECRET_ARN", DEPLOY_ARN, /is not the general runner's token secret \(…\/runner-token-…\)/],
            ["RUNNER_KIND", "shell", /RUNNER_KIND "shell" is not one of general, deploy/],
        ] as const) {
            it(`rejects ${key}=${JSON.stringify(value)}`, () => {
                expect(() => readInput({ ...env, [key]: value })).to.throw(message);
            });
        }
        it("the deploy runner needs its project's id and its own secret", () => {
            expect(() => readInput({ ...deploy, GITLAB_PROJECT_ID: "" })).to.throw(/GITLAB_PROJECT_ID is required/);
            expect(() => readInput({ ...deploy, GITLAB_PROJECT_ID: "platform/infrastructure" })).to.throw(/is not a project id/);
            expect(() => readInput({ ...deploy, SECRET_ARN: ARN })).to.throw(/is not the deploy runner's token secret \(…\/runner-deploy-token-…\)/);
        });
    });

    it("CLI: with no inputs exits 1 with one 'runnerToken:' line", function () {
        this.timeout(60_000);
        const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "tools/runnerToken.ts"], { cwd: ROOT, env: { PATH: process.env.PATH! }, encoding: "utf8" });
        expect(r.status).to.equal(1);
        expect(r.stderr.split("\n").filter((l) => l !== "")).to.deep.equal(["runnerToken: environment variable GITLAB_URL is required"]);
    });
});
