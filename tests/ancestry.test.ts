import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { checkAncestry, runIn } from "../ci/ancestry";
import { deployedCommit } from "../facts/commit";
import { ROOT, runStack, SIM_COMMIT_SHA, stackRun } from "../sim/harness";

/**
 * ci/ancestry.ts with real git in a scratch repository and a fake `pulumi`
 * whose `stack output --json` prints what a stack would hold.
 *
 *   a ── b ── c  (main)
 *         \
 *          x    (a branch main never merged)
 */
describe("ci/ancestry.ts: no deploy moves a stack back (real git)", function () {
    this.timeout(60_000);
    let dir: string;
    const sha: Record<string, string> = {};
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" } }).trim();
    const commit = (name: string) => {
        fs.writeFileSync(path.join(dir, "f"), name);
        git("add", "f");
        git("commit", "-q", "-m", name);
        sha[name] = git("rev-parse", "HEAD");
    };

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ancestry-"));
        git("init", "-q", "-b", "main");
        commit("a");
        commit("b");
        git("checkout", "-q", "-b", "side");
        commit("x");
        git("checkout", "-q", "main");
        commit("c");
        fs.mkdirSync(path.join(dir, "bin"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** The verdict for a checkout at `head` of a stack whose outputs are `outputs` (fake pulumi exits `status`). */
    function check(head: string, outputs: Record<string, unknown>, status = 0) {
        git("checkout", "-q", "--detach", sha[head]);
        fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(outputs));
        fs.writeFileSync(path.join(dir, "bin/pulumi"), `#!/bin/sh\necho "$*" >'${dir}/pulumi-args'\n[ ${status} = 0 ] || { echo "error: no stack named prod" >&2; exit ${status}; }\ncat '${dir}/outputs.json'\n`, { mode: 0o755 });
        return checkAncestry("prod", runIn(dir, { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}` }));
    }

    it("a newer commit, or the same one again, may deploy; it asks pulumi for the stack's outputs", () => {
        expect(check("c", { deployedSha: sha.b, appUrl: "https://app" }).code).to.equal(0);
        expect(fs.readFileSync(path.join(dir, "pulumi-args"), "utf8").trim()).to.equal("stack output --json --stack prod");
        expect(check("c", { deployedSha: sha.c })).to.deep.include({ code: 0 });
    });

    it("an older commit is refused with one line naming both commits", () => {
        const v = check("b", { deployedSha: sha.c });
        expect(v.code).to.equal(1);
        expect(v.message).to.equal(`ancestry: prod runs ${sha.c.slice(0, 12)}, which ${sha.b.slice(0, 12)} does not contain: this pipeline is older than (or diverged from) what is deployed; refusing to move prod back (deploy from the newest pipeline instead)`);
    });

    it("a commit beside the deployed one (diverged) is refused too", () => {
        expect(check("c", { deployedSha: sha.x }).code).to.equal(1);
        expect(check("x", { deployedSha: sha.c }).code).to.equal(1);
    });

    it("a stack without the output (its first deploy) passes", () => {
        expect(check("b", {})).to.deep.include({ code: 0 });
        expect(check("b", {}).message).to.match(/no deployedSha yet \(first deploy\)/);
    });

    it("a deployed commit this checkout lacks is refused; unreadable outputs or a bad value stop with exit 2", () => {
        expect(check("c", { deployedSha: "0123456789abcdef0123456789abcdef01234567" })).to.deep.include({ code: 1 });
        expect(check("c", {}, 255)).to.deep.include({ code: 2, message: "ancestry: pulumi stack output --stack prod failed: error: no stack named prod" });
        expect(check("c", { deployedSha: "main" }).code).to.equal(2);
    });

    it("deployedSha: CI_COMMIT_SHA, else the checkout's HEAD; anything but a commit id fails", () => {
        git("checkout", "-q", "main");
        const realGit = (args: readonly string[]) => execFileSync("git", [...args], { cwd: dir, encoding: "utf8" }).trim();
        expect(deployedCommit(undefined, realGit)).to.equal(sha.c);
        expect(deployedCommit("", realGit)).to.equal(sha.c);
        expect(deployedCommit(sha.a, realGit)).to.equal(sha.a);
        expect(() => deployedCommit("main", realGit)).to.throw(/deployedSha: "main" is not a full commit id/);
    });

    it("the command: exit 1 and the line on stderr", () => {
        check("b", { deployedSha: sha.c });
        const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", path.join(ROOT, "ci/ancestry.ts"), "prod"], { cwd: dir, encoding: "utf8", env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}` } });
        expect(r.status).to.equal(1);
        expect(r.stderr.trim().split("\n")).to.have.length(1);
        expect(r.stderr).to.match(/^ancestry: prod runs [0-9a-f]{12}, which [0-9a-f]{12} does not contain/);
    });
});

describe("the deployedSha stack output", function () {
    this.timeout(120_000);

    it("offline it is a fixed value, so the plan does not change with every commit; in a pipeline it is the job's commit", async () => {
        expect(SIM_COMMIT_SHA).to.match(/^[0-9a-f]{40}$/);
        expect((await stackRun("prod")).outputs.deployedSha).to.equal(SIM_COMMIT_SHA);
        const fromCi = "ab".repeat(20);
        expect((await runStack("dev", { env: { CI_COMMIT_SHA: fromCi } })).outputs.deployedSha).to.equal(fromCi);
    });
});
