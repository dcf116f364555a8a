import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { marker, MAX_PREVIEW_CHARS, MrNoteInput, noteBody, readInput, upsertNote } from "../ci/mrNote";
import { ROOT } from "../sim/harness";

describe(".ci/preview.sh (fake pulumi and npm on PATH)", () => {
    /** A line of the diff that only project members may read (the artifact), never the job log. */
    const SECRETISH = `roleArn: "arn:aws:iam::123456789012:role/platform-prod-app-task" => "SECRET-ish-config-value"`;
    function preview(pulumiStatus: number, mergeRequest = true) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "calls");
        fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/bash\necho "pulumi $*" >>'${log}'\necho "    ~ aws:ecs/service:Service: (update)"\necho '      ${SECRETISH}'\necho "Resources:"\necho "    ~ 1 to update"\necho "    80 unchanged"\nexit ${pulumiStatus}\n`, { mode: 0o755 });
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
        // The diff is in the artifact; the job log, readable by whoever sees the pipeline, has the counts only.
        expect(p.preview).to.include(SECRETISH);
        const log = p.r.stdout + p.r.stderr;
        expect(log).to.not.include("SECRET-ish");
        expect(log).to.not.include("arn:aws:");
        expect(p.r.stdout).to.include("~ 1 to update");
        expect(p.r.stdout).to.include("80 unchanged");
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
