import * as fs from "fs";

/**
 * Posts a stack's `pulumi preview` as one merge-request note, and on every
 * later push edits that same note instead of adding another. Run by
 * .ci/preview.sh in merge-request pipelines:
 *
 *   node_modules/.bin/ts-node --transpile-only ci/mrNote.ts
 *
 * CI_JOB_TOKEN cannot write notes, so this needs a project access token in
 * GITLAB_API_TOKEN: role Reporter, scope `api`, masked but not protected, so
 * that merge requests from unprotected branches get their note too (README:
 * "Setting it up"); without one it says so and does nothing. The note is
 * found again by a hidden marker that names the stack.
 */

export interface MrNoteInput {
    apiUrl: string;
    projectId: string;
    mergeRequestIid: string;
    token: string;
    stack: string;
    previewFile: string;
    planFile?: string;
    /** The job's URL, for the full output. */
    jobUrl?: string;
}

/** Notes longer than this are cut (GitLab's limit is far higher; a reviewer reads the artifact). */
export const MAX_PREVIEW_CHARS = 60_000;

export function marker(stack: string): string {
    return `<!-- platform:pulumi-preview:${stack} -->`;
}

/** The note's Markdown: the marker, the stack, the preview (cut if long) and the plan's summary line. */
export function noteBody(stack: string, preview: string, plan: string | undefined, jobUrl: string | undefined): string {
    const cut = preview.length > MAX_PREVIEW_CHARS;
    const shown = cut ? `${preview.slice(0, MAX_PREVIEW_CHARS)}\n… (cut: the whole output is in the job's artifacts)` : preview;
    const summary = preview
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /^(Resources:|[+~-]+ \d+ to |\d+ unchanged)/.test(l) || /\d+ to (create|update|delete|replace)/.test(l));
    const planTotal = plan?.split("\n").find((l) => /^\s*\d+\s+total$/.test(l))?.trim();
    return [
        marker(stack),
        `### \`pulumi preview\`: ${stack}`,
        "",
        ...(summary.length > 0 ? summary.map((l) => `- ${l}`) : ["- (no summary line found: see the output)"]),
        ...(planTotal ? [`- offline plan: ${planTotal.replace(/\s+/g, " ")} resources`] : []),
        ...(jobUrl ? [`- job: ${jobUrl}`] : []),
        "",
        "<details><summary>Output</summary>",
        "",
        "```",
        shown.replace(/```/g, "`\u200b``"),
        "```",
        "</details>",
        "",
    ].join("\n");
}

export function readInput(env: NodeJS.ProcessEnv): MrNoteInput | undefined {
    if (!env.GITLAB_API_TOKEN) {
        return undefined;
    }
    const required = (name: string): string => {
        const v = env[name];
        if (!v) {
            throw new Error(`environment variable ${name} is required`);
        }
        return v;
    };
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
    const tag = marker(input.stack);
    for (let page = 1; ; page++) {
        const r = await call(`${notes}?per_page=100&page=${page}&sort=asc&order_by=created_at`, { method: "GET" });
        const list = (await r.json()) as { id: number; body: string; system?: boolean }[];
        const mine = list.find((n) => !n.system && n.body.includes(tag));
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
