import * as fs from "fs";
import * as path from "path";
import { parseGitlabCi } from "../ci/gitlabYaml";
import { requiredEnv, runHook } from "../hooks/run";
import { parseCli, TS_NODE } from "./cli";

/**
 * The project's CI settings, set where GitLab keeps them (its API only, no
 * .gitlab-ci.yml keyword):
 *  - deploys in order: every resource group of .gitlab-ci.yml processes its
 *    jobs oldest first (GitLab creates groups `unordered`), and the project
 *    refuses outdated deployment jobs and their retries. With ci/ancestry.ts
 *    this keeps an older pipeline from deploying over a newer one.
 *  - what the CI roles' trust rests on (docs/decisions/deploy-identity.md): a fork's
 *    merge-request pipeline never runs in this project (its token's `sub`
 *    would be this project's path and the fork's branch name, `main`
 *    included, while it runs the fork's own .gitlab-ci.yml), and no one sets
 *    pipeline variables. Read back after the PUT: a GitLab that ignored one
 *    fails the run.
 *
 *   GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… GITLAB_PROJECT=platform/infrastructure \
 *   node_modules/.bin/ts-node --transpile-only tools/deployOrder.ts
 *
 * A maintainer's token (`api` scope). Run it once after the first pipeline
 * that created the groups (a group exists from its first job), and again
 * when .gitlab-ci.yml gains a group.
 */

export const PROCESS_MODE = "oldest_first";

/**
 * Project settings (`PUT /projects/:id`): a newer deployment fails older pending deploy jobs, and an old deploy job
 * may not be retried; fork merge requests run their pipelines in the fork (GitLab's default is the parent project);
 * pipeline variables are for no one (`restrict_user_defined_variables`, which once gated this role, is ignored from
 * GitLab 18.1 and gone since).
 */
export const PROJECT_SETTINGS = {
    ci_forward_deployment_enabled: true,
    ci_forward_deployment_rollback_allowed: false,
    ci_allow_fork_pipelines_to_run_in_parent_project: false,
    ci_pipeline_variables_minimum_override_role: "no_one_allowed",
} as const;

/** Every `resource_group` a job of the pipeline file names, sorted. */
export function resourceGroups(ciYaml: string): string[] {
    const doc = parseGitlabCi(ciYaml) as Record<string, unknown>;
    const keys = Object.values(doc)
        .map((job) => (job && typeof job === "object" ? (job as { resource_group?: unknown }).resource_group : undefined))
        .filter((g): g is string => typeof g === "string");
    return [...new Set(keys)].sort();
}

export interface DeployOrderInput {
    readonly gitlabUrl: string;
    readonly token: string;
    readonly project: string;
}

/** The settings the project does not hold as PROJECT_SETTINGS says, one `key: value read back` each. */
export function settingsNotApplied(project: Record<string, unknown>): string[] {
    return Object.entries(PROJECT_SETTINGS)
        .filter(([k, v]) => project[k] !== v)
        .map(([k]) => `${k}: ${k in project ? JSON.stringify(project[k]) : "absent"}`);
}

/**
 * Sets the project's settings and reads them back first: the CI roles' trust
 * needs them from the first pipeline on, so they never wait for the resource
 * groups. Then each group's process mode; a group GitLab has not created yet
 * (it does with the group's first job) is reported, not fatal: run the tool
 * again after the first deploy. Returns what it did, one line each.
 */
export async function applyDeployOrder(input: DeployOrderInput, groups: readonly string[], http: typeof fetch = fetch): Promise<string[]> {
    const api = `${input.gitlabUrl}/api/v4/projects/${encodeURIComponent(input.project)}`;
    const call = async (method: "PUT" | "GET", url: string, what: string, body?: Record<string, unknown>) => {
        const r = await http(url, { method, headers: { "PRIVATE-TOKEN": input.token, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
        if (r.status !== 200) {
            throw Object.assign(new Error(`${what}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`), { status: r.status });
        }
        return (await r.json()) as Record<string, unknown>;
    };
    await call("PUT", api, "project settings", { ...PROJECT_SETTINGS });
    const missing = settingsNotApplied(await call("GET", api, "project settings read back"));
    if (missing.length > 0) {
        throw new Error(`project settings not applied (the CI roles' trust needs them, docs/decisions/deploy-identity.md): ${missing.join("; ")}`);
    }
    const done = [`project: ${Object.entries(PROJECT_SETTINGS).map(([k, v]) => `${k}=${v}`).join(", ")}`];
    for (const g of groups) {
        try {
            await call("PUT", `${api}/resource_groups/${encodeURIComponent(g)}`, `resource group ${g}`, { process_mode: PROCESS_MODE });
            done.push(`resource group ${g}: ${PROCESS_MODE}`);
        } catch (e) {
            if ((e as { status?: number }).status !== 404) {
                throw e;
            }
            done.push(`resource group ${g}: not created yet (GitLab creates it with its first job); run this again after the first deploy`);
        }
    }
    return done;
}

async function main(): Promise<void> {
    const env = requiredEnv(process.env);
    const required = (name: string) => env(name).trim();
    const input = { gitlabUrl: required("GITLAB_URL").replace(/\/$/, ""), token: required("GITLAB_TOKEN"), project: required("GITLAB_PROJECT") };
    const groups = resourceGroups(fs.readFileSync(path.join(__dirname, "..", ".gitlab-ci.yml"), "utf8"));
    const done = await applyDeployOrder(input, groups);
    for (const line of done) {
        process.stderr.write(`${line}\n`);
    }
    const pending = done.filter((l) => l.includes("not created yet")).length;
    if (pending > 0) {
        // Also what a misspelt group would look like: it stays pending run after run.
        process.stderr.write(`deployOrder: ${pending} of ${groups.length} resource groups still unordered in GitLab: run this again after the first deploy pipeline\n`);
    }
}

if (require.main === module) {
    parseCli({
        name: "deployOrder",
        usage: [
            `usage: ${TS_NODE} tools/deployOrder.ts`,
            "  GITLAB_URL      https://<host> of the GitLab",
            "  GITLAB_TOKEN    a maintainer's token (api scope)",
            "  GITLAB_PROJECT  the project's id or path",
        ].join("\n"),
    });
    runHook("deployOrder", main);
}
