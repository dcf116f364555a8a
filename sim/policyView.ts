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

/** The same run as if its stack had another name (a new stack copied from it): every URN renamed. */
export function renamedRun(run: StackRun, stack: string): StackRun {
    const rename = (urn: string) => urn.replace(`urn:pulumi:${run.stack}::`, `urn:pulumi:${stack}::`);
    const resources = run.resources.map((r) => ({
        ...r,
        urn: rename(r.urn),
        parentUrn: r.parentUrn === undefined ? undefined : rename(r.parentUrn),
        dependencies: r.dependencies.map(rename),
        propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, urns]) => [k, urns.map(rename)])),
    }));
    return { ...run, stack, resources };
}
