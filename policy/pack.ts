import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Control, CONTROLS } from "./controls";
import { stackOfUrn, StackView, Subject } from "./model";
import { evaluate } from "./waivers";

/**
 * A plain copy of CrossGuard's props: it hands them over behind a proxy that
 * throws on a value not known yet (a preview), which would end the whole
 * policy at the first such value in the stack. Unknown values become
 * `undefined` here, and the relational checks treat undefined as "cannot
 * judge yet", one resource at a time.
 */
export function knownProps(value: unknown, depth = 0): any {
    if (value === null || typeof value !== "object" || depth > 32) {
        return value;
    }
    if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) {
            try {
                out.push(knownProps(value[i], depth + 1));
            } catch {
                out.push(undefined);
            }
        }
        return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
        try {
            out[key] = knownProps((value as Record<string, unknown>)[key], depth + 1);
        } catch {
            out[key] = undefined;
        }
    }
    return out;
}

/** CrossGuard's view of a stack, as the controls read it. */
export function viewOfPolicyResources(resources: readonly PolicyResource[]): StackView {
    return {
        stack: stackOfUrn(resources[0]?.urn ?? ""),
        protected: resources.some((r) => r.opts?.protect === true),
        resources: resources.map((r) => ({
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: knownProps(r.props),
            propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, deps]) => [k, deps.map((d) => d.urn)])),
        })),
    };
}

const describe = (c: Control) => `${c.id}: ${c.title}${c.protectedOnly ? " (protected stacks)" : ""}`;

/**
 * A control that reads one resource is a resource policy: CrossGuard runs it on
 * that resource's inputs before the resource is created or changed (during
 * `up` too, so a mandatory violation stops the change), and a value not known
 * in a preview skips only that resource. The others are stack policies, and so
 * are the protected-stack controls: whether the stack is protected shows on its
 * stateful resources, not on the one resource a resource policy sees.
 */
function policyOf(control: Control): ResourceValidationPolicy | StackValidationPolicy {
    if (control.relational || control.protectedOnly) {
        return {
            name: control.policy,
            description: describe(control),
            enforcementLevel: "mandatory",
            validateStack: (args, reportViolation) => {
                for (const v of evaluate(viewOfPolicyResources(args.resources), [control]).violations) {
                    reportViolation(`${control.id} ${v.name}: ${v.message}`, v.urn);
                }
            },
        };
    }
    return {
        name: control.policy,
        description: describe(control),
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            if (!control.types.includes(args.type)) {
                return;
            }
            // Reading args.props throws for a value not known in a preview: CrossGuard then
            // reports this one resource as not checked (advisory), and checks it again in `up`.
            const subject: Subject = { type: args.type, name: args.name, urn: args.urn, props: args.props, propertyDependencies: {} };
            // One resource: its own protect option (a database's is the stack's, which the waivers keyed by it read).
            const view = { stack: stackOfUrn(args.urn), protected: args.opts?.protect === true, resources: [subject] };
            for (const v of evaluate(view, [control]).violations) {
                reportViolation(`${control.id} ${v.name}: ${v.message}`);
            }
        },
    };
}

/** One policy per control, each running the same pure check the tests run, with the same waivers. */
export const POLICIES: (ResourceValidationPolicy | StackValidationPolicy)[] = CONTROLS.map(policyOf);
