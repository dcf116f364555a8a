import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { expect } from "chai";
import { baseJobName, expandedPipeline, jobNames } from "./gitlabCiLocal";
import { DIND } from "../components/runner/runner";
import { DEPLOY_RUNNER_TAG, REGISTRATIONS } from "../components/runner/facts";
import { registrationBody } from "../tools/runnerToken";
import { applyDeployOrder, PROCESS_MODE, resourceGroups } from "../tools/deployOrder";
import { ROOT } from "../sim/harness";

/**
 * Which runner takes which job, and in what order deploys run: .gitlab-ci.yml
 * as gitlab-ci-local 4.73.0 expands it (rules evaluated per pipeline kind),
 * against the runners' registrations (components/runner/facts.ts) and
 * config (components/runner/runner.ts).
 */
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
        all = expandedPipeline();
        jobs = Object.entries(all).filter(([name, j]) => !name.startsWith(".") && j && typeof j === "object" && "script" in j);
    });

    it("the deploy jobs and the drift checks go to the deploy runner, every other job to the general fleet", () => {
        const onDeploy = jobs.filter(([, j]) => fleetOf(j) === "deploy").map(([n]) => n);
        expect(onDeploy).to.deep.equal(["deploy dev", "deploy prod", "drift dev", "drift prod"]);
        // Every job holding a deploy role is among them.
        expect(jobs.filter(([, j]) => /DEPLOY_ROLE/.test(j.variables?.AWS_ROLE_ARN ?? "")).every(([, j]) => fleetOf(j) === "deploy")).to.equal(true);
        expect(all["deploy prod"].tags).to.deep.equal([DEPLOY_RUNNER_TAG]);
    });

    it("what tools/runnerToken.ts registers: the general runner takes untagged jobs of any ref and no tag; the deploy runner only the deploy jobs' tag, of protected refs, of this project", () => {
        const body = (kind: "general" | "deploy") =>
            registrationBody({ gitlabUrl: "https://gitlab.example.com", adminToken: "glpat-a", secretArn: "arn", region: "us-east-1", description: "d", kind, projectId: 42 });
        expect(body("general")).to.deep.equal({ runner_type: "instance_type", description: "d", run_untagged: true, access_level: "not_protected" });
        // The tag the pipeline's deploy jobs carry (gitlab-ci-local's expansion), not the constant both are built from.
        // And no job on it longer than a deploy job may run (its timeout, as the pipeline expands it).
        const deployTimeout = Number(/^(\d+)m$/.exec(all["deploy prod"].timeout)![1]) * 60;
        expect(body("deploy")).to.deep.equal({ runner_type: "project_type", project_id: 42, locked: true, description: "d", run_untagged: false, tag_list: all["deploy prod"].tags, access_level: "ref_protected", maximum_timeout: deployTimeout });
    });

    it("no merge request pipeline has a job for the protected deploy runner (it would never start)", () => {
        for (const protectedSource of ["true", "false"]) {
            // Source and target protected: GitLab marks the merge request's pipeline protected (CI_COMMIT_REF_PROTECTED), and preview prod runs.
            const names = jobNames(
                { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main", CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: protectedSource, CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED: "true", CI_COMMIT_REF_PROTECTED: protectedSource },
                ["CI_COMMIT_BRANCH"],
            );
            expect(names.includes("preview prod"), protectedSource).to.equal(protectedSource === "true");
            expect(names.length, protectedSource).to.be.greaterThan(1);
            expect(names.filter((n) => fleetOf(all[baseJobName(n)]) === "deploy"), protectedSource).to.deep.equal([]);
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

    it("tools/deployOrder.ts sets every resource group of the pipeline to oldest first, and the project against outdated deploys, fork pipelines and pipeline variables, read back", async () => {
        const groups = resourceGroups(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8"));
        expect(groups).to.deep.equal([...new Set(jobs.map(([, j]) => j.resource_group).filter(Boolean))].sort());
        // A fake GitLab holding the project's settings as GitLab defaults them; `ignored` keys a PUT does not change.
        const requests: { method: string; url: string; token: string; body: any }[] = [];
        let project: Record<string, unknown> = {};
        let ignored: string[] = [];
        const server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (d) => (raw += d));
            req.on("end", () => {
                const body = raw ? JSON.parse(raw) : undefined;
                requests.push({ method: req.method!, url: req.url!, token: req.headers["private-token"] as string, body });
                if (req.url!.endsWith("/pulumi-prod")) {
                    res.writeHead(404).end("{}");
                    return;
                }
                if (req.method === "PUT" && req.url === "/api/v4/projects/platform%2Finfrastructure") {
                    project = { ...project, ...Object.fromEntries(Object.entries(body).filter(([k]) => !ignored.includes(k))) };
                }
                res.writeHead(200).end(JSON.stringify(req.url!.includes("/resource_groups/") ? {} : project));
            });
        });
        await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
        const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        const input = { gitlabUrl: url, token: "glpat-m", project: "platform/infrastructure" };
        const defaults = { ci_forward_deployment_enabled: true, ci_forward_deployment_rollback_allowed: true, ci_allow_fork_pipelines_to_run_in_parent_project: true, ci_pipeline_variables_minimum_override_role: "developer" };
        try {
            project = { ...defaults };
            const done = await applyDeployOrder(input, ["pulumi-dev"]);
            expect(done[1]).to.equal(`resource group pulumi-dev: ${PROCESS_MODE}`);
            expect(project).to.deep.equal({ ci_forward_deployment_enabled: true, ci_forward_deployment_rollback_allowed: false, ci_allow_fork_pipelines_to_run_in_parent_project: false, ci_pipeline_variables_minimum_override_role: "no_one_allowed" });
            expect(requests.map((r) => `${r.method} ${r.url} ${r.token}`)).to.deep.equal([
                // The settings first: the trust needs them before any pipeline, resource groups or not.
                "PUT /api/v4/projects/platform%2Finfrastructure glpat-m",
                "GET /api/v4/projects/platform%2Finfrastructure glpat-m",
                "PUT /api/v4/projects/platform%2Finfrastructure/resource_groups/pulumi-dev glpat-m",
            ]);
            expect(requests[2].body).to.deep.equal({ process_mode: "oldest_first" });
            // Before the first deploy its group does not exist: the settings are applied all the same, the group is left for a second run.
            project = { ...defaults };
            const early = await applyDeployOrder(input, ["pulumi-prod"]);
            expect(early).to.deep.equal([done[0], "resource group pulumi-prod: not created yet (GitLab creates it with its first job); run this again after the first deploy"]);
            expect(project.ci_allow_fork_pipelines_to_run_in_parent_project).to.equal(false);
            // A GitLab that accepts the PUT but keeps forks running in this project (or knows no such setting) fails the run.
            project = { ...defaults };
            ignored = ["ci_allow_fork_pipelines_to_run_in_parent_project", "ci_pipeline_variables_minimum_override_role"];
            delete project.ci_pipeline_variables_minimum_override_role;
            const unapplied = await applyDeployOrder(input, []).catch((e: Error) => e);
            expect((unapplied as Error).message).to.equal(
                'project settings not applied (the CI roles\' trust needs them, docs/decisions/deploy-identity.md): ci_allow_fork_pipelines_to_run_in_parent_project: true; ci_pipeline_variables_minimum_override_role: absent',
            );
        } finally {
            await new Promise((ok) => server.close(ok));
        }
    });
});
