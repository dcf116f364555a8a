import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { CONTROLS } from "./controls";
import { stackOfUrn, StackView } from "./model";
import { evaluate } from "./waivers";

/** CrossGuard's view of a stack, as the controls read it. */
export function viewOfPolicyResources(resources: readonly PolicyResource[]): StackView {
    return {
        stack: stackOfUrn(resources[0]?.urn ?? ""),
        resources: resources.map((r) => ({
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: r.props,
            propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, deps]) => [k, deps.map((d) => d.urn)])),
        })),
    };
}

/** One stack policy per control, each running the same pure check the tests run, with the same waivers. */
export const POLICIES: StackValidationPolicy[] = CONTROLS.map((control) => ({
    name: control.policy,
    description: `${control.id}: ${control.title}${control.prodOnly ? " (prod)" : ""}`,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of evaluate(viewOfPolicyResources(args.resources), [control]).violations) {
            reportViolation(`${control.id} ${v.name}: ${v.message}`, v.urn);
        }
    },
}));
