/**
 * A small evaluator of identity-policy statements for one request, enough
 * for the operators the program's CI policies use (String*, Arn*, Bool, Null,
 * ForAllValues:/ForAnyValue:, …IfExists). It follows IAM's rules: an
 * explicit Deny wins, then any Allow; within a statement every operator
 * holds, within an operator every key, and a key holds when any of its
 * values matches. A missing key fails an operator, except with IfExists,
 * `ForAllValues` (vacuously true) and `Null`.
 */

export interface Statement {
    Sid?: string;
    Effect: string;
    Action: string[] | string;
    Resource?: string[] | string;
    Condition?: Record<string, Record<string, string | string[]>>;
}

export interface Request {
    readonly action: string;
    readonly resource: string;
    /** Condition keys present in the request; multi-valued keys as arrays. */
    readonly context: Record<string, string | string[]>;
}

/** IAM's wildcard match: `*` any run, `?` one character. */
export function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
    const re = pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&")))
        .join("");
    return new RegExp(`^${re}$`, ignoreCase ? "i" : "").test(value);
}

function matchOne(op: string, expected: string, actual: string): boolean {
    switch (op) {
        case "StringEquals":
            return expected === actual;
        case "StringEqualsIgnoreCase":
            return expected.toLowerCase() === actual.toLowerCase();
        case "StringLike":
        case "ArnLike":
        case "ArnEquals":
            return wildcard(expected, actual);
        case "Bool":
            return expected.toLowerCase() === actual.toLowerCase();
        default:
            throw new Error(`operator ${op} is not understood by this evaluator`);
    }
}

function operatorHolds(operator: string, block: Record<string, string | string[]>, context: Request["context"]): boolean {
    const [setOp, rest] = operator.includes(":") ? (operator.split(":") as [string, string]) : ["", operator];
    const ifExists = rest.endsWith("IfExists");
    const op = ifExists ? rest.slice(0, -"IfExists".length) : rest;
    return Object.entries(block).every(([key, values]) => {
        const expected = [values].flat();
        const actual = context[key];
        if (op === "Null") {
            return expected.some((e) => (e === "true") === (actual === undefined));
        }
        if (actual === undefined) {
            return ifExists || setOp === "ForAllValues";
        }
        const actuals = [actual].flat();
        if (setOp === "ForAllValues") {
            return actuals.every((a) => expected.some((e) => matchOne(op, e, a)));
        }
        if (setOp === "ForAnyValue") {
            return actuals.some((a) => expected.some((e) => matchOne(op, e, a)));
        }
        // A single-valued key compared with the list of allowed values.
        return actuals.length === 1 && expected.some((e) => matchOne(op, e, actuals[0]));
    });
}

function applies(s: Statement, r: Request): boolean {
    const actionMatches = [s.Action].flat().some((a) => wildcard(a, r.action, true));
    // A trust policy names no resource: the role it belongs to.
    const resourceMatches = s.Resource === undefined || [s.Resource].flat().some((p) => wildcard(p, r.resource));
    return actionMatches && resourceMatches && Object.entries(s.Condition ?? {}).every(([op, block]) => operatorHolds(op, block, r.context));
}

/** "allow", "deny" (an explicit Deny), or "implicit" (nothing allows it). */
export function evaluate(statements: readonly Statement[], r: Request): "allow" | "deny" | "implicit" {
    const matching = statements.filter((s) => applies(s, r));
    if (matching.some((s) => s.Effect === "Deny")) {
        return "deny";
    }
    return matching.some((s) => s.Effect === "Allow") ? "allow" : "implicit";
}
