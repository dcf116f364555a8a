import { parseArgs, ParseArgsConfig } from "util";

/**
 * The command line of every operator tool, so they all answer as shell tools
 * do: `--help` or `-h` prints the usage on stdout and exits 0; bad usage (an
 * unknown option, an option without its value, a missing or extra argument)
 * prints the problem and the usage on stderr and exits 2, before the tool
 * reads its environment or touches anything.
 */

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface CliSpec<O extends Options> {
    /** The tool's name, the prefix of its messages. */
    readonly name: string;
    /** `usage: ...` first, then a line per option or environment variable. */
    readonly usage: string;
    readonly options?: O;
    /** How many positional arguments it takes, [least, most]; none by default. */
    readonly positionals?: readonly [number, number];
}

/** Bad usage: the problem and the usage on stderr, exit 2. */
export function usageError(spec: Pick<CliSpec<Options>, "name" | "usage">, problem: string): never {
    process.stderr.write(`${spec.name}: ${problem}\n${spec.usage}\n`);
    process.exit(2);
}

/** Help anywhere before a `--` wins over everything else on the line. */
function wantsHelp(argv: readonly string[]): boolean {
    const end = argv.indexOf("--");
    return argv.slice(0, end < 0 ? argv.length : end).some((a) => a === "--help" || a === "-h");
}

export function parseCli<O extends Options>(spec: CliSpec<O>, argv: string[] = process.argv.slice(2)) {
    if (wantsHelp(argv)) {
        process.stdout.write(`${spec.usage}\n`);
        process.exit(0);
    }
    const config = { args: argv, options: spec.options ?? ({} as O), allowPositionals: true, strict: true } as const;
    let parsed: ReturnType<typeof parseArgs<typeof config>>;
    try {
        parsed = parseArgs(config);
    } catch (e) {
        // Node's message goes on to explain `--` for positionals that start with a dash: the first sentence is the problem.
        const sentence = (e instanceof Error ? e.message : String(e)).split(/\.\s/)[0];
        usageError(spec, sentence.charAt(0).toLowerCase() + sentence.slice(1));
    }
    const [least, most] = spec.positionals ?? [0, 0];
    if (parsed.positionals.length < least) {
        usageError(spec, `missing argument (${least === most ? least : `at least ${least}`} expected)`);
    }
    if (parsed.positionals.length > most) {
        usageError(spec, `unexpected argument ${JSON.stringify(parsed.positionals[most])}`);
    }
    return parsed;
}

/** How the usage lines start a tool: the repository's own ts-node, as the README runs them. */
export const TS_NODE = "node_modules/.bin/ts-node --transpile-only";
