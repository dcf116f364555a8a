import { spawnSync } from "child_process";
import * as path from "path";
import { expect } from "chai";
import { parse } from "yaml";
import { DIND } from "../components/runner/runner";
import { DEPLOY_RUNNER_TAG, REGISTRATIONS } from "../components/runner/facts";
import { ROOT } from "../sim/harness";

/**
 * Which runner takes which job: .gitlab-ci.yml
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

describe("runners of the jobs (.gitlab-ci.yml through gitlab-ci-local)", function () {
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

    it("preview artifacts (ARNs, configuration) are for project members only", () => {
        for (const name of ["preview dev", "preview prod", "plan prod"]) {
            expect(all[name].artifacts.access, name).to.equal("developer");
        }
    });

});
