import * as fs from "fs";
import { requiredEnv } from "../hooks/run";

/**
 * Posts a stack's `pulumi preview` summary as one merge-request note, and on
 * every later push edits that same note instead of adding another. Run by
 * .ci/preview.sh in merge-request pipelines:
 *
 *   node_modules/.bin/ts-node --transpile-only ci/mrNote.ts
 *
 * CI_JOB_TOKEN cannot write notes, so this needs a project access token in
 * GITLAB_API_TOKEN: role Reporter, scope `api`, masked but not protected, so
 * that merge requests from unprotected branches get their note too
 * (docs/operations/ci-setup.md, step 4); without one it says so and does
 * nothing.
 *
 * Whoever can read the merge request reads the note (Reporters; for a
 * protected merge request, prod's), while the diff holds ARNs, configuration
 * and outputs from the decrypted state: so the note carries the change counts
 * and the job's link only, and the diff stays in the job's `access: developer`
 * artifact. The note is found again by a hidden marker that names the stack,
 * in the token user's own notes only: anyone may paste the marker into a
 * comment, and editing theirs would fail (or adopt a note they wrote).
 */

export interface MrNoteInput {
    apiUrl: string;
    projectId: string;
    mergeRequestIid: string;
    token: string;
    stack: string;
    previewFile: string;
    planFile?: string;
    /** The job's URL: its artifacts hold the diff. */
    jobUrl?: string;
}

export function marker(stack: string): string {
    return `<!-- platform:pulumi-preview:${stack} -->`;
}

/**
 * Pulumi's change counts, each a whole line: anchored at both ends so that no
 * line of the diff (a property that happens to read "2 to create") gets into
 * the note. The operations' prefixes include "+-", "++", ">>" and "=>". The
 * summary ends with "N unchanged" after one kind of change, "N changes. M
 * unchanged" after several.
 */
const COUNT_LINE = /^(?:[-+~<>=]{1,2} ?\d+ to [a-z-]+|\d+ unchanged|\d+ changes?(?:\. \d+ unchanged)?)$/;

/** The note's Markdown: the marker, the stack, the change counts, the plan's total and where the diff is. */
export function noteBody(stack: string, preview: string, plan: string | undefined, jobUrl: string | undefined): string {
    const counts = preview
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => COUNT_LINE.test(l));
    const planTotal = plan?.split("\n").find((l) => /^\s*\d+\s+total$/.test(l))?.trim();
    return [
        marker(stack),
        `### \`pulumi preview\`: ${stack}`,
        "",
        ...(counts.length > 0 ? counts.map((l) => `- ${l}`) : ["- (no change counts found: see the job)"]),
        ...(planTotal ? [`- offline plan: ${planTotal.replace(/\s+/g, " ")} resources`] : []),
        ...(jobUrl ? [`- job: ${jobUrl}`] : []),
        "",
        "The diff is in the job's artifacts (`preview/`), for project developers only.",
        "",
    ].join("\n");
}

export function readInput(env: NodeJS.ProcessEnv): MrNoteInput | undefined {
    if (!env.GITLAB_API_TOKEN) {
        return undefined;
    }
    const required = requiredEnv(env);
    return {
        apiUrl: required("CI_API_V4_URL").replace(/\/$/, ""),
        projectId: required("CI_PROJECT_ID"),
        mergeRequestIid: required("CI_MERGE_REQUEST_IID"),
        token: required("GITLAB_API_TOKEN"),
        stack: required("STACK"),
        previewFile: required("PREVIEW_FILE"),
        planFile: env.PLAN_FILE || undefined,
        jobUrl: env.CI_JOB_URL || undefined,
    };
}

type Fetch = typeof fetch;

interface Note {
    id: number;
    body: string;
    system?: boolean;
    author?: { id?: number };
}

/** Creates the stack's note, or edits the one an earlier push created. Returns what it did. */
export async function upsertNote(input: MrNoteInput, body: string, http: Fetch = fetch): Promise<"created" | "updated"> {
    const notes = `${input.apiUrl}/projects/${encodeURIComponent(input.projectId)}/merge_requests/${input.mergeRequestIid}/notes`;
    const headers = { "PRIVATE-TOKEN": input.token, "Content-Type": "application/json" };
    const call = async (url: string, init: RequestInit) => {
        const r = await http(url, { ...init, headers });
        if (!r.ok) {
            throw new Error(`${init.method ?? "GET"} ${url.replace(input.apiUrl, "")}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
        }
        return r;
    };
    // The token's own user (a project access token's bot): only its notes are this tool's.
    const me = ((await (await call(`${input.apiUrl}/user`, { method: "GET" })).json()) as { id?: unknown }).id;
    if (typeof me !== "number") {
        // Without an id, a note without an author would pass as ours.
        throw new Error("GET /user: no user id in the answer");
    }
    const tag = marker(input.stack);
    for (let page = 1; ; page++) {
        const r = await call(`${notes}?per_page=100&page=${page}&sort=asc&order_by=created_at`, { method: "GET" });
        const list = (await r.json()) as Note[];
        const mine = list.find((n) => !n.system && n.author?.id === me && n.body.includes(tag));
        if (mine) {
            await call(`${notes}/${mine.id}`, { method: "PUT", body: JSON.stringify({ body }) });
            return "updated";
        }
        const next = r.headers.get("x-next-page");
        if (!next || list.length === 0) {
            break;
        }
    }
    await call(notes, { method: "POST", body: JSON.stringify({ body }) });
    return "created";
}

async function main(): Promise<void> {
    const input = readInput(process.env);
    if (!input) {
        process.stderr.write("mrNote: GITLAB_API_TOKEN is not set: no merge-request note (the preview is in the job's artifacts)\n");
        return;
    }
    const preview = fs.readFileSync(input.previewFile, "utf8");
    const plan = input.planFile && fs.existsSync(input.planFile) ? fs.readFileSync(input.planFile, "utf8") : undefined;
    const what = await upsertNote(input, noteBody(input.stack, preview, plan, input.jobUrl));
    process.stderr.write(`mrNote: ${what} the ${input.stack} preview note\n`);
}

if (require.main === module) {
    main().catch((e: unknown) => {
        process.stderr.write(`mrNote: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
    });
}
