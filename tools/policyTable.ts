/**
 * The policy table of docs/decisions/policy.md (control → policy → where
 * enforced → status per stack), from the controls, the waivers and the mocked
 * graph of each stack. Where enforced goes by what a stack is (protected or
 * not), as .ci/policy-args.sh decides it, never by its name.
 *
 *   npx ts-node --transpile-only tools/policyTable.ts   # prints it; the design note embeds it
 */
import { CONTROLS } from "../policy/controls";
import { ofType, StackView } from "../policy/model";
import { evaluate } from "../policy/waivers";
import { stackRun, STACKS } from "../sim/harness";
import { viewOf } from "../sim/policyView";
import { parseCli, TS_NODE } from "./cli";

export async function policyTable(): Promise<string> {
    // One after the other: a mocked run owns the Pulumi runtime while it lasts.
    const views: Record<string, StackView> = {};
    for (const s of STACKS) {
        views[s] = viewOf(await stackRun(s));
    }
    const status = (id: string, stack: string): string => {
        const control = CONTROLS.find((c) => c.id === id)!;
        if (control.protectedOnly && !views[stack].protected) {
            return "not checked (protected stacks only)";
        }
        const verdict = evaluate(views[stack], [control]);
        if (verdict.violations.length > 0) {
            return `**${verdict.violations.length} violation(s)**`;
        }
        if (verdict.waived.length > 0) {
            return `pass, ${verdict.waived.length} waived`;
        }
        return ofType(views[stack], ...control.types).length > 0 ? "pass" : "nothing to check";
    };
    const rows = CONTROLS.map((c) => `| ${c.id} | \`${c.policy}\` | ${c.protectedOnly ? "protected: mandatory" : "protected: mandatory; others: advisory"} | ${STACKS.map((s) => status(c.id, s)).join(" | ")} |`);
    return [`| control | policy | enforced | ${STACKS.join(" | ")} |`, `| --- | --- | --- | ${STACKS.map(() => "---").join(" | ")} |`, ...rows].join("\n");
}

if (require.main === module) {
    parseCli({ name: "policyTable", usage: `usage: ${TS_NODE} tools/policyTable.ts\n  prints the policy table of docs/decisions/policy.md (control, policy, enforcement, status per stack)` });
    policyTable().then((t) => console.log(t));
}
