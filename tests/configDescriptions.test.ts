import { expect } from "chai";
import { z } from "zod";
import { sectionsSchema } from "../config";

/**
 * The schema is the documentation of every stack-file key: the configuration
 * reference is generated from its JSON Schema, so every key there, and every
 * section and nested object, carries a description.
 */

type JsonSchema = {
    readonly description?: string;
    readonly properties?: Record<string, JsonSchema>;
    readonly anyOf?: readonly JsonSchema[];
    readonly oneOf?: readonly JsonSchema[];
    readonly allOf?: readonly JsonSchema[];
    readonly items?: JsonSchema | readonly JsonSchema[];
    readonly $ref?: string;
    readonly $defs?: Record<string, JsonSchema>;
    readonly const?: unknown;
};

/** The JSON Schema the reference is generated from, as the lead's generator asks for it. */
function referenceSchema(schema: z.ZodType): JsonSchema {
    return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

function described(s: JsonSchema): boolean {
    return typeof s.description === "string" && s.description.trim().length > 0;
}

/** A union branch's name in a path: its discriminator's value (`email<smtp>`), else its index. */
function branchName(b: JsonSchema, i: number): string {
    const discriminator = Object.values(b.properties ?? {}).find((p) => typeof p.const === "string");
    return discriminator === undefined ? String(i) : String(discriminator.const);
}

/** Every property (at any depth, in every union branch and array item) as its path, with whether it has a description. */
function properties(root: JsonSchema): { path: string; described: boolean }[] {
    const found: { path: string; described: boolean }[] = [];
    const resolve = (s: JsonSchema): JsonSchema => {
        if (s.$ref === undefined) {
            return s;
        }
        const name = /^#\/\$defs\/(.+)$/.exec(s.$ref)?.[1];
        const target = name === undefined ? undefined : root.$defs?.[name];
        if (target === undefined) {
            throw new Error(`unresolved $ref ${s.$ref}`);
        }
        return { ...target, ...s, $ref: undefined };
    };
    const walk = (node: JsonSchema, path: string): void => {
        const s = resolve(node);
        for (const [key, value] of Object.entries(s.properties ?? {})) {
            const child = `${path === "" ? "" : `${path}.`}${key}`;
            found.push({ path: child, described: described(value) || described(resolve(value)) });
            walk(value, child);
        }
        for (const branches of [s.anyOf, s.oneOf, s.allOf]) {
            (branches ?? []).forEach((b, i) => {
                const branch = resolve(b);
                if (branch.properties !== undefined) {
                    // An object branch (an e-mail provider) is documented as a whole, like a nested object.
                    const at = `${path}<${branchName(branch, i)}>`;
                    found.push({ path: at, described: described(branch) });
                    walk(branch, at);
                }
            });
        }
        const items = s.items === undefined ? [] : Array.isArray(s.items) ? s.items : [s.items];
        items.forEach((item) => walk(item as JsonSchema, `${path}[]`));
    };
    walk(root, "");
    return found;
}

describe("config schema descriptions", function () {
    const all = properties(referenceSchema(sectionsSchema));

    it("walks every section, their nested objects and each e-mail provider's keys", function () {
        const paths = all.map((p) => p.path);
        expect(paths).to.include.members([
            "network",
            "network.subnetMasks.public",
            "app.deployment.strategy",
            "gitlab.web.minCount",
            "gitlab.gitaly.volume.iops",
            "gitlab.email",
            "gitlab.email<ses>.from",
            "gitlab.email<smtp>.passwordSecretArn",
            "gitlab.email<none>.provider",
            "runner.warmPool.days",
            "ci.stateBucket.name",
            "stateful.protect",
        ]);
        expect(all.length).to.be.greaterThan(150);
    });

    it("gives every key of the stack file a description", function () {
        expect(all.filter((p) => !p.described).map((p) => p.path)).to.deep.equal([]);
    });

    it("puts each description on the key itself, after its default", function () {
        const schema = referenceSchema(sectionsSchema) as { properties: Record<string, JsonSchema & { properties: Record<string, JsonSchema & { default?: unknown }> }> };
        const cidr = schema.properties.network.properties.cidr;
        expect(cidr.default).to.equal("10.0.0.0/16");
        expect(cidr.description).to.match(/RFC 1918/);
    });

    it("the walk reports a key, a nested object's key and a union branch's key without one", function () {
        const probe = z
            .strictObject({
                a: z.string().describe("A."),
                b: z.number().default(1),
                nested: z.strictObject({ c: z.boolean().optional() }).describe("Nested."),
                list: z.array(z.strictObject({ d: z.string() })).describe("List."),
                union: z
                    .discriminatedUnion("kind", [z.strictObject({ kind: z.literal("x").describe("Kind."), e: z.string() }).describe("x.")])
                    .describe("Union."),
            })
            .describe("Probe.");
        const missing = properties(referenceSchema(probe))
            .filter((p) => !p.described)
            .map((p) => p.path);
        expect(missing).to.deep.equal(["b", "nested.c", "list[].d", "union<x>.e"]);
    });
});
