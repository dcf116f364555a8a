/**
 * The example values a stack file ships with, which a real deployment must
 * replace: names under the domains reserved for documentation (RFC 2606:
 * example.com, example.net, example.org and the .example top-level domain)
 * and names that say so (`example-…`). Pure: the plan lists them
 * (tools/plan.ts, `--check-placeholders` fails on any).
 */

export interface Placeholder {
    /** The key as the stack file writes it: `platform:dns.zoneName`, `platform:alarms.email`. */
    readonly key: string;
    readonly value: string;
}

const RESERVED = /(^|[.@/])example\.(com|net|org)\b|\.example\b/i;
const NAMED = /^example[-_]/i;

export function isPlaceholder(value: string): boolean {
    return RESERVED.test(value) || NAMED.test(value);
}

/** Every string in a stack file's `config:` map (keys joined with `.`, list items by index) that is an example value. */
export function placeholdersIn(config: Readonly<Record<string, unknown>>): Placeholder[] {
    const found: Placeholder[] = [];
    const walk = (v: unknown, key: string) => {
        if (typeof v === "string") {
            if (isPlaceholder(v)) {
                found.push({ key, value: v });
            }
        } else if (Array.isArray(v)) {
            v.forEach((x, i) => walk(x, `${key}[${i}]`));
        } else if (v && typeof v === "object") {
            for (const [k, x] of Object.entries(v)) {
                walk(x, `${key}.${k}`);
            }
        }
    };
    for (const [k, v] of Object.entries(config)) {
        walk(v, k);
    }
    return found;
}
