import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * The bootstrap's own few settings (`platform-bootstrap:<key>` in
 * bootstrap/Pulumi.<stack>.yaml), every one with a default: it never reads the
 * platform program's config, which needs the bucket this creates.
 */

const name = (what: string, pattern: RegExp) => z.string().regex(pattern, { error: (iss) => `${JSON.stringify(iss.input)} is not ${what}` });

export const bootstrapSchema = z.strictObject({
    /** Where the bucket and keys live, and what the printed commands name. */
    region: name("an AWS region (e.g. us-east-1)", /^[a-z]{2}(-[a-z]+)+-\d$/).default("us-east-1"),
    /** The Pulumi project whose stacks use the backend (the root Pulumi.yaml's `name`): the keys' aliases start with it. */
    project: name("a Pulumi project name", /^[a-z0-9][a-z0-9-]*$/).default("platform"),
    /** One secrets key per stack: a stack's CI role decrypts with its own key only. */
    stacks: z
        .array(name("a stack name", /^[a-z0-9][a-z0-9-]*$/))
        .min(1)
        .refine((s) => new Set(s).size === s.length, { error: "lists a stack twice" })
        .default(["dev", "prod"]),
    /**
     * The bucket is `<bucketPrefix>-<project>-pulumi-state`. S3 names are
     * global, so the default prefix is the account id: unique, and the same on
     * every run in that account.
     */
    bucketPrefix: name("a bucket name prefix (lower-case letters, digits and '-')", /^[a-z0-9][a-z0-9-]{0,30}$/).optional(),
});

export type BootstrapConfig = z.output<typeof bootstrapSchema>;

/** The engine's values as the schema reads them: a list arrives as JSON text. */
function decode(value: string): unknown {
    if (value.startsWith("[")) {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    }
    return value;
}

/**
 * Parses `raw` (this project's keys, without the `<project>:` namespace) or
 * throws one line naming the stack file and the key, before any resource.
 */
export function parseBootstrapConfig(raw: Record<string, string>, stack: string, namespace: string): BootstrapConfig {
    const result = bootstrapSchema.safeParse(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, decode(v)])));
    if (result.success) {
        return result.data;
    }
    const issue = result.error.issues[0];
    const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.filter((p) => typeof p === "string").join(".");
    // A RunError: the CLI prints its message alone, no stack trace.
    throw new pulumi.RunError(`bootstrap/Pulumi.${stack}.yaml: ${namespace}:${key}: ${issue.code === "unrecognized_keys" ? "not a key of the bootstrap" : issue.message}`);
}

/** This stack's config, validated. */
export function loadBootstrapConfig(): BootstrapConfig {
    const namespace = pulumi.getProject();
    const own = Object.entries(pulumi.runtime.allConfig())
        .filter(([k]) => k.startsWith(`${namespace}:`))
        .map(([k, v]) => [k.slice(namespace.length + 1), v] as const);
    return parseBootstrapConfig(Object.fromEntries(own), pulumi.getStack(), namespace);
}
