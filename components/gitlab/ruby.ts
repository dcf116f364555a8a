/**
 * Just enough Ruby to write gitlab.rb: literals, `ENV.fetch` references and
 * symbol-keyed hashes (the form `gitaly['configuration']` is documented in).
 * Values are data until `rubyLiteral` prints them, so tests can also read them.
 */

/** A value read from the container's environment when Omnibus evaluates the config. */
export class EnvRef {
    constructor(readonly name: string) {
        if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
            throw new Error(`${JSON.stringify(name)} is not an environment variable name`);
        }
    }
}

/** A hash with symbol keys (`{ listen_addr: '...' }`). */
export class SymbolHash {
    constructor(readonly entries: Readonly<Record<string, RubyValue>>) {
        for (const k of Object.keys(entries)) {
            if (!/^[a-z_][a-z0-9_]*$/.test(k)) {
                throw new Error(`${JSON.stringify(k)} cannot be a bare symbol key`);
            }
        }
    }
}

export type RubyValue = string | number | boolean | EnvRef | SymbolHash | readonly RubyValue[] | { readonly [key: string]: RubyValue };

export const env = (name: string): EnvRef => new EnvRef(name);
export const sym = (entries: Record<string, RubyValue>): SymbolHash => new SymbolHash(entries);

/** A single-quoted Ruby string: only `\` and `'` need escaping there. */
export function rubyString(s: string): string {
    return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function rubyLiteral(v: RubyValue): string {
    if (typeof v === "string") {
        return rubyString(v);
    }
    if (typeof v === "number") {
        if (!Number.isFinite(v)) {
            throw new Error(`${v} has no Ruby literal`);
        }
        return String(v);
    }
    if (typeof v === "boolean") {
        return v ? "true" : "false";
    }
    if (v instanceof EnvRef) {
        // fetch, not ENV[...]: a missing secret stops reconfigure instead of letting
        // Omnibus generate a fresh one, which would make encrypted columns unreadable.
        return `ENV.fetch(${rubyString(v.name)})`;
    }
    if (v instanceof SymbolHash) {
        return `{ ${Object.entries(v.entries).map(([k, x]) => `${k}: ${rubyLiteral(x)}`).join(", ")} }`;
    }
    if (Array.isArray(v)) {
        return `[${v.map(rubyLiteral).join(", ")}]`;
    }
    return `{ ${Object.entries(v as Record<string, RubyValue>).map(([k, x]) => `${rubyString(k)} => ${rubyLiteral(x)}`).join(", ")} }`;
}

/** Every environment variable a value reads. */
export function envRefs(v: RubyValue): string[] {
    if (v instanceof EnvRef) {
        return [v.name];
    }
    if (v instanceof SymbolHash) {
        return Object.values(v.entries).flatMap(envRefs);
    }
    if (Array.isArray(v)) {
        return v.flatMap(envRefs);
    }
    if (typeof v === "object") {
        return Object.values(v as Record<string, RubyValue>).flatMap(envRefs);
    }
    return [];
}
