import * as fs from "fs";
import * as path from "path";
import { TIMINGS_FILE } from "../ci/mochaShard";
import { parseCli, TS_NODE } from "./cli";

/**
 * Regenerates ci/mocha-timings.json, the seconds each spec file takes, which
 * ci/mochaShard.ts balances the pipeline's `test: mocha` shards by. From one
 * mocha JSON run of the whole suite:
 *
 *   npx mocha --reporter json --reporter-option output=/tmp/mocha.json
 *   node_modules/.bin/ts-node --transpile-only tools/mochaTimings.ts /tmp/mocha.json
 *
 * A file's figure is the sum of its tests' durations (mocha's JSON reports
 * no hooks). Failed tests count too: a red run still says how long a file
 * takes. The table is reviewed like code; a spec file it lacks is counted as
 * the median until the next regeneration.
 */

interface MochaJson {
    tests: { file?: string; duration?: number }[];
}

/** Seconds per repository-relative spec file, one decimal (at least 0.1 s), sorted by file. */
export function timingsFrom(report: MochaJson, root: string): Record<string, number> {
    const ms = new Map<string, number>();
    for (const t of report.tests) {
        if (!t.file) {
            throw new Error("mochaTimings: a test without its file: run mocha 9 or later with --reporter json");
        }
        const file = path.relative(root, path.resolve(root, t.file)).split(path.sep).join("/");
        ms.set(file, (ms.get(file) ?? 0) + (t.duration ?? 0));
    }
    return Object.fromEntries([...ms.keys()].sort().map((f) => [f, Math.max(0.1, Math.round(ms.get(f)! / 100) / 10)]));
}

if (require.main === module) {
    const { positionals } = parseCli({
        name: "mochaTimings",
        usage: [
            `usage: ${TS_NODE} tools/mochaTimings.ts <mocha JSON report>`,
            "  rewrites ci/mocha-timings.json from the report of a whole run (mocha --reporter json)",
        ].join("\n"),
        positionals: [1, 1],
    });
    const report = positionals[0];
    const root = path.resolve(__dirname, "..");
    const timings = timingsFrom(JSON.parse(fs.readFileSync(report, "utf8")) as MochaJson, root);
    fs.writeFileSync(path.join(root, TIMINGS_FILE), `${JSON.stringify(timings, null, 2)}\n`);
    const total = Object.values(timings).reduce((a, b) => a + b, 0);
    console.log(`${TIMINGS_FILE}: ${Object.keys(timings).length} files, ${Math.round(total)} s of tests`);
}
