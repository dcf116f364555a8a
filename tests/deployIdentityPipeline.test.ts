import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { named, ROOT, stackRun, STACKS, variantRun } from "../sim/harness";
import { evaluate, Statement } from "./iamEval";
import { T } from "./deployIdentityHelpers";
import { targetProblem } from "../ci/assertTarget";
import { expandedPipeline, jobNames } from "./gitlabCiLocal";

/**
 * Who may assume which CI role, as a matrix: every Pulumi job, in each kind of
 * pipeline it runs in (gitlab-ci-local 4.73.0 evaluates the rules and expands
 * `extends`), presents the token GitLab would issue it (the audience of its
 * `id_tokens`, the `sub` of the pipeline's ref) to the trust policy of each
 * of the four roles (the stacks' graphs). Only the job's own role may take it.
 */

const ISSUER = "gitlab.example.com";
// What GitLab would expand in an audience (none should need it).
const PREDEFINED: Record<string, string> = { CI_SERVER_URL: `https://${ISSUER}` };

interface Kind {
    readonly vars: Record<string, string>;
    readonly unset?: string[];
    /** The ref in the token's sub: the branch, or a merge request's source branch. */
    readonly ref: string;
    /** The Pulumi jobs whose own role accepts them here; every other job gets no role at all. */
    readonly ownRoleAccepts: string[];
    /** Pulumi jobs that run here and whose own role refuses them (the job fails at its first AWS call). */
    readonly ownRoleRefuses?: string[];
    /** The trust policies to check: the stacks' own, or prod's with `release` added to ci.previewBranches. */
    readonly trust?: "stacks" | "prod previews release";
}

const MAIN = { CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" };
const MR = { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main" };
const PROTECTED_MR = {
    ...MR,
    CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "release",
    CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: "true",
    CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED: "true",
    CI_COMMIT_REF_PROTECTED: "true",
};
const KINDS: Record<string, Kind> = {
    "push to the protected default branch": { vars: { CI_PIPELINE_SOURCE: "push", ...MAIN }, ref: "main", ownRoleAccepts: ["preview prod", "deploy dev", "deploy prod"] },
    schedule: { vars: { CI_PIPELINE_SOURCE: "schedule", ...MAIN }, ref: "main", ownRoleAccepts: ["drift dev", "drift prod"] },
    "merge request from an unprotected branch": {
        vars: { ...MR, CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature/x", CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: "false" },
        unset: ["CI_COMMIT_BRANCH"],
        ref: "feature/x",
        ownRoleAccepts: ["preview dev"],
    },
    // Source and target protected, "protected merge request pipelines" on: GitLab marks the pipeline protected, so
    // preview prod runs. Prod's preview role trusts main only (ci.previewBranches): a protected source branch must be
    // listed there (docs/operations/ci-setup.md, step 3), or its prod preview is refused.
    "merge request between protected branches, source not in prod's ci.previewBranches": {
        vars: PROTECTED_MR,
        unset: ["CI_COMMIT_BRANCH"],
        ref: "release",
        ownRoleAccepts: ["preview dev"],
        ownRoleRefuses: ["preview prod"],
    },
    "merge request between protected branches, source listed in prod's ci.previewBranches": {
        vars: PROTECTED_MR,
        unset: ["CI_COMMIT_BRANCH"],
        ref: "release",
        ownRoleAccepts: ["preview dev", "preview prod"],
        trust: "prod previews release",
    },
};

/** `<stack> ci-<kind>`, the role a job names in AWS_ROLE_ARN (`$AWS_DEPLOY_ROLE_ARN_PROD`). */
function ownRole(job: any): string {
    const m = /^\$AWS_(PREVIEW|DEPLOY)_ROLE_ARN_([A-Z]+)$/.exec(job.variables?.AWS_ROLE_ARN ?? "");
    return m ? `${m[2].toLowerCase()} ci-${m[1].toLowerCase()}` : "";
}

describe("CI roles against the pipeline's tokens (trust policies x gitlab-ci-local)", function () {
    this.timeout(180_000);
    let expanded: Record<string, any>;
    const trust: Record<string, Statement[]> = {};
    let releasePreviewTrust: Statement[];

    before(async () => {
        expanded = expandedPipeline();
        for (const stack of STACKS) {
            const run = await stackRun(stack);
            for (const role of ["ci-preview", "ci-deploy"]) {
                trust[`${stack} ${role}`] = JSON.parse(named(run, T.role, role).inputs.assumeRolePolicy).Statement;
            }
        }
        const release = await variantRun("ci-preview-release", "prod", (c) => {
            c["platform:ci"].previewBranches = ["main", "release"];
        });
        releasePreviewTrust = JSON.parse(named(release, T.role, "ci-preview").inputs.assumeRolePolicy).Statement;
    });

    /** The roles whose trust policy accepts a token of this audience for a pipeline of this project on this branch. */
    function trusting(aud: string, ref: string, which: Kind["trust"] = "stacks"): string[] {
        const policies = which === "stacks" ? trust : { ...trust, "prod ci-preview": releasePreviewTrust };
        const context = { [`${ISSUER}:aud`]: aud, [`${ISSUER}:sub`]: `project_path:platform/infrastructure:ref_type:branch:ref:${ref}` };
        return Object.keys(policies).filter((role) => evaluate(policies[role], { action: "sts:AssumeRoleWithWebIdentity", resource: "*", context }) === "allow");
    }

    /** The roles whose trust policy accepts this job's token in this pipeline. */
    function accepting(name: string, kind: Kind): string[] {
        const aud = expanded[name].id_tokens?.AWS_ID_TOKEN?.aud as string | undefined;
        return aud === undefined ? [] : trusting(aud.replace(/\$(\w+)/g, (m, v: string) => PREDEFINED[v] ?? m), kind.ref, kind.trust);
    }

    it("every Pulumi job names one of the four roles", () => {
        const roles = Object.keys(expanded).filter((n) => expanded[n]?.variables?.AWS_ROLE_ARN).map((n) => ownRole(expanded[n]));
        expect(roles.length).to.be.at.least(6);
        expect(roles.every((r) => r in trust), roles.join(", ")).to.equal(true);
    });

    it("a pipeline variable that points deploy dev at prod stops it in before_script, before `pulumi login`", () => {
        // The job's before_script as GitLab runs it, with npm and pulumi faked (they log their calls).
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "assert-target-"));
        for (const tool of ["npm", "pulumi"]) {
            fs.writeFileSync(path.join(dir, tool), `#!/bin/bash\necho "${tool} $*" >>'${dir}/calls'\n`, { mode: 0o755 });
        }
        const job = expanded["deploy dev"];
        const before = (vars: Record<string, string>) => {
            fs.rmSync(path.join(dir, "calls"), { force: true });
            const env = { PATH: `${dir}:${process.env.PATH}`, CI_JOB_NAME: "deploy dev", ...job.variables, AWS_WEB_IDENTITY_TOKEN_FILE: path.join(dir, "token"), AWS_ID_TOKEN: jwt(job.id_tokens.AWS_ID_TOKEN.aud), ...vars };
            // The image check that comes first has its own tests (tests/toolsImage.test.ts); this is about the target.
            const steps = job.before_script.filter((l: string) => l !== "bash .ci/tools-image-check.sh");
            const r = spawnSync("bash", ["-e", "-o", "pipefail", "-c", steps.join("\n")], { cwd: ROOT, env, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
            return { status: r.status, stderr: r.stderr, calls: fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8") : "" };
        };
        const devArn = "arn:aws:iam::123456789012:role/platform-ci/platform-dev-ci-deploy";
        const ok = before({ STACK: "dev", AWS_ROLE_ARN: devArn });
        expect(ok.status, ok.stderr).to.equal(0);
        expect(ok.calls).to.include("pulumi login");
        for (const vars of [{ STACK: "prod", AWS_ROLE_ARN: devArn }, { STACK: "dev", AWS_ROLE_ARN: devArn.replace(/dev/g, "prod") }]) {
            const r = before(vars);
            expect(r.status, JSON.stringify(vars)).to.equal(1);
            expect(r.calls).to.not.include("pulumi");
            expect(r.stderr.trim().split("\n"), r.stderr).to.have.length(1);
            expect(r.stderr).to.match(/^assertTarget: job "deploy dev" /);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    // A fork's merge request whose pipeline runs in this project: GitLab builds `sub` from this project's path and the
    // source branch, and runs the fork's own .gitlab-ci.yml, so any job may ask for any audience. The trust policy
    // alone cannot tell it from a push to main; what keeps this pipeline from existing is the project setting
    // ci_allow_fork_pipelines_to_run_in_parent_project: false, which tools/deployOrder.ts sets and reads back
    // (tests/deployRunner.test.ts). This row documents that dependency: it fails once the trust can tell them apart.
    it("fork merge request run in the parent project from a branch named main, requesting each audience: the trust alone accepts it (the project setting is what refuses it)", () => {
        const audiences = Object.values(expanded).map((j: any) => j?.id_tokens?.AWS_ID_TOKEN?.aud as string | undefined).filter((a): a is string => a !== undefined);
        const byAudience = Object.fromEntries([...new Set(audiences)].sort().map((aud) => [aud, trusting(aud, "main")]));
        expect(byAudience).to.deep.equal({
            "platform-dev-ci-deploy": ["dev ci-deploy"],
            "platform-dev-ci-preview": ["dev ci-preview"],
            "platform-prod-ci-deploy": ["prod ci-deploy"],
            "platform-prod-ci-preview": ["prod ci-preview"],
        });
    });

    for (const [title, kind] of Object.entries(KINDS)) {
        it(`${title}: each job's token is taken by its own role or by none`, () => {
            const running = jobNames(kind.vars, kind.unset ?? []).filter((n) => expanded[n]?.variables?.AWS_ROLE_ARN);
            expect(running, "the Pulumi jobs of this pipeline").to.include.members([...kind.ownRoleAccepts, ...(kind.ownRoleRefuses ?? [])]);
            const actual = Object.fromEntries(running.map((n) => [n, accepting(n, kind)]));
            const expected = Object.fromEntries(running.map((n) => [n, kind.ownRoleAccepts.includes(n) ? [ownRole(expanded[n])] : []]));
            expect(actual).to.deep.equal(expected);
        });
    }
});

/** An ID token as GitLab shapes it (unsigned here: the check reads, AWS verifies). */
function jwt(aud: string | string[]): string {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${part({ alg: "RS256", typ: "JWT" })}.${part({ aud, sub: "project_path:platform/infrastructure:ref_type:branch:ref:main" })}.c2ln`;
}

describe("ci/assertTarget: STACK, AWS_ROLE_ARN and the token's audience against the job's name", () => {
    const arn = (stack: string, kind: string) => `arn:aws:iam::123456789012:role/platform-ci/platform-${stack}-ci-${kind}`;
    const env = (job: string, stack: string, kind: string, over: Record<string, string> = {}) => ({ CI_JOB_NAME: job, STACK: stack, AWS_ROLE_ARN: arn(stack, kind), AWS_ID_TOKEN: jwt(`platform-${stack}-ci-${kind}`), ...over });

    it("passes each Pulumi job with its own stack, role and token", () => {
        for (const [job, stack, kind] of [["preview dev", "dev", "preview"], ["preview prod", "prod", "preview"], ["deploy dev", "dev", "deploy"], ["deploy prod", "prod", "deploy"], ["drift dev", "dev", "preview"], ["drift prod", "prod", "preview"]]) {
            expect(targetProblem(env(job, stack, kind), "platform"), job).to.equal(undefined);
        }
    });

    it("refuses another stack, another role, a token for another role, and a job it does not know", () => {
        const cases: [Record<string, string>, RegExp][] = [
            [env("deploy dev", "dev", "deploy", { STACK: "prod" }), /^job "deploy dev" works on stack dev, but STACK is "prod"/],
            [env("deploy dev", "dev", "deploy", { AWS_ROLE_ARN: arn("prod", "deploy") }), /uses role \/platform-ci\/platform-dev-ci-deploy, but AWS_ROLE_ARN is ".*platform-prod-ci-deploy"/],
            [env("preview prod", "prod", "preview", { AWS_ROLE_ARN: arn("prod", "deploy") }), /uses role \/platform-ci\/platform-prod-ci-preview/],
            [env("deploy dev", "dev", "deploy", { AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/platform/platform-dev-ci-deploy" }), /but AWS_ROLE_ARN is/],
            // Renamed by a pipeline variable: the token GitLab signed for the job still says dev.
            [env("deploy prod", "prod", "deploy", { AWS_ID_TOKEN: jwt("platform-dev-ci-deploy") }), /needs an ID token for platform-prod-ci-deploy, but AWS_ID_TOKEN's audience is \["platform-dev-ci-deploy"\]/],
            [env("deploy dev", "dev", "deploy", { AWS_ID_TOKEN: jwt(["platform-dev-ci-deploy", "platform-prod-ci-deploy"]) }), /audience is \[/],
            [env("test", "dev", "deploy"), /^job "test" is not a Pulumi job/],
            [env("destroy prod", "prod", "deploy"), /is not a Pulumi job/],
            [env("constructor prod", "prod", "deploy"), /is not a Pulumi job/],
            [env("toString dev", "dev", "preview"), /is not a Pulumi job/],
        ];
        for (const [e, message] of cases) {
            expect(targetProblem(e, "platform"), JSON.stringify(e)).to.match(message);
        }
        expect(() => targetProblem(env("deploy dev", "dev", "deploy", { AWS_ID_TOKEN: "" }), "platform")).to.throw(/AWS_ID_TOKEN is not a JWT/);
    });
});
