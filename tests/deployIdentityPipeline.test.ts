import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { named, ROOT, stackRun, STACKS } from "../sim/harness";
import { evaluate, Statement } from "./iamEval";
import { T } from "./deployIdentityHelpers";
import { targetProblem } from "../ci/assertTarget";
import { expandedPipeline, gcl } from "./gitlabCiLocal";

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
}

const MAIN = { CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" };
const MR = { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main" };
const KINDS: Record<string, Kind> = {
    "push to the protected default branch": { vars: { CI_PIPELINE_SOURCE: "push", ...MAIN }, ref: "main", ownRoleAccepts: ["preview prod", "deploy dev", "deploy prod"] },
    schedule: { vars: { CI_PIPELINE_SOURCE: "schedule", ...MAIN }, ref: "main", ownRoleAccepts: ["drift dev", "drift prod"] },
    "merge request from an unprotected branch": {
        vars: { ...MR, CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature/x", CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: "false" },
        unset: ["CI_COMMIT_BRANCH"],
        ref: "feature/x",
        ownRoleAccepts: ["preview dev"],
    },
    // Prod's preview role trusts main only (ci.previewBranches): another protected branch is listed there, or refused.
    "merge request from a protected branch": {
        vars: { ...MR, CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "release", CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: "true" },
        unset: ["CI_COMMIT_BRANCH"],
        ref: "release",
        ownRoleAccepts: ["preview dev"],
    },
};

/** gitlab-ci-local's job list for a pipeline with these variables (tests/gitlabCiLocal.ts: a scratch repository with origin/main). */
function listJson(vars: Record<string, string>, unset: string[]): string {
    return gcl(["--list-json", ...Object.entries(vars).flatMap(([k, v]) => ["--variable", `${k}=${v}`]), ...unset.flatMap((u) => ["--unset-variable", u])]).stdout;
}

/** `<stack> ci-<kind>`, the role a job names in AWS_ROLE_ARN (`$AWS_DEPLOY_ROLE_ARN_PROD`). */
function ownRole(job: any): string {
    const m = /^\$AWS_(PREVIEW|DEPLOY)_ROLE_ARN_([A-Z]+)$/.exec(job.variables?.AWS_ROLE_ARN ?? "");
    return m ? `${m[2].toLowerCase()} ci-${m[1].toLowerCase()}` : "";
}

describe("CI roles against the pipeline's tokens (trust policies x gitlab-ci-local)", function () {
    this.timeout(180_000);
    let expanded: Record<string, any>;
    const trust: Record<string, Statement[]> = {};

    before(async () => {
        expanded = expandedPipeline();
        for (const stack of STACKS) {
            const run = await stackRun(stack);
            for (const role of ["ci-preview", "ci-deploy"]) {
                trust[`${stack} ${role}`] = JSON.parse(named(run, T.role, role).inputs.assumeRolePolicy).Statement;
            }
        }
    });

    /** The roles whose trust policy accepts this job's token in this pipeline. */
    function accepting(name: string, kind: Kind): string[] {
        const aud = expanded[name].id_tokens?.AWS_ID_TOKEN?.aud as string | undefined;
        if (aud === undefined) {
            return [];
        }
        const context = {
            [`${ISSUER}:aud`]: aud.replace(/\$(\w+)/g, (m, v: string) => PREDEFINED[v] ?? m),
            [`${ISSUER}:sub`]: `project_path:platform/infrastructure:ref_type:branch:ref:${kind.ref}`,
        };
        return Object.keys(trust).filter((role) => evaluate(trust[role], { action: "sts:AssumeRoleWithWebIdentity", resource: "*", context }) === "allow");
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

    for (const [title, kind] of Object.entries(KINDS)) {
        it(`${title}: each job's token is taken by its own role or by none`, () => {
            const list = JSON.parse(listJson(kind.vars, kind.unset ?? [])) as { name: string; when: string }[];
            const running = list.filter((j) => j.when !== "never" && expanded[j.name]?.variables?.AWS_ROLE_ARN).map((j) => j.name);
            expect(running, "the Pulumi jobs of this pipeline").to.include.members(kind.ownRoleAccepts);
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
        ];
        for (const [e, message] of cases) {
            expect(targetProblem(e, "platform"), JSON.stringify(e)).to.match(message);
        }
        expect(() => targetProblem(env("deploy dev", "dev", "deploy", { AWS_ID_TOKEN: "" }), "platform")).to.throw(/AWS_ID_TOKEN is not a JWT/);
    });
});
