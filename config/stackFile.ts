import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, stackFile } from ".";

/**
 * Reads Pulumi.<stack>.yaml's `config:` map as the offline runs (the plan, the
 * tests) see it. The Pulumi CLI reads the file itself before the program
 * starts; here a file that is missing or not YAML is a ConfigError naming the
 * file (and the line), like any other bad value.
 */

/** The stacks `dir` has a file for, by name. */
export function stacksIn(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** The parse error as one line: where, then what (the yaml package's message ends in a code excerpt). */
function yamlProblem(e: unknown): string {
    if (!(e instanceof YAML.YAMLError)) {
        throw e;
    }
    const what = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    const at = e.linePos?.[0];
    return at === undefined ? `not valid YAML: ${what}` : `line ${at.line}, column ${at.col}: not valid YAML: ${what}`;
}

export function readStackFile(dir: string, stack: string): Record<string, unknown> {
    const file = path.join(dir, stackFile(stack));
    if (!fs.existsSync(file)) {
        const stacks = stacksIn(dir);
        throw new ConfigError(stack, [`no such stack file; the stacks here: ${stacks.join(", ") || "none"} (${stackFile("<stack>")})`]);
    }
    let doc: { config?: Record<string, unknown> } | null;
    try {
        doc = YAML.parse(fs.readFileSync(file, "utf8")) as typeof doc;
    } catch (e) {
        throw new ConfigError(stack, [yamlProblem(e)]);
    }
    return doc?.config ?? {};
}
