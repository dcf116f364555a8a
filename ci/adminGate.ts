import * as fs from "fs";
import { ADMIN_CREATES, GRANTS } from "../components/deployIdentity";

/**
 * Stops a CI deploy before it starts when the change needs an administrator:
 * GitLab CI's deploy role may read IAM roles and policies, the CI identity
 * and KMS keys but never change them, nor create a bucket
 * (components/deployIdentity/grants/), so `pulumi up` would fail half-way at the first
 * such step. Reads `pulumi preview --json` and fails,
 * naming the resources and the command to run, when any of them changes.
 *
 *   pulumi preview --stack dev --json >preview.json
 *   ts-node --transpile-only ci/adminGate.ts preview.json
 */

/** Steps that change nothing in AWS. */
const NO_CHANGE = new Set(["same", "read", "refresh", "discard", "discard-replaced", "import"]);

/** Resource types CI may read but not write: every type whose grants have no write action. */
export function adminOnlyTypes(): Set<string> {
    const writable = new Set(GRANTS.filter((g) => g.write.length > 0).flatMap((g) => g.covers));
    // Resource types only (`pkg:module:Type`), not data sources (`…:getZone`) or tools.
    return new Set(GRANTS.flatMap((g) => g.covers).filter((t) => /^[a-z]+:[^:]+:[A-Z]\w*$/.test(t) && !writable.has(t)));
}

/** The type in a URN: the last of the `$`-joined qualified type. */
export function urnType(urn: string): string {
    const parts = urn.split("::");
    return parts[2].split("$").pop()!;
}

export interface Step {
    readonly op: string;
    readonly urn: string;
}

/** The steps of a preview that only an administrator may apply. */
export function adminSteps(steps: readonly Step[], adminOnly: Set<string> = adminOnlyTypes()): Step[] {
    const createsOrDeletes = new Set(["create", "replace", "create-replacement", "delete", "delete-replaced"]);
    return steps.filter((s) => !NO_CHANGE.has(s.op) && (adminOnly.has(urnType(s.urn)) || (createsOrDeletes.has(s.op) && ADMIN_CREATES.includes(urnType(s.urn)))));
}

function main(): void {
    const file = process.argv[2];
    if (!file) {
        throw new Error("usage: adminGate.ts <pulumi preview --json output>");
    }
    const preview = JSON.parse(fs.readFileSync(file, "utf8")) as { steps?: Step[] };
    const blocked = adminSteps(preview.steps ?? []);
    if (blocked.length === 0) {
        console.log("admin gate: no IAM change, CI may deploy");
        return;
    }
    console.error("admin gate: this change touches IAM, which GitLab CI's deploy role may not change (README: \"Deploy identity\"):");
    for (const s of blocked) {
        console.error(`  ${s.op} ${s.urn}`);
    }
    console.error("An administrator applies this change from a workstation (the whole update: what these depend on may be new too):\n  pulumi up --stack <stack>\nand CI's next deploy finds nothing of it left to do.");
    process.exit(1);
}

if (require.main === module) {
    try {
        main();
    } catch (e) {
        console.error(e instanceof Error ? e.message : e);
        process.exit(2);
    }
}
