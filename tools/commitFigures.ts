import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runStack, StackRun } from "../sim/harness";
import { parseCli, TS_NODE } from "./cli";

/**
 * What one commit costs a deploy: runs the program for a stack in a scratch
 * git repository before and after a commit that touches only `app/` (or the
 * folder given), and prints which images the deploy would build and push and
 * which ECS services it would roll. Figures, not a test: tests/ecr.test.ts
 * asserts the counts.
 *
 *   npx ts-node --transpile-only tools/commitFigures.ts [stack ...] [--folder app]
 */

const IMAGE = "docker:index/image:Image";
const COMMAND = "command:local:Command";
const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
const SERVICE = "aws:ecs/service:Service";

export interface Moved {
    /** Image builds (`<name>-image`, docker.Image) whose inputs changed: images built and pushed. */
    readonly images: string[];
    /** Task definitions with new inputs: a new revision each. */
    readonly taskDefinitions: string[];
    /** Services that roll: their own inputs changed, or their task definition did. */
    readonly services: string[];
    /** Other commands that run again (GitLab's migrations). */
    readonly commands: string[];
}

const inputsByName = (run: StackRun, type: string) => new Map(run.resources.filter((r) => r.type === type).map((r) => [r.name, JSON.stringify(r.inputs)]));

/** What differs between two runs of the same stack, as a deploy would act on it. */
export function whatMoved(before: StackRun, after: StackRun): Moved {
    const changed = (type: string) => {
        const old = inputsByName(before, type);
        return [...inputsByName(after, type)].filter(([name, inputs]) => old.get(name) !== inputs).map(([name]) => name).sort();
    };
    const taskDefinitions = changed(TASK_DEFINITION);
    // Mocks give a task definition the same ARN whatever its revision: whatever takes
    // a changed task definition's ARN (a service, a migration's trigger) moves with it.
    const newRevisions = new Set(after.resources.filter((r) => r.type === TASK_DEFINITION && taskDefinitions.includes(r.name)).map((r) => r.urn));
    const moves = (type: string) => {
        const own = changed(type);
        return after.resources
            .filter((r) => r.type === type && (own.includes(r.name) || r.dependencies.some((d) => newRevisions.has(d))))
            .map((r) => r.name)
            .sort();
    };
    return { images: changed(IMAGE), taskDefinitions, services: moves(SERVICE), commands: moves(COMMAND) };
}

/** Runs `stack` in a scratch repository with app/, gitlab/ and runner/, then again after a commit to `folder`. */
export async function commitFigures(stack: string, folder: string): Promise<Moved> {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "platform-commit-"));
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();
    const commit = (file: string) => {
        fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
        fs.appendFileSync(path.join(repo, file), `${Date.now()}\n`);
        git("add", "-A");
        git("-c", "user.name=figures", "-c", "user.email=figures@example.com", "commit", "-qm", `touch ${file}`);
    };
    const cwd = process.cwd();
    try {
        git("init", "-q");
        for (const f of ["app/Dockerfile", "gitlab/Dockerfile", "runner/Dockerfile", "README.md"]) {
            commit(f);
        }
        process.chdir(repo);
        const before = await runStack(stack);
        commit(`${folder}/change.txt`);
        const after = await runStack(stack);
        for (const run of [before, after]) {
            if (run.error) {
                throw run.error;
            }
        }
        return whatMoved(before, after);
    } finally {
        process.chdir(cwd);
        fs.rmSync(repo, { recursive: true, force: true });
    }
}

const CLI = {
    name: "commitFigures",
    usage: [
        `usage: ${TS_NODE} tools/commitFigures.ts [stack ...] [--folder DIR]`,
        "  stack         the stacks to measure (default: dev prod)",
        "  --folder DIR  the folder the commit touches (default: app)",
    ].join("\n"),
    options: { folder: { type: "string" } },
    positionals: [0, Infinity],
} as const;

async function main(): Promise<void> {
    const { values, positionals } = parseCli(CLI);
    const folder = values.folder ?? "app";
    const stacks = positionals.length > 0 ? positionals : ["dev", "prod"];
    for (const stack of stacks) {
        const m = await commitFigures(stack, folder);
        console.log(`${stack}: a commit to ${folder}/ builds ${m.images.length} image(s) [${m.images.join(", ")}], ` +
            `rolls ${m.services.length} service(s) [${m.services.join(", ")}], ` +
            `new task definition revisions ${m.taskDefinitions.length} [${m.taskDefinitions.join(", ")}], ` +
            `other commands re-run ${m.commands.length} [${m.commands.join(", ")}]`);
    }
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
