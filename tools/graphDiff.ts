import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * Proves a refactoring moved no resource: runs both stacks under the mocks at
 * a git revision and in the working tree, and compares their resource graphs
 * input by input (type, name, parent, inputs, dependencies, protect,
 * ignoreChanges, retainOnDelete, deleteBeforeReplace, replaceOnChanges,
 * aliases, timeouts, providers, secrets) and the stack outputs. An option the
 * older revision's harness did not record yet is named and left out. Exit 0 when identical, 1 with the differences otherwise.
 *
 *   npx ts-node --transpile-only tools/graphDiff.ts REV [stack ...]
 *   npx ts-node --transpile-only tools/graphDiff.ts --dump --out FILE [--root DIR] [stack ...]
 *
 * The revision is checked out into a temporary git worktree that borrows this
 * tree's node_modules; its own offline harness (sim/harness.ts, or
 * tests/harness.ts before the move) runs its own program there.
 */

const USAGE = "usage: graphDiff.ts REV [stack ...] | --dump --out FILE [--root DIR] [stack ...]";
const ROOT = path.resolve(__dirname, "..");
const HARNESSES = ["sim/harness.ts", "tests/harness.ts"];
/** Resource options the harness records only since sim/ learned them. */
const LATER_OPTIONS = ["deleteBeforeReplace", "replaceOnChanges", "aliases"] as const;

type Graph = Record<string, unknown>;

/** One run's graph in a canonical form: resources by URN, lists that have no order sorted. */
async function dump(root: string, stack: string): Promise<Graph> {
    const harness = HARNESSES.map((h) => path.join(root, h)).find((h) => fs.existsSync(h));
    if (!harness) {
        throw new Error(`no offline harness under ${root} (${HARNESSES.join(", ")})`);
    }
    // Image tags come from `git log` in the working directory.
    process.chdir(root);
    const { runStack } = require(harness) as { runStack: (s: string) => Promise<any> };
    const run = await runStack(stack);
    if (run.error) {
        throw new Error(`${stack} failed under ${root}: ${run.error.message}`);
    }
    const resources: Graph = {};
    for (const r of run.resources) {
        resources[r.urn] = {
            custom: r.custom,
            parent: r.parentUrn ?? null,
            protect: r.protect,
            ignoreChanges: [...r.ignoreChanges].sort(),
            retainOnDelete: r.retainOnDelete,
            dependencies: [...new Set(r.dependencies as string[])].sort(),
            propertyDependencies: Object.fromEntries(
                Object.entries(r.propertyDependencies as Record<string, string[]>)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, v]) => [k, [...new Set(v)].sort()]),
            ),
            customTimeouts: r.customTimeouts,
            provider: r.provider,
            providers: r.providers,
            secretPaths: [...r.secretPaths].sort(),
            inputs: r.inputs,
            ...Object.fromEntries(LATER_OPTIONS.filter((k) => r[k] !== undefined).map((k) => [k, Array.isArray(r[k]) ? [...r[k]].map((x) => JSON.stringify(x)).sort() : r[k]])),
        };
    }
    return { resources, outputs: run.outputs };
}

/** Dotted paths where two JSON values differ, with both sides. */
function differences(a: unknown, b: unknown, at: string, out: string[]): void {
    if (JSON.stringify(a) === JSON.stringify(b)) {
        return;
    }
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
    if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
        for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
            differences(a[k], b[k], at ? `${at}.${k}` : k, out);
        }
        return;
    }
    const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v).slice(0, 300));
    out.push(`${at}: ${show(a)} -> ${show(b)}`);
}

function worktree(rev: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graph-"));
    const git = (...args: string[]) => {
        const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
        if (r.status !== 0) {
            throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
        }
    };
    git("worktree", "add", "--detach", dir, rev);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

/** Dumps `stacks` under `root` in a child process (each harness owns its own Pulumi runtime). */
function dumpIn(root: string, stacks: string[]): Record<string, Graph> {
    const tsNode = path.join(ROOT, "node_modules/.bin/ts-node");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "graph-dump-")), "graph.json");
    const r = spawnSync(tsNode, ["--transpile-only", __filename, "--dump", "--root", root, "--out", file, ...stacks], {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "ignore", "inherit"],
    });
    if (r.status !== 0) {
        throw new Error(`dumping ${stacks.join(", ")} under ${root} failed (exit ${r.status})`);
    }
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, Graph>;
}

async function main(argv: string[]): Promise<number> {
    if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
        console.log(USAGE);
        return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === "--dump") {
        const rootAt = argv.indexOf("--root");
        const root = rootAt >= 0 ? path.resolve(argv[rootAt + 1]) : ROOT;
        const flags = ["--root", "--out"];
        const stacks = argv.slice(1).filter((x, i, all) => !flags.includes(x) && !flags.includes(all[i - 1]));
        const out: Record<string, Graph> = {};
        for (const stack of stacks.length > 0 ? stacks : ["dev", "prod"]) {
            out[stack] = await dump(root, stack);
        }
        // A file, not stdout: process.exit would cut a piped write of this size.
        fs.writeFileSync(argv[argv.indexOf("--out") + 1], JSON.stringify(out));
        return 0;
    }
    const [rev, ...rest] = argv;
    const stacks = rest.length > 0 ? rest : ["dev", "prod"];
    const dir = worktree(rev);
    try {
        const before = dumpIn(dir, stacks);
        const after = dumpIn(ROOT, stacks);
        const unrecorded = LATER_OPTIONS.filter((k) => stacks.some((st) => Object.values((before[st] as { resources: Graph }).resources).some((r) => !(k in (r as object)))));
        for (const st of stacks) {
            for (const r of Object.values((after[st] as { resources: Graph }).resources)) {
                unrecorded.forEach((k) => delete (r as Record<string, unknown>)[k]);
            }
        }
        if (unrecorded.length > 0) {
            console.log(`not compared (${rev}'s harness does not record them): ${unrecorded.join(", ")}`);
        }
        let status = 0;
        for (const stack of stacks) {
            const out: string[] = [];
            differences(before[stack], after[stack], "", out);
            const count = Object.keys((after[stack] as { resources: Graph }).resources).length;
            console.log(out.length === 0 ? `${stack}: identical to ${rev} (${count} resources, input by input)` : `${stack}: ${out.length} differences from ${rev}:`);
            out.forEach((line) => console.log(`  ${line}`));
            status = out.length > 0 ? 1 : status;
        }
        return status;
    } finally {
        spawnSync("git", ["worktree", "remove", "--force", dir], { cwd: ROOT });
    }
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    },
);
