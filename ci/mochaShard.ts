import * as fs from "fs";
import * as path from "path";
import { parseCli, TS_NODE, usageError } from "../tools/cli";

/**
 * Which mocha spec files one `test: mocha` job of the pipeline runs
 * (.gitlab-ci.yml, `parallel:`): every spec file .mocharc.json names goes to
 * exactly one of CI_NODE_TOTAL shards, balanced by the seconds each file took
 * in the committed timing table (ci/mocha-timings.json, written by
 * tools/mochaTimings.ts from a mocha JSON run). Greedy, longest first: each
 * file to the shard with the fewest seconds so far. A file the table does not
 * know yet (a new spec) counts as the table's median, so adding a test never
 * needs the table first; regenerate it when the shards drift apart.
 *
 *   node_modules/.bin/ts-node --transpile-only ci/mochaShard.ts <index> <total> [--config <out.json>]
 *       shard <index>'s files, one a line; with --config also .mocharc.json with
 *       only those as its spec, for `mocha --config <out.json>` (scripts/test-all.sh)
 *   node_modules/.bin/ts-node --transpile-only ci/mochaShard.ts --plan <total>    # every shard and its estimate
 *
 * Each shard is its own mocha process: what the files share per process (the
 * cached stack runs of sim/harness.ts) is paid once per shard, the same in
 * every shard, so it does not move the balance.
 */

const ROOT = path.resolve(__dirname, "..");
export const TIMINGS_FILE = "ci/mocha-timings.json";

/** The spec files .mocharc.json's `spec` globs match (`dir/**\/*.suffix` only), repository-relative, sorted. */
export function specFiles(root = ROOT): string[] {
    const rc = JSON.parse(fs.readFileSync(path.join(root, ".mocharc.json"), "utf8")) as { spec: string[] };
    const files = rc.spec.flatMap((glob) => {
        const m = /^([\w./-]+)\/\*\*\/\*(\.[\w.]+)$/.exec(glob);
        if (!m) {
            throw new Error(`mochaShard: .mocharc.json spec ${JSON.stringify(glob)} is not of the form dir/**/*.suffix`);
        }
        return walk(root, m[1]).filter((f) => f.endsWith(m[2]));
    });
    return [...new Set(files)].sort();
}

function walk(root: string, dir: string): string[] {
    return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = `${dir}/${e.name}`;
        return e.isDirectory() ? walk(root, rel) : [rel];
    });
}

export function median(values: number[]): number {
    if (values.length === 0) {
        return 1;
    }
    const s = [...values].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface Shard {
    readonly files: string[];
    /** Estimated seconds: the table's figures (the median for a file it lacks). */
    readonly seconds: number;
}

/** `files` into `total` shards, greedy longest first onto the lightest shard (ties: the lower index; files by name). */
export function shards(files: string[], timings: Record<string, number>, total: number): Shard[] {
    if (!Number.isInteger(total) || total < 1) {
        throw new Error(`mochaShard: ${total} shards`);
    }
    const fallback = median(Object.values(timings));
    const cost = (f: string) => timings[f] ?? fallback;
    const ordered = [...files].sort((a, b) => cost(b) - cost(a) || a.localeCompare(b));
    const out = Array.from({ length: total }, () => ({ files: [] as string[], seconds: 0 }));
    for (const f of ordered) {
        const lightest = out.reduce((best, s, i) => (s.seconds < out[best].seconds ? i : best), 0);
        out[lightest].files.push(f);
        out[lightest].seconds += cost(f);
    }
    return out.map((s) => ({ files: s.files.sort(), seconds: Math.round(s.seconds * 10) / 10 }));
}

export function readTimings(root = ROOT): Record<string, number> {
    return JSON.parse(fs.readFileSync(path.join(root, TIMINGS_FILE), "utf8")) as Record<string, number>;
}

/** .mocharc.json with its `spec` replaced by `files`: mocha adds positional files to the config's spec, so a shard needs its own config. */
export function shardConfig(files: string[], root = ROOT): string {
    const rc = JSON.parse(fs.readFileSync(path.join(root, ".mocharc.json"), "utf8")) as Record<string, unknown>;
    return `${JSON.stringify({ ...rc, spec: files }, null, 2)}\n`;
}

const CLI = {
    name: "mochaShard",
    usage: [
        `usage: ${TS_NODE} ci/mochaShard.ts <index 1..total> <total> [--config <out.json>]`,
        `       ${TS_NODE} ci/mochaShard.ts --plan <total>`,
        "  prints the spec files of shard <index> (--config: also writes its mocha config); --plan: every shard and its estimate",
    ].join("\n"),
    options: { plan: { type: "string" }, config: { type: "string" } },
    positionals: [0, 2],
} as const;

function main(args: string[]): void {
    const { values, positionals } = parseCli(CLI, args);
    if (values.plan !== undefined) {
        const total = Number(values.plan);
        shards(specFiles(), readTimings(), total).forEach((s, i) => console.log(`shard ${i + 1}/${total}: ${s.seconds} s, ${s.files.length} files`));
        return;
    }
    const [index, total] = positionals.map(Number);
    const config = values.config;
    if (!(Number.isInteger(index) && index >= 1 && index <= total)) {
        usageError(CLI, `no shard ${positionals.join("/") || "given"}`);
    }
    const mine = shards(specFiles(), readTimings(), total)[index - 1];
    console.error(`mocha shard ${index}/${total}: ${mine.files.length} files, about ${mine.seconds} s of tests`);
    if (config) {
        fs.writeFileSync(config, shardConfig(mine.files));
    }
    console.log(mine.files.join("\n"));
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        console.error((e as Error).message);
        process.exit(1);
    }
}
