import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { marker, MrNoteInput, noteBody, readInput, upsertNote } from "../ci/mrNote";
import { ROOT } from "../sim/harness";

interface Call {
    method: string;
    url: string;
    token?: string;
    body?: any;
}

interface FakeNote {
    id: number;
    body: string;
    system?: boolean;
    author: { id: number };
}

/** The token's own user, as GET /user answers it (a project access token's bot). */
const BOT = 42;
/** Someone else on the merge request (a Reporter, or a Developer who read the token's name from a job). */
const OTHER = 7;

/**
 * A fake GitLab: GET /user, and the merge request's notes over pages of
 * `pageSize`, kept as they are created and edited. Editing another author's
 * note is refused, as GitLab does. Records every call.
 */
async function fakeGitLab(notes: FakeNote[], opts: { pageSize?: number; status?: number; user?: unknown } = {}) {
    const { pageSize = 100, status = 200, user = { id: BOT, username: "project_1_bot" } } = opts;
    const calls: Call[] = [];
    const server = http.createServer((req, res) => {
        let raw = "";
        req.on("data", (d) => (raw += d));
        req.on("end", () => {
            const body = raw ? JSON.parse(raw) : undefined;
            calls.push({ method: req.method!, url: req.url!, token: req.headers["private-token"] as string, body });
            const json = (code: number, value: unknown, headers: Record<string, string> = {}) =>
                res.writeHead(code, { "content-type": "application/json", ...headers }).end(JSON.stringify(value));
            if (status !== 200) {
                res.writeHead(status).end("forbidden");
                return;
            }
            const u = new URL(req.url!, "http://x");
            const edit = /\/notes\/(\d+)$/.exec(u.pathname);
            if (req.method === "GET" && u.pathname === "/api/v4/user") {
                json(200, user);
            } else if (req.method === "GET") {
                const page = Number(u.searchParams.get("page"));
                const more = page * pageSize < notes.length;
                json(200, notes.slice((page - 1) * pageSize, page * pageSize), { "x-next-page": more ? String(page + 1) : "" });
            } else if (req.method === "PUT" && edit) {
                const note = notes.find((n) => n.id === Number(edit[1]));
                if (note?.author.id !== BOT) {
                    json(403, { message: "403 Forbidden" });
                    return;
                }
                note.body = body.body;
                json(200, note);
            } else {
                const note = { id: Math.max(0, ...notes.map((n) => n.id)) + 1, body: body.body, author: { id: BOT } };
                notes.push(note);
                json(201, note);
            }
        });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = (server.address() as { port: number }).port;
    const input: MrNoteInput = { apiUrl: `http://127.0.0.1:${port}/api/v4`, projectId: "group/platform", mergeRequestIid: "7", token: "glpat-test", stack: "dev", previewFile: "" };
    return { calls, notes, input, close: () => new Promise((ok) => server.close(ok)) };
}

describe(".ci/preview.sh (fake pulumi and npm on PATH)", () => {
    /** A line of the diff that only project members may read (the artifact), never the job log or the note. */
    const SECRETISH = `roleArn: "arn:aws:iam::123456789012:role/platform-prod-app-task" => "SECRET-ish-config-value"`;
    const RESOURCE = "~ aws:ecs/service:Service: (update)";
    const JOB_URL = "https://gitlab.example.com/group/platform/-/jobs/99";

    /** Runs the script in a scratch project; `api` is a fake GitLab's URL, for the note. Async: the fake answers from this process. */
    async function preview(pulumiStatus: number, opts: { mergeRequest?: boolean; api?: string } = {}) {
        const { mergeRequest = true, api } = opts;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "calls");
        fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/bash\necho "pulumi $*" >>'${log}'\necho "    ${RESOURCE}"\necho '      ${SECRETISH}'\necho "Resources:"\necho "    ~ 1 to update"\necho "    80 unchanged"\nexit ${pulumiStatus}\n`, { mode: 0o755 });
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
        fs.mkdirSync(path.join(dir, "hooks"));
        fs.copyFileSync(path.join(ROOT, "hooks/run.ts"), path.join(dir, "hooks/run.ts"));
        const env: NodeJS.ProcessEnv = {
            PATH: `${bin}:${process.env.PATH}`,
            STACK: "prod",
            ...(mergeRequest ? { CI_MERGE_REQUEST_IID: "7" } : {}),
            ...(api ? { GITLAB_API_TOKEN: "glpat-test", CI_API_V4_URL: api, CI_PROJECT_ID: "group/platform", CI_JOB_URL: JOB_URL } : {}),
        };
        const child = spawn("bash", [path.join(dir, ".ci/preview.sh")], { env, timeout: 60_000 });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const status = await new Promise<number | null>((ok) => child.on("close", ok));
        const result = {
            r: { status, stdout, stderr },
            calls: fs.readFileSync(log, "utf8").trim().split("\n"),
            preview: fs.readFileSync(path.join(dir, "preview/preview-prod.txt"), "utf8"),
            plan: fs.readFileSync(path.join(dir, "preview/plan-prod.txt"), "utf8"),
        };
        fs.rmSync(dir, { recursive: true, force: true });
        return result;
    }

    it("runs the offline plan and `pulumi preview --diff` for the stack, keeps both, and never deploys", async function () {
        this.timeout(60_000);
        const p = await preview(0);
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

    it("posts a note with the counts, the plan's total and the job's link, and none of the diff; the next push edits it", async function () {
        this.timeout(120_000);
        const g = await fakeGitLab([{ id: 1, body: "LGTM", author: { id: OTHER } }]);
        try {
            const first = await preview(0, { api: g.input.apiUrl });
            expect(first.r.status, first.r.stderr).to.equal(0);
            expect(first.r.stderr).to.include("mrNote: created the prod preview note");
            const second = await preview(0, { api: g.input.apiUrl });
            expect(second.r.stderr).to.include("mrNote: updated the prod preview note");
        } finally {
            await g.close();
        }
        expect(g.calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.url}`)).to.deep.equal([
            "POST /api/v4/projects/group%2Fplatform/merge_requests/7/notes",
            "PUT /api/v4/projects/group%2Fplatform/merge_requests/7/notes/2",
        ]);
        expect(g.calls.every((c) => c.token === "glpat-test")).to.equal(true);
        expect(g.notes).to.have.length(2);
        const note = g.notes[1].body;
        expect(note.startsWith(marker("prod"))).to.equal(true);
        expect(note).to.include("- ~ 1 to update");
        expect(note).to.include("- 80 unchanged");
        expect(note).to.include("- offline plan: 380 total resources");
        expect(note).to.include(`- job: ${JOB_URL}`);
        expect(note).to.include("The diff is in the job's artifacts");
        // Whoever reads the merge request reads the note: not a line of the diff.
        expect(note).to.not.include("arn:aws:");
        expect(note).to.not.include("SECRET-ish");
        expect(note).to.not.include("aws:ecs/service");
        expect(note).to.not.include("```");
    });

    it("outside a merge request (prod's preview on the default branch) it posts no note", async function () {
        this.timeout(60_000);
        const p = await preview(0, { mergeRequest: false });
        expect(p.r.status, p.r.stderr).to.equal(0);
        expect(p.r.stderr).to.include("preview: not a merge request: no note");
        expect(p.r.stderr).to.not.include("mrNote");
    });

    it("fails with the preview's status", async function () {
        this.timeout(60_000);
        expect((await preview(255)).r.status).to.equal(255);
    });
});

describe("ci/mrNote (one merge-request note per stack, against a fake GitLab API)", () => {
    const NOTES = "/api/v4/projects/group%2Fplatform/merge_requests/7/notes";

    it("creates the note when none of its own carries this stack's marker", async () => {
        const g = await fakeGitLab([
            { id: 1, body: "LGTM", author: { id: OTHER } },
            { id: 2, body: `${marker("prod")}\nold prod preview`, author: { id: BOT } },
        ]);
        try {
            expect(await upsertNote(g.input, "BODY")).to.equal("created");
        } finally {
            await g.close();
        }
        expect(g.calls.map((c) => `${c.method} ${c.url.split("?")[0]}`)).to.deep.equal(["GET /api/v4/user", `GET ${NOTES}`, `POST ${NOTES}`]);
        expect(g.calls[2].body).to.deep.equal({ body: "BODY" });
        expect(g.calls.every((c) => c.token === "glpat-test")).to.equal(true);
    });

    it("ignores the marker in another author's note: creates its own and leaves that one alone", async () => {
        // Pasted into a comment (editing it would be refused), or a note posted to pass as the preview.
        const theirs = `quoting the bot:\n${marker("dev")}\nall clear, merge it`;
        const g = await fakeGitLab([{ id: 3, body: theirs, author: { id: OTHER } }]);
        try {
            expect(await upsertNote(g.input, "NEW")).to.equal("created");
        } finally {
            await g.close();
        }
        expect(g.calls.map((c) => `${c.method} ${c.url.split("?")[0]}`)).to.deep.equal(["GET /api/v4/user", `GET ${NOTES}`, `POST ${NOTES}`]);
        expect(g.notes[0]).to.deep.equal({ id: 3, body: theirs, author: { id: OTHER } });
        expect(g.notes[1]).to.deep.equal({ id: 4, body: "NEW", author: { id: BOT } });
    });

    it("edits the stack's own note on a later push, even on a later page and after another author's copy, and never adds a second", async () => {
        const notes: FakeNote[] = [
            ...Array.from({ length: 2 }, (_, i) => ({ id: i + 1, body: `comment ${i}`, author: { id: OTHER } })),
            { id: 3, body: `${marker("dev")}\nfake`, author: { id: OTHER } },
            { id: 9, body: `${marker("dev")}\nold`, system: false, author: { id: BOT } },
        ];
        const g = await fakeGitLab(notes, { pageSize: 2 });
        try {
            expect(await upsertNote(g.input, "NEW")).to.equal("updated");
        } finally {
            await g.close();
        }
        expect(g.calls.map((c) => c.method)).to.deep.equal(["GET", "GET", "GET", "PUT"]);
        expect(g.calls[3].url).to.equal(`${NOTES}/9`);
        expect(g.calls[3].body).to.deep.equal({ body: "NEW" });
        expect(g.notes.map((n) => n.body)).to.deep.equal(["comment 0", "comment 1", `${marker("dev")}\nfake`, "NEW"]);
    });

    it("fails when GET /user names no user, rather than take an authorless note for its own", async () => {
        const g = await fakeGitLab([{ id: 1, body: marker("dev") } as FakeNote], { user: { message: "?" } });
        try {
            const err = await upsertNote(g.input, "X").catch((e: Error) => e);
            expect((err as Error).message).to.match(/GET \/user: no user id/);
        } finally {
            await g.close();
        }
        expect(g.calls.map((c) => c.method)).to.deep.equal(["GET"]);
    });

    it("fails on an API error (a token without the api scope)", async () => {
        const g = await fakeGitLab([], { status: 403 });
        try {
            const err = await upsertNote(g.input, "X").catch((e: Error) => e);
            expect((err as Error).message).to.match(/GET \/user: HTTP 403 forbidden/);
        } finally {
            await g.close();
        }
    });

    it("without GITLAB_API_TOKEN does nothing; with it needs the merge request's variables", () => {
        expect(readInput({ CI_API_V4_URL: "https://gitlab.example.com/api/v4" })).to.equal(undefined);
        expect(() => readInput({ GITLAB_API_TOKEN: "t", CI_API_V4_URL: "https://gitlab.example.com/api/v4", CI_PROJECT_ID: "1", STACK: "dev", PREVIEW_FILE: "p" })).to.throw(/CI_MERGE_REQUEST_IID is required/);
    });

    it("the note carries the marker, the change counts (whole lines only), the plan's total and the job's link, and no output", () => {
        const preview = [
            "Previewing update (dev)",
            "```evil```",
            "    ~ aws:iam/role:Role: (update)",
            '        description: "2 to create" => "arn:aws:iam::123456789012:role/x"',
            "Resources:",
            "    ~ 2 to update",
            "    +-1 to replace",
            // Two kinds of change: Pulumi's closing line counts them.
            "    3 changes. 80 unchanged",
            "",
        ].join("\n");
        const body = noteBody("dev", preview, "  292  total\n", "https://gitlab.example.com/job/1");
        expect(body.startsWith(marker("dev"))).to.equal(true);
        expect(body).to.include("- ~ 2 to update");
        expect(body).to.include("- +-1 to replace");
        expect(body).to.include("- 3 changes. 80 unchanged");
        expect(body).to.include("- offline plan: 292 total resources");
        expect(body).to.include("- job: https://gitlab.example.com/job/1");
        expect(body).to.include("The diff is in the job's artifacts");
        for (const absent of ["Previewing", "evil", "```", "aws:iam/role", "2 to create", "arn:aws:", "<details>"]) {
            expect(body).to.not.include(absent);
        }
        // A failed preview has no counts: the note says so, and still quotes nothing.
        expect(noteBody("dev", "error: no credentials\n", undefined, undefined)).to.include("- (no change counts found: see the job)");
    });
});
