/**
 * What the controls read: a stack's resources with their properties and, per
 * property, the resources its value comes from. Built from CrossGuard's
 * `PolicyResource`s (policy/index.ts) and from the mocked graph (the tests),
 * so both run the same checks.
 */

export interface Subject {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly props: Record<string, any>;
    /** Per property, the URNs of the resources its value comes from. */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface StackView {
    readonly stack: string;
    /**
     * Whether the stack holds on to its data (`stateful.protect`), as its
     * resources show it: the stateful ones carry Pulumi's `protect` option.
     * What a stack is, not its name, decides which controls and waivers apply:
     * a copy of dev under another name is still a dev-like stack.
     */
    readonly protected: boolean;
    readonly resources: readonly Subject[];
}

export interface Finding {
    readonly control: string;
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly message: string;
}

/** `urn:pulumi:<stack>::<project>::<type chain>::<name>` → the stack. */
export function stackOfUrn(urn: string): string {
    return urn.split(":")[2] ?? "";
}

export function ofType(view: StackView, ...types: string[]): Subject[] {
    return view.resources.filter((r) => types.includes(r.type));
}

/** The resources of `type` whose `property` comes from `target` (a bucket's logging, a repository's lifecycle policy). */
export function attached(view: StackView, target: Subject, type: string, property: string): Subject[] {
    return ofType(view, type).filter((r) => (r.propertyDependencies[property] ?? []).includes(target.urn));
}

/** A policy document, parsed; undefined while its text is not known (a preview of a new resource). */
export function document(text: unknown): { Statement: any[] } | undefined {
    if (typeof text !== "string") {
        return typeof text === "object" && text !== null && Array.isArray((text as any).Statement) ? (text as any) : undefined;
    }
    try {
        const doc = JSON.parse(text);
        return { Statement: [doc.Statement ?? []].flat() };
    } catch {
        return undefined;
    }
}

/** ECS container definitions, parsed; undefined while not known. */
export function containers(td: Subject): any[] | undefined {
    const raw = td.props.containerDefinitions;
    if (typeof raw !== "string") {
        return Array.isArray(raw) ? raw : undefined;
    }
    try {
        return JSON.parse(raw);
    } catch {
        return undefined;
    }
}
