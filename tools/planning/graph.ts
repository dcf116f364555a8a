import { CostResource } from "./cost";

/** The resources a property of `r` comes from (optionally only those of `type`), looked up by URN. */
export type Sources = (r: CostResource, property: string, type?: string) => CostResource[];

/** The graph's resources by URN, and who each property of a resource comes from. */
export function graphOf(resources: readonly CostResource[]): { byUrn: ReadonlyMap<string, CostResource>; sources: Sources } {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const sources: Sources = (r, property, type) =>
        (r.propertyDependencies[property] ?? []).map((u) => byUrn.get(u)).filter((x): x is CostResource => x !== undefined && (!type || x.type === type));
    return { byUrn, sources };
}
