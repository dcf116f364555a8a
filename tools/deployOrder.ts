import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/**
 * Deploys in order, set where GitLab keeps it (its API only, no
 * .gitlab-ci.yml keyword): every resource group of .gitlab-ci.yml processes
 * its jobs oldest first (GitLab creates groups `unordered`), and the project
 * refuses outdated deployment jobs and their retries. With ci/ancestry.ts
 * this keeps an older pipeline from deploying over a newer one.
 *
 *   GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-… GITLAB_PROJECT=platform/infrastructure \
 *   node_modules/.bin/ts-node --transpile-only tools/deployOrder.ts
 *
 * A maintainer's token (`api` scope). Run it once after the first pipeline
 * that created the groups (a group exists from its first job), and again
 * when .gitlab-ci.yml gains a group.
 */

export const PROCESS_MODE = "oldest_first";

/** Project settings: a newer deployment fails older pending deploy jobs, and an old deploy job may not be retried. */
export const PROJECT_SETTINGS = { ci_forward_deployment_enabled: true, ci_forward_deployment_rollback_allowed: false } as const;

/** Every `resource_group` a job of the pipeline file names, sorted. */
export function resourceGroups(ciYaml: string): string[] {
    const doc = parse(ciYaml) as Record<string, unknown>;
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

/** Sets the groups' process mode and the project's settings; returns what it did, one line each. */
export async function applyDeployOrder(input: DeployOrderInput, groups: readonly string[], http: typeof fetch = fetch): Promise<string[]> {
    const api = `${input.gitlabUrl}/api/v4/projects/${encodeURIComponent(input.project)}`;
    const put = async (url: string, body: Record<string, unknown>, what: string) => {
        const r = await http(url, { method: "PUT", headers: { "PRIVATE-TOKEN": input.token, "Content-Type": "application/json" }, body: JSON.stringify(body) });
        if (r.status !== 200) {
            const hint = r.status === 404 ? " (a resource group exists once a pipeline has run a job of it)" : "";
            throw new Error(`${what}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}${hint}`);
        }
    };
    const done: string[] = [];
    for (const g of groups) {
        await put(`${api}/resource_groups/${encodeURIComponent(g)}`, { process_mode: PROCESS_MODE }, `resource group ${g}`);
        done.push(`resource group ${g}: ${PROCESS_MODE}`);
    }
    await put(api, { ...PROJECT_SETTINGS }, "project settings");
    done.push(`project: ${Object.entries(PROJECT_SETTINGS).map(([k, v]) => `${k}=${v}`).join(", ")}`);
    return done;
}

async function main(): Promise<void> {
    const required = (name: string): string => {
        const v = process.env[name]?.trim();
        if (!v) {
            throw new Error(`environment variable ${name} is required`);
        }
        return v;
    };
    const input = { gitlabUrl: required("GITLAB_URL").replace(/\/$/, ""), token: required("GITLAB_TOKEN"), project: required("GITLAB_PROJECT") };
    const groups = resourceGroups(fs.readFileSync(path.join(__dirname, "..", ".gitlab-ci.yml"), "utf8"));
    for (const line of await applyDeployOrder(input, groups)) {
        process.stderr.write(`${line}\n`);
    }
}

if (require.main === module) {
    main().catch((e: unknown) => {
        process.stderr.write(`deployOrder: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
    });
}
