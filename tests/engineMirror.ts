import { named, StackRun } from "../sim/harness";

/**
 * Pulumi's ignoreChanges, applied to (old inputs, new inputs) as the engine
 * does before diffing: a mirror of `PropertyPath.Reset` in pulumi/pulumi
 * (sdk/go/common/resource/properties_path.go, v3.248). The leaf takes the old
 * value (or is deleted when old lacks it); where an intermediate element is
 * missing on either side, new is left as it is; `[*]` walks every element.
 */
export function effectiveInputs(oldInputs: Record<string, any>, newInputs: Record<string, any>, ignoreChanges: readonly string[]): Record<string, any> {
    const result = structuredClone(newInputs);
    const parse = (p: string): (string | number)[] =>
        p.split(/\.|(?=\[)/).map((seg) => {
            const m = /^\[(\d+|\*)\]$/.exec(seg);
            return m ? (m[1] === "*" ? "*" : Number(m[1])) : seg;
        });
    const reset = (segs: (string | number)[], old: any, nu: any): void => {
        const [head, ...rest] = segs;
        if (head === "*") {
            if (Array.isArray(old) && Array.isArray(nu)) {
                for (let i = 0; i < Math.min(old.length, nu.length); i++) {
                    reset([i, ...rest], old, nu);
                }
            }
            return;
        }
        if (old === null || typeof old !== "object" || nu === null || typeof nu !== "object") {
            return;
        }
        if (rest.length === 0) {
            if (head in old) {
                nu[head] = structuredClone(old[head]);
            } else {
                delete nu[head];
            }
            return;
        }
        if (head in old && head in nu) {
            reset(rest, old[head], nu[head]);
        }
    };
    for (const p of ignoreChanges) {
        reset(parse(p), oldInputs, result);
    }
    return result;
}

/** A resource's inputs in `after` as the engine diffs them against `before` (its ignoreChanges applied). */
export const effective = (before: StackRun, after: StackRun, type: string, name: string) => {
    const next = named(after, type, name);
    return effectiveInputs(named(before, type, name).inputs, next.inputs, next.ignoreChanges);
};
