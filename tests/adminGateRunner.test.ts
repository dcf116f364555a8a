import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { runnerSteps, Step, verdict } from "../ci/adminGate";
import { ROOT, stackRun } from "../sim/harness";

/**
 * The admin gate against the deploy runner: a deploy that would restart or
 * replace the fleet it runs on stops before `pulumi up`, with the command to
 * run by hand. Fixtures: `pulumi preview --json` output (tests/fixtures/previews/),
 * whose URNs are checked against prod's real graph.
 */
const FIXTURES = path.join(ROOT, "tests/fixtures/previews");
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as { steps: Step[] };
const gate = (name: string) =>
    spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", path.join(ROOT, "ci/adminGate.ts"), path.join(FIXTURES, `${name}.json`)], {
        encoding: "utf8",
        env: { PATH: process.env.PATH!, STACK: "prod" },
    });
const names = (steps: Step[]) => steps.map((s) => `${s.op} ${s.urn.split("::").pop()}`);

describe("the admin gate refuses to change the deploy runner from the deploy runner (ci/adminGate.ts)", function () {
    this.timeout(120_000);

    it("every fixture names resources prod's graph has", async () => {
        const urns = new Set((await stackRun("prod")).resources.map((r) => r.urn));
        for (const f of fs.readdirSync(FIXTURES)) {
            const missing = fixture(f.replace(/\.json$/, "")).steps.map((s) => s.urn).filter((u) => !urns.has(u));
            expect(missing, f).to.deep.equal([]);
        }
    });

    it("a change to the general fleet (the deploy runs elsewhere) passes", () => {
        expect(runnerSteps(fixture("general-runner-update").steps)).to.deep.equal([]);
        const r = gate("general-runner-update");
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.include("no change to the deploy runner");
    });

    it("a new task definition for the deploy runner's manager (its service restarts it) is refused with the command to run by hand", () => {
        expect(names(runnerSteps(fixture("runner-deploy-restart").steps))).to.deep.equal([
            "create-replacement runner-deploy",
            "replace runner-deploy",
            "update runner-deploy",
            "delete-replaced runner-deploy",
        ]);
        const r = gate("runner-deploy-restart");
        expect(r.status).to.equal(1);
        expect(r.stderr).to.include("restarts or replaces the deploy runner (runner-deploy) this job runs on");
        expect(r.stderr).to.include("  update urn:pulumi:prod::platform::platform:runner:GitLabRunner$aws:ecs/service:Service::runner-deploy");
        expect(r.stderr).to.not.include("DjangoService");
        expect(r.stderr.trim().split("\n").pop()).to.equal("and CI's next deploy finds nothing of it left to do.");
        expect(r.stderr).to.include("\n  pulumi up --stack prod\n");
    });

    it("its workers' template and security groups too; the general fleet's alarm is not its", () => {
        expect(names(runnerSteps(fixture("runner-deploy-network").steps))).to.deep.equal(["update runner-deploy-workers", "replace runner-deploy-workers"]);
    });

    it("one refusal names both reasons when IAM changes as well", () => {
        const iam = { op: "update", urn: "urn:pulumi:prod::platform::platform:runner:GitLabRunner$aws:iam/rolePolicy:RolePolicy::runner-deploy-task-policy" };
        const lines = verdict([...fixture("runner-deploy-restart").steps, iam], "prod").join("\n");
        expect(lines).to.match(/touches IAM[^]*runner-deploy-task-policy[^]*deploy runner \(runner-deploy\)[^]*pulumi up --stack prod/);
        expect(verdict(fixture("general-runner-update").steps, "prod")).to.deep.equal([]);
    });
});
