import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { expect } from "chai";
import { parse } from "yaml";
import { DIND } from "../components/runner/runner";
import { DEPLOY_RUNNER_TAG, REGISTRATIONS } from "../components/runner/facts";
import { applyDeployOrder, PROCESS_MODE, resourceGroups } from "../tools/deployOrder";
import { ROOT } from "../sim/harness";

/**
 * Which runner takes which job, and in what order deploys run: .gitlab-ci.yml
 * as gitlab-ci-local 4.73.0 expands it (rules evaluated per pipeline kind),
 * against the runners' registrations (components/runner/facts.ts) and
 * config (components/runner/runner.ts).
 */
function gitlabCiLocal(args: string[]): string {
    const r = spawnSync(path.join(ROOT, "node_modules/.bin/gitlab-ci-local"), args, {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, GCL_IGNORE_PREDEFINED_VARS: "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH,CI_COMMIT_REF_PROTECTED,CI_MERGE_REQUEST_IID,CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED" },
    });
    expect(r.status, r.stderr).to.equal(0);
    return r.stdout;
}

/** The jobs a pipeline with these variables runs. */
const pipeline = (vars: Record<string, string>, unset: string[] = []): string[] =>
    (JSON.parse(gitlabCiLocal(["--list-json", ...Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]), ...unset.flatMap((u) => ["--unset-variable", u])])) as { name: string; when: string }[])
        .filter((j) => j.when !== "never")
        .map((j) => j.name);

describe("runners and order of the deploys (.gitlab-ci.yml through gitlab-ci-local)", function () {
    this.timeout(120_000);
    let all: Record<string, any>;
    let jobs: [string, any][];
    const fleetOf = (j: any): "general" | "deploy" => {
        const tags: string[] = j.tags ?? [];
        const fleet = (Object.keys(REGISTRATIONS) as ("general" | "deploy")[]).find((k) => {
            const r = REGISTRATIONS[k];
            return tags.every((t) => r.tags.includes(t)) && (tags.length > 0 || r.runUntagged);
        });
        expect(fleet, `no runner takes tags ${JSON.stringify(tags)}`).to.be.a("string");
        return fleet!;
    };

    before(() => {
        const out = gitlabCiLocal(["--preview"]);
        all = parse(out.slice(out.indexOf("---")));
        jobs = Object.entries(all).filter(([name, j]) => !name.startsWith(".") && j && typeof j === "object" && "script" in j);
    });

    it("the deploy jobs and the drift checks go to the deploy runner, every other job to the general fleet", () => {
        const onDeploy = jobs.filter(([, j]) => fleetOf(j) === "deploy").map(([n]) => n);
        expect(onDeploy).to.deep.equal(["deploy dev", "deploy prod", "drift dev", "drift prod"]);
        // Every job holding a deploy role is among them.
        expect(jobs.filter(([, j]) => /DEPLOY_ROLE/.test(j.variables?.AWS_ROLE_ARN ?? "")).every(([, j]) => fleetOf(j) === "deploy")).to.equal(true);
        expect(all["deploy prod"].tags).to.deep.equal([DEPLOY_RUNNER_TAG]);
    });

    it("the registrations: the general runner takes untagged jobs of any ref and no tag; the deploy runner only tagged jobs of protected refs of this project", () => {
        expect(REGISTRATIONS.general).to.deep.include({ tags: [], runUntagged: true, accessLevel: "not_protected" });
        expect(REGISTRATIONS.deploy).to.deep.include({ tags: [DEPLOY_RUNNER_TAG], runUntagged: false, accessLevel: "ref_protected", runnerType: "project_type" });
    });

    it("no merge request pipeline has a job for the protected deploy runner (it would never start)", () => {
        for (const protectedSource of ["true", "false"]) {
            const names = pipeline({ CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main", CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: protectedSource }, ["CI_COMMIT_BRANCH"]);
            expect(names.length, protectedSource).to.be.greaterThan(1);
            expect(names.filter((n) => fleetOf(all[n]) === "deploy"), protectedSource).to.deep.equal([]);
        }
    });

    it("Docker-in-Docker is allowed on exactly the fleets whose jobs run it", () => {
        const top = all.variables as Record<string, string>;
        const resolve = (v: string) => v.replace(/^\$([A-Z_]+)$/, (m, k: string) => top[k] ?? m);
        const runsDind = (fleet: string) => jobs.some(([, j]) => fleetOf(j) === fleet && (j.services ?? []).some((s: any) => /-dind(@|$)/.test(resolve(s.name))));
        expect({ general: runsDind("general"), deploy: runsDind("deploy") }).to.deep.equal(DIND);
    });

    it("each stack's drift check waits in its deploy's resource group", () => {
        expect(["deploy dev", "drift dev", "deploy prod", "drift prod"].map((n) => all[n].resource_group)).to.deep.equal(["pulumi-dev", "pulumi-dev", "pulumi-prod", "pulumi-prod"]);
    });

    it("preview artifacts (ARNs, configuration) are for project members only", () => {
        for (const name of ["preview dev", "preview prod", "plan prod"]) {
            expect(all[name].artifacts.access, name).to.equal("developer");
        }
    });

    it("a deploy checks ancestry right after the admin gate, before `pulumi up`", () => {
        for (const name of ["deploy dev", "deploy prod"]) {
            const script: string[] = all[name].script;
            const gate = script.findIndex((l) => l.includes("ci/adminGate.ts"));
            expect(script[gate + 1], name).to.equal('node_modules/.bin/ts-node --transpile-only ci/ancestry.ts "$STACK"');
            expect(script.findIndex((l) => /pulumi up/.test(l)), name).to.be.greaterThan(gate + 1);
        }
    });

    it("tools/deployOrder.ts sets every resource group of the pipeline to oldest first, and the project against outdated deploys", async () => {
        const groups = resourceGroups(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8"));
        expect(groups).to.deep.equal([...new Set(jobs.map(([, j]) => j.resource_group).filter(Boolean))].sort());
        const requests: { method: string; url: string; token: string; body: any }[] = [];
        const server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (d) => (raw += d));
            req.on("end", () => {
                requests.push({ method: req.method!, url: req.url!, token: req.headers["private-token"] as string, body: JSON.parse(raw) });
                res.writeHead(req.url!.endsWith("/pulumi-prod") ? 404 : 200).end("{}");
            });
        });
        await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
        const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        try {
            const done = await applyDeployOrder({ gitlabUrl: url, token: "glpat-m", project: "platform/infrastructure" }, ["pulumi-dev"]);
            expect(done).to.deep.equal([`resource group pulumi-dev: ${PROCESS_MODE}`, "project: ci_forward_deployment_enabled=true, ci_forward_deployment_rollback_allowed=false"]);
            const err = await applyDeployOrder({ gitlabUrl: url, token: "glpat-m", project: "platform/infrastructure" }, ["pulumi-prod"]).catch((e: Error) => e);
            expect((err as Error).message).to.match(/^resource group pulumi-prod: HTTP 404 .*exists once a pipeline has run a job of it/);
        } finally {
            await new Promise((ok) => server.close(ok));
        }
        expect(requests.slice(0, 2)).to.deep.equal([
            { method: "PUT", url: "/api/v4/projects/platform%2Finfrastructure/resource_groups/pulumi-dev", token: "glpat-m", body: { process_mode: "oldest_first" } },
            { method: "PUT", url: "/api/v4/projects/platform%2Finfrastructure", token: "glpat-m", body: { ci_forward_deployment_enabled: true, ci_forward_deployment_rollback_allowed: false } },
        ]);
    });
});
