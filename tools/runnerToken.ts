import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { REGISTRATIONS } from "../components/runner/facts";
import { requiredEnv } from "../hooks/run";
import { parseCli, TS_NODE } from "./cli";

/**
 * The one manual step of each runner fleet, as one command: creates the
 * runner in GitLab (`POST /api/v4/user/runners`, which needs an
 * administrator's personal access token with the `create_runner` scope) and
 * stores its authentication token (glrt-…, shown by GitLab only once) in the
 * fleet's Secrets Manager secret. The token goes from GitLab's answer
 * straight into Secrets Manager: never printed, never in config or state.
 * RUNNER_KIND picks how GitLab registers it (components/runner/facts.ts):
 * `general` (default) an untagged instance runner; `deploy` a project runner
 * of GITLAB_PROJECT_ID for protected refs and `platform-deploy` jobs only.
 *
 *   GITLAB_URL=https://gitlab.example.com GITLAB_ADMIN_TOKEN=glpat-… \
 *   SECRET_ARN="$(pulumi stack output runnerTokenSecretArn)" AWS_REGION=us-east-1 \
 *   node_modules/.bin/ts-node --transpile-only tools/runnerToken.ts
 *
 *   RUNNER_KIND=deploy GITLAB_PROJECT_ID=42 SECRET_ARN="$(pulumi stack output deployRunnerTokenSecretArn)" …
 *
 * Then the manager's next start (or `aws ecs update-service --force-new-deployment`) picks it up.
 */

export interface RunnerTokenInput {
    gitlabUrl: string;
    adminToken: string;
    secretArn: string;
    region: string;
    description: string;
    /** Which fleet's runner: how GitLab registers it (REGISTRATIONS). */
    kind: RunnerKind;
    /** The project a project runner (the deploy runner) belongs to. */
    projectId?: number;
}

export type RunnerKind = keyof typeof REGISTRATIONS;

export interface CreatedRunner {
    id: number;
    token: string;
}

export interface RunnerTokenDeps {
    createRunner(input: RunnerTokenInput): Promise<CreatedRunner>;
    storeSecret(secretArn: string, value: string): Promise<void>;
    log: (s: string) => void;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

export function readInput(env: NodeJS.ProcessEnv): RunnerTokenInput {
    const need = requiredEnv(env);
    const required = (name: string): string => need(name).trim();
    const gitlabUrl = required("GITLAB_URL").replace(/\/$/, "");
    if (!/^https:\/\/[^/]+$/.test(gitlabUrl)) {
        throw new Error(`GITLAB_URL ${JSON.stringify(gitlabUrl)} must be https://<host>`);
    }
    const secretArn = required("SECRET_ARN");
    if (!SECRET_ARN.test(secretArn)) {
        throw new Error(`SECRET_ARN ${JSON.stringify(secretArn)} is not a Secrets Manager secret ARN`);
    }
    const kind = (env.RUNNER_KIND?.trim() || "general") as RunnerKind;
    if (!Object.hasOwn(REGISTRATIONS, kind)) {
        throw new Error(`RUNNER_KIND ${JSON.stringify(kind)} is not one of ${Object.keys(REGISTRATIONS).join(", ")}`);
    }
    const r = REGISTRATIONS[kind];
    // The deploy runner's token in the general fleet's secret would let that fleet take deploy jobs.
    if (!secretArn.includes(`/${r.fleet}-token-`)) {
        throw new Error(`SECRET_ARN ${JSON.stringify(secretArn)} is not the ${kind} runner's token secret (…/${r.fleet}-token-…)`);
    }
    let projectId: number | undefined;
    if (r.runnerType === "project_type") {
        projectId = Number(required("GITLAB_PROJECT_ID"));
        if (!Number.isInteger(projectId) || projectId <= 0) {
            throw new Error(`GITLAB_PROJECT_ID ${JSON.stringify(env.GITLAB_PROJECT_ID)} is not a project id (Settings › General)`);
        }
    }
    return { gitlabUrl, adminToken: required("GITLAB_ADMIN_TOKEN"), secretArn, region: required("AWS_REGION"), description: env.RUNNER_DESCRIPTION?.trim() || r.description, kind, projectId };
}

/** Creates the runner and stores its token; returns the runner's id (the token is never returned). */
export async function createAndStore(input: RunnerTokenInput, deps: RunnerTokenDeps): Promise<number> {
    const runner = await deps.createRunner(input);
    // Routable tokens carry dots.
    if (!/^glrt-[A-Za-z0-9_.-]+$/.test(runner.token)) {
        throw new Error(`GitLab returned runner ${runner.id} without a runner authentication token (glrt-…); delete it in Admin › CI/CD › Runners`);
    }
    try {
        await deps.storeSecret(input.secretArn, runner.token);
    } catch (e) {
        // The token cannot be fetched again: the runner is useless without it.
        throw new Error(`runner ${runner.id} was created but its token could not be stored (${(e as Error).message}); delete the runner in GitLab and run this again`);
    }
    deps.log(`runner ${runner.id} created; its token is in ${input.secretArn}`);
    return runner.id;
}

/** The body of `POST /api/v4/user/runners` for this kind of runner. */
export function registrationBody(input: RunnerTokenInput): Record<string, unknown> {
    const r = REGISTRATIONS[input.kind];
    return {
        runner_type: r.runnerType,
        ...(r.runnerType === "project_type" ? { project_id: input.projectId, locked: true } : {}),
        description: input.description,
        run_untagged: r.runUntagged,
        ...(r.tags.length > 0 ? { tag_list: [...r.tags] } : {}),
        access_level: r.accessLevel,
        ...(r.maximumTimeoutSeconds !== undefined ? { maximum_timeout: r.maximumTimeoutSeconds } : {}),
    };
}

/** `POST /api/v4/user/runners`. */
export function gitlabApi(http: typeof fetch = fetch): RunnerTokenDeps["createRunner"] {
    return async (input) => {
        const r = await http(`${input.gitlabUrl}/api/v4/user/runners`, {
            method: "POST",
            headers: { "PRIVATE-TOKEN": input.adminToken, "Content-Type": "application/json" },
            body: JSON.stringify(registrationBody(input)),
        });
        if (r.status !== 201) {
            throw new Error(`POST /api/v4/user/runners: HTTP ${r.status} ${(await r.text()).slice(0, 200)} (an administrator's token with the create_runner scope is needed)`);
        }
        const body = (await r.json()) as { id?: number; token?: string };
        return { id: body.id ?? 0, token: body.token ?? "" };
    };
}

export function secretsManager(region: string): RunnerTokenDeps["storeSecret"] {
    const client = new SecretsManagerClient({ region });
    return async (secretArn, value) => {
        await client.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: value }));
    };
}

async function main(): Promise<void> {
    const input = readInput(process.env);
    await createAndStore(input, { createRunner: gitlabApi(), storeSecret: secretsManager(input.region), log: (s) => process.stderr.write(`${s}\n`) });
}

if (require.main === module) {
    parseCli({
        name: "runnerToken",
        usage: [
            `usage: ${TS_NODE} tools/runnerToken.ts`,
            "  GITLAB_URL          https://<host> of the GitLab",
            "  GITLAB_ADMIN_TOKEN  an administrator's token with the create_runner scope",
            "  SECRET_ARN          the fleet's token secret (pulumi stack output runnerTokenSecretArn or deployRunnerTokenSecretArn)",
            "  AWS_REGION          the secret's region",
            "  RUNNER_KIND         general (default) or deploy; deploy needs GITLAB_PROJECT_ID",
            "  RUNNER_DESCRIPTION  the runner's description in GitLab (default: the fleet's)",
        ].join("\n"),
    });
    main().catch((e: unknown) => {
        process.stderr.write(`runnerToken: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
    });
}
