import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Invoke, Resource } from "../sim/harness";
import { parseCli, TS_NODE, usageError } from "./cli";

/**
 * Proves a refactoring moved no resource: runs both stacks under the mocks at
 * a git revision and in the working tree, and compares their resource graphs
 * input by input (type, name, parent, inputs, dependencies, protect,
 * ignoreChanges, retainOnDelete, deleteBeforeReplace, replaceOnChanges,
 * aliases, timeouts, providers, secrets), the invokes of data sources (token,
 * args, provider) and the stack outputs. An option or invoke field the
 * older revision's harness did not record yet is named and left out. Exit 0 when identical, 1 with the differences otherwise.
 *
 *   npx ts-node --transpile-only tools/graphDiff.ts REV [stack ...]
 *   npx ts-node --transpile-only tools/graphDiff.ts --dump --out FILE [--root DIR] [stack ...]
 *
 * The revision is checked out into a temporary git worktree that borrows this
 * tree's node_modules; its own offline harness (sim/harness.ts, or
 * tests/harness.ts before the move) runs its own program there.
 */

const CLI = {
    name: "graphDiff",
    usage: [
        `usage: ${TS_NODE} tools/graphDiff.ts REV [stack ...]`,
        `       ${TS_NODE} tools/graphDiff.ts --dump --out FILE [--root DIR] [stack ...]`,
        "  REV    the git revision to compare the working tree with (stacks: default dev prod)",
        "  --dump writes the stacks' graphs as JSON into FILE, run in DIR (what each side of a comparison runs)",
    ].join("\n"),
    options: { dump: { type: "boolean" }, out: { type: "string" }, root: { type: "string" } },
    positionals: [0, Infinity],
} as const;
const ROOT = path.resolve(__dirname, "..");
const HARNESSES = ["sim/harness.ts", "tests/harness.ts"];
/** Resource options the harness records only since sim/ learned them. */
const LATER_OPTIONS = ["deleteBeforeReplace", "replaceOnChanges", "aliases"] as const;
/** Invoke fields the harness records only since sim/ learned them. */
const LATER_INVOKE_FIELDS = ["provider"] as const;

type LaterOption = (typeof LATER_OPTIONS)[number];
type LaterInvokeField = (typeof LATER_INVOKE_FIELDS)[number];
/** What a harness's run holds (sim/harness.ts StackRun), the later fields possibly absent. */
interface RecordedRun {
    readonly resources: readonly (Omit<Resource, LaterOption> & Partial<Pick<Resource, LaterOption>>)[];
    readonly invokes: readonly (Omit<Invoke, LaterInvokeField> & Partial<Pick<Invoke, LaterInvokeField>>)[];
    readonly outputs: Record<string, unknown>;
    readonly error?: Error;
}

type Entry = Record<string, unknown>;
interface Graph {
    /** By URN. */
    readonly resources: Record<string, Entry>;
    /** In the order the program made them: compared as a set (canonical), not by order. */
    readonly invokes: Entry[];
    readonly outputs: Record<string, unknown>;
}

/** The fields of `later` that `item` has (an older harness may not record them). */
const recorded = (item: object, later: readonly string[]): Entry =>
    Object.fromEntries(later.filter((k) => (item as Entry)[k] !== undefined).map((k) => [k, (item as Entry)[k]]));

/** One run's graph in a canonical form: resources by URN, lists that have no order sorted. */
async function dump(root: string, stack: string): Promise<Graph> {
    const harness = HARNESSES.map((h) => path.join(root, h)).find((h) => fs.existsSync(h));
    if (!harness) {
        throw new Error(`no offline harness under ${root} (${HARNESSES.join(", ")})`);
    }
    // Image tags come from `git log` in the working directory.
    process.chdir(root);
    const { runStack } = require(harness) as { runStack: (s: string) => Promise<RecordedRun> };
    const run = await runStack(stack);
    if (run.error) {
        throw new Error(`${stack} failed under ${root}: ${run.error.message}`);
    }
    const resources: Record<string, Entry> = {};
    for (const r of run.resources) {
        resources[r.urn] = {
            custom: r.custom,
            parent: r.parentUrn ?? null,
            protect: r.protect,
            ignoreChanges: [...r.ignoreChanges].sort(),
            retainOnDelete: r.retainOnDelete,
            dependencies: [...new Set(r.dependencies)].sort(),
            propertyDependencies: Object.fromEntries(
                Object.entries(r.propertyDependencies)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, v]) => [k, [...new Set(v)].sort()]),
            ),
            customTimeouts: r.customTimeouts,
            provider: r.provider,
            providers: r.providers,
            secretPaths: [...r.secretPaths].sort(),
            inputs: r.inputs,
            ...Object.fromEntries(Object.entries(recorded(r, LATER_OPTIONS)).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => JSON.stringify(x)).sort() : v])),
        };
    }
    const invokes = run.invokes.map((i) => ({ token: i.token, args: i.args, ...recorded(i, LATER_INVOKE_FIELDS) }));
    return { resources, invokes, outputs: run.outputs };
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

/**
 * The fields of `later` that `before`'s harness left out of any item `items`
 * picks: deleted from `after`'s items too, so only what both record is compared.
 */
function dropUnrecorded(later: readonly string[], before: Graph[], after: Graph[], items: (g: Graph) => Entry[]): string[] {
    const missing = later.filter((k) => before.some((g) => items(g).some((item) => !(k in item))));
    after.forEach((g) => items(g).forEach((item) => missing.forEach((k) => delete item[k])));
    return missing;
}

/** The graph with its invokes sorted: which data sources are read, not in what order the promises settled. */
function canonical(g: Graph): Graph {
    const key = (e: Entry) => JSON.stringify(e);
    return { ...g, invokes: [...g.invokes].sort((a, b) => key(a).localeCompare(key(b))) };
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
    const { values, positionals } = parseCli(CLI, argv);
    if (values.dump) {
        if (values.out === undefined) {
            usageError(CLI, "--dump needs --out FILE");
        }
        const root = values.root !== undefined ? path.resolve(values.root) : ROOT;
        const stacks = positionals;
        const out: Record<string, Graph> = {};
        for (const stack of stacks.length > 0 ? stacks : ["dev", "prod"]) {
            out[stack] = await dump(root, stack);
        }
        // A file, not stdout: process.exit would cut a piped write of this size.
        fs.writeFileSync(values.out, JSON.stringify(out));
        return 0;
    }
    if (values.out !== undefined || values.root !== undefined) {
        usageError(CLI, "--out and --root go with --dump");
    }
    if (positionals.length === 0) {
        usageError(CLI, "missing argument REV");
    }
    const [rev, ...rest] = positionals;
    const stacks = rest.length > 0 ? rest : ["dev", "prod"];
    const dir = worktree(rev);
    try {
        const before = dumpIn(dir, stacks);
        const after = dumpIn(ROOT, stacks);
        const unrecorded = [
            ...dropUnrecorded(LATER_OPTIONS, stacks.map((st) => before[st]), stacks.map((st) => after[st]), (g) => Object.values(g.resources)),
            ...dropUnrecorded(LATER_INVOKE_FIELDS, stacks.map((st) => before[st]), stacks.map((st) => after[st]), (g) => g.invokes).map((k) => `invoke ${k}`),
        ];
        if (unrecorded.length > 0) {
            console.log(`not compared (${rev}'s harness does not record them): ${unrecorded.join(", ")}`);
        }
        let status = 0;
        for (const stack of stacks) {
            const out: string[] = [];
            differences(canonical(before[stack]), canonical(after[stack]), "", out);
            const count = Object.keys(after[stack].resources).length;
            console.log(out.length === 0 ? `${stack}: identical to ${rev} (${count} resources, input by input)` : `${stack}: ${out.length} differences from ${rev}:`);
            out.forEach((line) => console.log(`  ${line}`));
            status = out.length > 0 ? 1 : status;
        }
        return status;
    } finally {
        spawnSync("git", ["worktree", "remove", "--force", dir], { cwd: ROOT });
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e: unknown) => {
            console.error(e instanceof Error ? e.message : e);
            process.exit(1);
        },
    );
}
