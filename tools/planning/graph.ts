/** What the graph lookups read of a resource (the offline harness's Resource fits). */
export interface GraphResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly parentUrn?: string;
    readonly inputs: Record<string, any>;
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

/** The resources a property of `r` comes from (optionally only those of `type`), looked up by URN. */
export type Sources = (r: GraphResource, property: string, type?: string) => GraphResource[];

/** The graph's resources by URN, and who each property of a resource comes from. */
export function graphOf(resources: readonly GraphResource[]): { byUrn: ReadonlyMap<string, GraphResource>; sources: Sources } {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const sources: Sources = (r, property, type) =>
        (r.propertyDependencies[property] ?? []).map((u) => byUrn.get(u)).filter((x): x is GraphResource => x !== undefined && (!type || x.type === type));
    return { byUrn, sources };
}
