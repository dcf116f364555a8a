import { spawnSync } from "child_process";

/**
 * Refuses a deploy that would move a stack to a commit older than the one it
 * runs: the stack's `deployedSha` output (index.ts) must be an ancestor of
 * (or equal to) the HEAD this job deploys. Pressing an older pipeline's
 * `deploy prod`, or retrying an old deploy after a newer one went out, stops
 * here, before `pulumi up`. A stack without the output (its first deploy, or
 * the first since the output exists) passes.
 *
 *   ts-node --transpile-only ci/ancestry.ts <stack>
 *
 * Exit 0: may deploy; 1: refused (one line says why); 2: could not tell.
 */

export interface Answer {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a program (pulumi, git) and answers. */
export type Run = (program: string, args: readonly string[]) => Answer;

/** The real programs, in `cwd` (the checkout; default the current directory). */
export const runIn =
    (cwd?: string, env: NodeJS.ProcessEnv = process.env): Run =>
    (program, args) => {
        const r = spawnSync(program, [...args], { encoding: "utf8", cwd, env });
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.error ? String(r.error) : (r.stderr ?? "") };
    };

export interface Verdict {
    /** 0 deploy, 1 refused, 2 unknown. */
    readonly code: 0 | 1 | 2;
    readonly message: string;
}

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const short = (sha: string) => sha.slice(0, 12);

/** The stack's deployedSha output, or undefined when it has none. */
function deployedSha(stack: string, run: Run): string | undefined {
    const out = run("pulumi", ["stack", "output", "--json", "--stack", stack]);
    if (out.status !== 0) {
        throw new Error(`pulumi stack output --stack ${stack} failed: ${out.stderr.trim().split("\n").pop() ?? ""}`);
    }
    const value = (JSON.parse(out.stdout || "{}") as Record<string, unknown>).deployedSha;
    if (value === undefined) {
        return undefined;
    }
    if (typeof value !== "string" || !COMMIT.test(value)) {
        throw new Error(`${stack}'s deployedSha output ${JSON.stringify(value)} is not a commit id`);
    }
    return value;
}

export function checkAncestry(stack: string, run: Run): Verdict {
    let deployed: string | undefined;
    let head: string;
    try {
        deployed = deployedSha(stack, run);
        const h = run("git", ["rev-parse", "HEAD"]);
        if (h.status !== 0) {
            throw new Error(`git rev-parse HEAD failed: ${h.stderr.trim()}`);
        }
        head = h.stdout.trim();
    } catch (e) {
        return { code: 2, message: `ancestry: ${(e as Error).message}` };
    }
    if (deployed === undefined) {
        return { code: 0, message: `ancestry: ${stack} has no deployedSha yet (first deploy): ${short(head)} may deploy` };
    }
    if (run("git", ["cat-file", "-e", `${deployed}^{commit}`]).status !== 0) {
        return { code: 1, message: `ancestry: ${stack} runs ${short(deployed)}, a commit this checkout does not have (deployed from a branch not pushed here?); refusing to deploy ${short(head)} over it: deploy by hand after checking` };
    }
    const ancestor = run("git", ["merge-base", "--is-ancestor", deployed, "HEAD"]);
    if (ancestor.status === 0) {
        return { code: 0, message: `ancestry: ${stack} runs ${short(deployed)}, which ${short(head)} contains: may deploy` };
    }
    if (ancestor.status === 1) {
        return {
            code: 1,
            message: `ancestry: ${stack} runs ${short(deployed)}, which ${short(head)} does not contain: this pipeline is older than (or diverged from) what is deployed; refusing to move ${stack} back (deploy from the newest pipeline instead)`,
        };
    }
    return { code: 2, message: `ancestry: git merge-base --is-ancestor failed: ${ancestor.stderr.trim()}` };
}

if (require.main === module) {
    const stack = process.argv[2];
    if (!stack) {
        console.error("usage: ancestry.ts <stack>");
        process.exit(2);
    }
    const v = checkAncestry(stack, runIn());
    (v.code === 0 ? console.log : console.error)(v.message);
    process.exit(v.code);
}
