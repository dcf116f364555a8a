import * as fs from "fs";
import { ciAudience, ciRoleName, JOB_VERB_ROLE } from "../components/deployIdentity/facts";
import { ciIamPath, naming } from "../facts/naming";

/**
 * Stops a Pulumi job before it logs in when its target is not its own: the
 * job's name (`deploy dev`) says which stack and which CI role it is for; the
 * variables STACK and AWS_ROLE_ARN (which a pipeline variable could override,
 * `git push -o ci.variable=STACK=prod`) must say the same, and so must the
 * audience of its ID token, which GitLab signed from the job's own
 * `id_tokens` (a literal in `.gitlab-ci.yml`). The token anchors the check:
 * a pipeline variable can rename the job, not re-sign its token, and AWS
 * refuses a token whose audience is not the role's own.
 *
 *   ts-node --transpile-only ci/assertTarget.ts      (in the job's before_script)
 */

/** The job's environment: CI_JOB_NAME, STACK, AWS_ROLE_ARN and AWS_ID_TOKEN are read. */
export type TargetEnv = Readonly<Record<string, string | undefined>>;

/** The audience(s) of a JWT, read without checking its signature (AWS checks it). */
export function tokenAudience(token: string): string[] {
    const payload = token.split(".")[1];
    if (payload === undefined) {
        throw new Error("AWS_ID_TOKEN is not a JWT (the job's id_tokens names AWS_ID_TOKEN)");
    }
    const aud = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { aud?: string | string[] }).aud;
    return [aud ?? []].flat();
}

/** What is wrong with this job's target, in one line; undefined when STACK, the role and the token agree with the job. */
export function targetProblem(env: TargetEnv, project: string): string | undefined {
    const job = env.CI_JOB_NAME ?? "";
    const m = /^(\w+) ([a-z0-9-]+)$/.exec(job);
    // Own keys only: `constructor dev` would find Object's constructor on the prototype.
    const kind = m && Object.hasOwn(JOB_VERB_ROLE, m[1]) ? JOB_VERB_ROLE[m[1]] : undefined;
    if (!m || kind === undefined) {
        return `job ${JSON.stringify(job)} is not a Pulumi job: its name is not "<${Object.keys(JOB_VERB_ROLE).join("|")}> <stack>"`;
    }
    const stack = m[2];
    const n = naming(project, stack);
    const role = ciRoleName(n, kind);
    if (env.STACK !== stack) {
        return `job "${job}" works on stack ${stack}, but STACK is ${JSON.stringify(env.STACK ?? "")} (a pipeline variable? docs/decisions/deploy-identity.md)`;
    }
    // arn:aws:iam::<account>:role<path><name>
    if (/^arn:aws:iam::\d{12}:role(\/.*)$/.exec(env.AWS_ROLE_ARN ?? "")?.[1] !== `${ciIamPath(n)}${role}`) {
        return `job "${job}" uses role ${ciIamPath(n)}${role}, but AWS_ROLE_ARN is ${JSON.stringify(env.AWS_ROLE_ARN ?? "")}`;
    }
    const audience = tokenAudience(env.AWS_ID_TOKEN ?? "");
    if (audience.length !== 1 || audience[0] !== ciAudience(n, kind)) {
        return `job "${job}" needs an ID token for ${ciAudience(n, kind)}, but AWS_ID_TOKEN's audience is ${JSON.stringify(audience)}`;
    }
    return undefined;
}

/** The Pulumi project's name, from Pulumi.yaml in the working directory. */
export function projectName(pulumiYaml: string): string {
    const m = /^name:\s*(\S+)\s*$/m.exec(pulumiYaml);
    if (!m) {
        throw new Error("Pulumi.yaml names no project");
    }
    return m[1];
}

if (require.main === module) {
    try {
        const problem = targetProblem(process.env, projectName(fs.readFileSync("Pulumi.yaml", "utf8")));
        if (problem) {
            console.error(`assertTarget: ${problem}`);
            process.exit(1);
        }
        console.error(`assertTarget: ${process.env.CI_JOB_NAME} on stack ${process.env.STACK} as ${process.env.AWS_ROLE_ARN}`);
    } catch (e) {
        console.error(`assertTarget: ${e instanceof Error ? e.message : e}`);
        process.exit(1);
    }
}
