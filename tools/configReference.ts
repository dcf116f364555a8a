import * as path from "path";
import { z } from "zod";
import { PROJECT, sectionsSchema } from "../config";
import { readStackFile } from "../config/stackFile";
import { describeMemoryOptions, FARGATE_CPU_SIZES } from "../facts/fargate";
import { STACK_DIR, STACKS } from "../sim/harness";
import { parseCli, TS_NODE } from "./cli";
import { refreshBlock } from "./docBlocks";

/**
 * The README's configuration reference, drawn from the zod schema itself
 * (`config/sections/`): every key a stack file may set, its type and limits,
 * its default and what it does (each key's `.describe()`), beside what the
 * committed stacks set. `tests/docs.test.ts` fails when the README's copy is stale.
 */

/** The subset of JSON Schema that `z.toJSONSchema` writes for this schema. */
interface Node {
    readonly type?: string;
    readonly description?: string;
    readonly default?: unknown;
    readonly enum?: readonly unknown[];
    readonly const?: unknown;
    readonly anyOf?: readonly Node[];
    readonly oneOf?: readonly Node[];
    readonly minimum?: number;
    readonly maximum?: number;
    readonly exclusiveMinimum?: number;
    readonly exclusiveMaximum?: number;
    readonly minItems?: number;
    readonly items?: Node;
    readonly properties?: Readonly<Record<string, Node>>;
    readonly required?: readonly string[];
    /** Ours (`.meta()` in config/sections/): a default computed from other keys, or a type the JSON Schema cannot say. */
    readonly computedDefault?: string;
    readonly displayType?: string;
}

export interface ConfigKey {
    /** Dotted path under `platform:`, e.g. `gitlab.web.minCount`. */
    readonly key: string;
    readonly type: string;
    readonly default: string;
    readonly description: string;
    /** A section or an object of keys: its row says what it is for, its keys follow. */
    readonly group?: boolean;
}

const code = (v: unknown) => `\`${typeof v === "string" && v !== "" ? v : JSON.stringify(v)}\``;

function range(min: number | undefined, max: number | undefined): string {
    // zod's .int() bounds are the safe-integer limits: not a limit a user meets.
    const lo = min !== undefined && min > Number.MIN_SAFE_INTEGER ? min : undefined;
    const hi = max !== undefined && max < Number.MAX_SAFE_INTEGER ? max : undefined;
    if (lo !== undefined && hi !== undefined) {
        return ` ${lo}–${hi}`;
    }
    return lo !== undefined ? ` ≥ ${lo}` : hi !== undefined ? ` ≤ ${hi}` : "";
}

/** A value's type as a reader writes it: `a` \| `b`, integer 1–50, list of string. */
export function typeOf(n: Node): string {
    if (n.displayType !== undefined) {
        return n.displayType;
    }
    const choices = n.anyOf ?? n.oneOf;
    if (n.enum !== undefined) {
        return n.enum.map(code).join(" \\| ");
    }
    if (n.const !== undefined) {
        return code(n.const);
    }
    if (choices !== undefined) {
        return choices.map(typeOf).join(" \\| ");
    }
    if (n.type === "integer" || n.type === "number") {
        const lo = n.exclusiveMinimum !== undefined ? `> ${n.exclusiveMinimum}` : undefined;
        const hi = n.exclusiveMaximum !== undefined ? `< ${n.exclusiveMaximum}` : undefined;
        const bounds = lo ?? hi ? ` ${[lo, hi].filter(Boolean).join(", ")}` : range(n.minimum, n.maximum);
        return `${n.type}${bounds}`;
    }
    if (n.type === "array") {
        return `list of ${n.items ? typeOf(n.items) : "values"}${n.minItems ? ` (at least ${n.minItems})` : ""}`;
    }
    return n.type ?? "any";
}

/** Where a key must be set: always, or only once the optional object around it is. */
type Need = { readonly required: boolean; readonly within?: string };

function defaultOf(n: Node, need: Need): string {
    if (n.default !== undefined) {
        // Inside an optional object with no default, a default applies only once the object is set.
        return need.within === undefined ? code(n.default) : `${code(n.default)} when \`${need.within}\` is set`;
    }
    if (n.computedDefault !== undefined) {
        return code(n.computedDefault);
    }
    if (!need.required) {
        return "unset";
    }
    return need.within === undefined ? "(required)" : `(required in \`${need.within}\`)`;
}

/** The branches of a union of objects (gitlab.email), or undefined. */
function objectBranches(n: Node): readonly Node[] | undefined {
    const branches = n.anyOf ?? n.oneOf;
    return branches?.every((b) => b.properties !== undefined) ? branches : undefined;
}

/** The key whose constant tells a union's branches apart (`provider`), and its value in `branch`. */
function discriminator(branches: readonly Node[], branch: Node): [string, unknown] | undefined {
    const key = Object.keys(branch.properties ?? {}).find((k) => branches.every((b) => b.properties?.[k]?.const !== undefined));
    return key === undefined ? undefined : [key, branch.properties![key].const];
}

/**
 * A union's keys, once each: the discriminator with every value it takes,
 * each other key saying which branches take it. `fallback` is the union's
 * default object (gitlab.email: `{ provider: "ses" }`).
 */
function unionLeaves(prefix: string, branches: readonly Node[], need: Need, fallback: unknown): ConfigKey[] {
    const rows = new Map<string, ConfigKey>();
    const tagKey = discriminator(branches, branches[0])?.[0];
    for (const branch of branches) {
        for (const row of leaves(prefix, { ...branch, oneOf: undefined, anyOf: undefined }, need)) {
            const name = row.key.slice(prefix.length + 1).split(".")[0];
            if (rows.has(row.key) || row.key === prefix) {
                continue;
            }
            const taking = branches.filter((b) => b.properties?.[name] !== undefined).map((b) => String(discriminator(branches, b)?.[1]));
            const fromFallback = (fallback as Record<string, unknown> | undefined)?.[name];
            const isTag = name === tagKey;
            rows.set(row.key, {
                ...row,
                type: isTag ? branches.map((b) => code(discriminator(branches, b)?.[1])).join(" \\| ") : row.type,
                default: row.default.startsWith("(") ? (fromFallback !== undefined ? code(fromFallback) : taking.length < branches.length ? `(required with ${taking.join(", ")})` : row.default) : row.default,
                description: isTag || taking.length === branches.length || tagKey === undefined ? row.description : `${tagKey} ${taking.map((t) => `\`${t}\``).join(", ")} only: ${row.description.replace(new RegExp(`^${taking[0]}: `), "")}`,
            });
        }
    }
    return [...rows.values()];
}

/** Every leaf key of a section, depth first, in the schema's order. */
function leaves(prefix: string, n: Node, need: Need): ConfigKey[] {
    const branches = objectBranches(n);
    if (branches !== undefined) {
        const own: ConfigKey = { key: prefix, group: true, type: "object", default: n.default !== undefined ? "" : need.required ? "(required)" : "unset", description: n.description ?? "" };
        return [own, ...unionLeaves(prefix, branches, need, n.default)];
    }
    if (n.properties !== undefined) {
        const optional = !need.required && n.default === undefined && prefix !== "";
        const within = need.within ?? (optional ? prefix : undefined);
        // The object's own row: what the section or group is for, and whether leaving it out turns something off.
        const own: ConfigKey[] =
            prefix !== "" && n.description !== undefined
                ? [{ key: prefix, group: true, type: prefix.includes(".") ? "object" : "section", default: optional ? "unset" : n.default !== undefined ? "" : "(required)", description: n.description }]
                : [];
        return [...own, ...Object.entries(n.properties).flatMap(([k, child]) => leaves(prefix ? `${prefix}.${k}` : k, child, { required: n.required?.includes(k) ?? false, within }))];
    }
    return [{ key: prefix, type: typeOf(n), default: defaultOf(n, need), description: n.description ?? "" }];
}

/** Every key a schema of sections accepts, with its type, default and description. */
export function keysOf(schema: z.ZodType): ConfigKey[] {
    return leaves("", z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Node, { required: true });
}

export const configKeys = (): ConfigKey[] => keysOf(sectionsSchema);

/** What a stack file sets for `key` (dotted, under `platform:`), as written; undefined when unset. */
function stackValue(config: Record<string, unknown>, key: string): unknown {
    const [section, ...rest] = key.split(".");
    let v: unknown = config[`${PROJECT}:${section}`];
    for (const k of rest) {
        v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
    }
    return v;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A description's paths under docs/ as links, relative to the README the table sits in. */
const linked = (s: string) => s.replace(/(?<![\w/[]|\]\()docs\/[\w/.-]+\.md/g, (p) => `[${p}](${p})`);

/** The table: one row per key, the committed stacks' values beside the default. */
export function configReference(dir = STACK_DIR): string {
    const stacks = STACKS.map((s) => ({ name: s, config: readStackFile(dir, s) }));
    const region = stacks.map((s) => code(s.config["aws:region"] ?? "unset")).join(" | ");
    const rows = configKeys().map((k) => {
        const values = stacks.map((s) => {
            const v = stackValue(s.config, k.key);
            return v === undefined ? "·" : k.group ? "set" : cell(code(v));
        });
        return `| ${k.group ? `**\`${k.key}\`**` : `\`${k.key}\``} | ${k.type} | ${cell(k.default)} | ${values.join(" | ")} | ${linked(cell(k.description))} |`;
    });
    return [
        `| key | type | default | ${STACKS.join(" | ")} | what it does |`,
        `|---|---|---|${STACKS.map(() => "---|").join("")}---|`,
        `| \`aws:region\` | an AWS region \`@pulumi/aws\` knows | (required) | ${region} | where the stack runs; the plan's prices are us-east-1's |`,
        ...rows,
        "",
        `Fargate CPU units → memory MiB (every \`cpu\`/\`memory\` pair): ${FARGATE_CPU_SIZES.map((c) => `${c} → ${describeMemoryOptions(c)}`).join("; ")}.`,
    ].join("\n");
}

export const BLOCK = "config-reference";

if (require.main === module) {
    parseCli({
        name: "configReference",
        usage: `usage: ${TS_NODE} tools/configReference.ts\n  rewrites README.md's configuration reference from the schema (config/sections/) and the stack files`,
    });
    const file = path.join(__dirname, "..", "README.md");
    console.log(`${file}: ${refreshBlock(file, BLOCK, configReference()) ? "updated" : "already fresh"}`);
}
