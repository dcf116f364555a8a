import { StackView } from "../policy/model";
import { StackRun } from "./harness";

/** The mocked graph as the policy controls see it: declared inputs and per-property sources. */
export function viewOf(run: StackRun): StackView {
    return {
        stack: run.stack,
        protected: run.resources.some((r) => r.protect),
        resources: run.resources.filter((r) => r.urn).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, propertyDependencies: r.propertyDependencies })),
    };
}
