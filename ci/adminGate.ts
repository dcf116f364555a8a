import * as fs from "fs";
import { ADMIN_CREATES, GRANTS } from "../components/deployIdentity";
import { DEPLOY_RUNNER_NAME, RUNNER_COMPONENT_TYPE } from "../components/runner/facts";

/**
 * Stops a CI deploy before it starts when the change needs an administrator:
 * GitLab CI's deploy role may read IAM roles and policies, the CI identity
 * and KMS keys but never change them, nor create a bucket
 * (components/deployIdentity/grants/), so `pulumi up` would fail half-way at the first
 * such step; and a change to the deploy runner, the fleet this very job runs
 * on, would restart its manager (desired 1, minimum healthy 0 %) and kill
 * `pulumi up` mid-apply with the state locked. Reads `pulumi preview --json`
 * and fails, naming the resources and the command to run, when any of them changes.
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

/** The logical name in a URN. */
const urnName = (urn: string): string => urn.split("::").slice(3).join("::");

/**
 * The steps that change the deploy runner (its manager's service and task
 * definition, token, roles, network, workers): any of them may restart the
 * manager this job runs on, or take its worker away. Conservative on purpose:
 * a false alarm costs one deploy by hand, a miss a locked state.
 */
export function runnerSteps(steps: readonly Step[], fleet: string = DEPLOY_RUNNER_NAME): Step[] {
    const inFleet = (urn: string) => urn.split("::")[2].split("$")[0] === RUNNER_COMPONENT_TYPE && (urnName(urn) === fleet || urnName(urn).startsWith(`${fleet}-`));
    return steps.filter((s) => !NO_CHANGE.has(s.op) && inFleet(s.urn));
}

/** What the gate says: nothing when CI may deploy, else the refusal's lines (the command to run by hand last). */
export function verdict(steps: readonly Step[], stack: string): string[] {
    const admin = adminSteps(steps);
    const runner = runnerSteps(steps);
    const lines = (title: string, blocked: Step[]) => (blocked.length === 0 ? [] : [title, ...blocked.map((s) => `  ${s.op} ${s.urn}`)]);
    const refused = [
        ...lines("admin gate: this change touches IAM, which GitLab CI's deploy role may not change (docs/decisions/deploy-identity.md):", admin),
        ...lines(`admin gate: this change restarts or replaces the deploy runner (${DEPLOY_RUNNER_NAME}) this job runs on, which would stop \`pulumi up\` halfway with the state locked (docs/decisions/runner.md):`, runner),
    ];
    if (refused.length === 0) {
        return [];
    }
    return [
        ...refused,
        `An administrator applies this change from a workstation (the whole update: what these depend on may be new too):\n  pulumi up --stack ${stack}\nand CI's next deploy finds nothing of it left to do.`,
    ];
}

function main(): void {
    const file = process.argv[2];
    if (!file) {
        throw new Error("usage: adminGate.ts <pulumi preview --json output>");
    }
    const preview = JSON.parse(fs.readFileSync(file, "utf8")) as { steps?: Step[] };
    const refusal = verdict(preview.steps ?? [], process.env.STACK || "<stack>");
    if (refusal.length === 0) {
        console.log("admin gate: no IAM change and no change to the deploy runner, CI may deploy");
        return;
    }
    console.error(refusal.join("\n"));
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
