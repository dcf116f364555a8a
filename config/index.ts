import { RunError } from "@pulumi/pulumi";
import { z } from "zod";
import { alarmsRules, alarmsSchema } from "./sections/alarms";
import { appRules, appSchema } from "./sections/app";
import { ciSchema } from "./sections/ci";
import { clusterSchema } from "./sections/cluster";
import { appDatabaseSchema } from "./sections/database";
import { dnsRules, dnsSchema } from "./sections/dns";
import { gitlabRules, gitlabSchema } from "./sections/gitlab";
import { emailRules } from "./sections/gitlabEmail";
import { imagesRules, imagesSchema } from "./sections/images";
import { loadBalancerSchema } from "./sections/loadBalancer";
import { logsSchema } from "./sections/logs";
import { networkSchema } from "./sections/network";
import { runnerSchema } from "./sections/runner";
import { statefulSchema } from "./sections/stateful";
import { didYouMean, namespaceProblems, regionProblem } from "./stackKeys";
import { RESTORE_HOLD_SECONDS } from "../components/gitlab/facts";

export { isDomainName } from "./shapes";
export { LOG_RETENTION_DAYS } from "./sections/logs";
export type { CiConfig } from "./sections/ci";

/**
 * The one place where stack configuration is read, validated and defaulted.
 * Components never call `pulumi.Config`; index.ts calls `loadConfig()` once and
 * hands typed slices of the result to each component.
 */

export const PROJECT = "platform";

/**
 * Every `platform:<key>` section. The schema documents every key (its describe() text and
 * its default); README.md's configuration reference is generated from its JSON Schema
 * (tools/configReference.ts).
 */
export const sectionsSchema = z
    .strictObject({
        network: networkSchema.prefault({}),
        logs: logsSchema.prefault({}),
        images: imagesSchema.prefault({}),
        cluster: clusterSchema.prefault({}),
        dns: dnsSchema,
        app: appSchema,
        loadBalancer: loadBalancerSchema.prefault({}),
        database: appDatabaseSchema.prefault({}),
        gitlab: gitlabSchema,
        runner: runnerSchema.prefault({}),
        ci: ciSchema.prefault({}),
        alarms: alarmsSchema.prefault({}),
        stateful: statefulSchema.prefault({}),
    })
    .superRefine((c, ctx) => {
        // Zod runs these even when a section failed (and skipped its defaults):
        // every rule looks only at values that parsed. In this order, as the report lists them.
        appRules(c, ctx);
        alarmsRules(c, ctx);
        dnsRules(c, ctx);
        emailRules(c, ctx);
        gitlabRules(c, ctx);
    });

export type Sections = z.infer<typeof sectionsSchema>;

export interface PlatformConfig extends Sections {
    readonly stack: string;
    readonly region: string;
}


/**
 * Raised for any invalid configuration; its message names the stack file and
 * the key path, one problem per line. A RunError because Pulumi's language
 * host prints those as their bare message (no stack trace, no object dump).
 * No field may be called `stack`: that would overwrite Error.stack, and the
 * host formats errors from their stack.
 */
export class ConfigError extends RunError {
    readonly stackName: string;
    readonly problems: readonly string[];

    constructor(stackName: string, problems: readonly string[]) {
        super(problems.map((p) => `${stackFile(stackName)}: ${p}`).join("\n"));
        this.name = "ConfigError";
        this.stackName = stackName;
        this.problems = problems;
    }
}

export function stackFile(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

/** A section's keys that have no default, as a stack file must write them. */
function requiredKeys(section: string): string[] {
    let schema: z.core.$ZodType = sectionsSchema.shape[section as keyof typeof sectionsSchema.shape];
    // A section that transforms its value (gitlab) is a pipe from the object the stack file writes.
    while (schema instanceof z.ZodPipe) {
        schema = schema.in;
    }
    const shape: Record<string, z.core.$ZodType> = schema instanceof z.ZodObject ? schema.shape : {};
    return Object.keys(shape).filter((k) => !z.safeParse(shape[k], undefined).success);
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
        if (path === "") {
            // A whole section misspelt: the key as written in the stack file, and the section it likely meant.
            const sections = Object.keys(sectionsSchema.shape);
            return issue.keys.map((k) => `${PROJECT}:${k}: unknown key${didYouMean(k, sections, (c) => `${PROJECT}:${c}`)}`);
        }
        return issue.keys.map((k) => `${path}.${k}: unknown key`);
    }
    if (issue.code === "invalid_type" && "input" in issue && issue.input === undefined) {
        if (issue.path.length === 1) {
            const keys = requiredKeys(path);
            return [`${PROJECT}:${path}: required (a section with no default${keys.length > 0 ? `: every stack sets ${keys.join(", ")}` : ""})`];
        }
        return [`${path}: required (no default)`];
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && "input" in issue) {
        message = `expected ${issue.expected}, got ${JSON.stringify(issue.input)}`;
    }
    return [`${path || "(root)"}: ${message}`];
}

/**
 * Validates the raw config of one stack. `raw` maps full keys
 * (`platform:network`, `aws:region`, ...) to already-parsed values.
 * Pure: no Pulumi runtime needed, so it is unit-tested directly.
 */
export function parseConfig(raw: Readonly<Record<string, unknown>>, stack: string): PlatformConfig {
    const region = raw["aws:region"];
    const problems = [...namespaceProblems(Object.keys(raw)), ...regionProblem(region)];
    // Stack names are part of every physical name and IAM pattern (`platform-prod-*`): with a
    // '-' in them, one stack's patterns would cover another's (prod and prod-eu).
    if (!/^[a-z0-9]{1,20}$/.test(stack)) {
        problems.push(`stack name ${JSON.stringify(stack)}: use 1-20 lower-case letters and digits (no '-': names and IAM scopes start with <project>-<stack>-)`);
    }
    const sections: Record<string, unknown> = {};
    const prefix = `${PROJECT}:`;
    for (const [key, value] of Object.entries(raw)) {
        if (key.startsWith(prefix)) {
            sections[key.slice(prefix.length)] = value;
        }
    }
    const parsed = sectionsSchema.safeParse(sections, { reportInput: true });
    if (!parsed.success) {
        problems.push(...parsed.error.issues.flatMap(formatIssue));
    } else {
        problems.push(...imagesRules(parsed.data.images, stack));
    }
    if (problems.length > 0 || !parsed.success) {
        throw new ConfigError(stack, problems);
    }
    return { ...parsed.data, stack, region: region as string };
}

/**
 * What is allowed but probably a mistake, as one line each naming the stack
 * file and key. The program logs them as Pulumi warnings; the plan prints them.
 */
export function configWarnings(c: PlatformConfig): string[] {
    const warnings: string[] = [];
    if (c.alarms.email === undefined) {
        warnings.push("alarms.email is unset: alarms notify an SNS topic with no subscriber");
    }
    if (c.gitlab.topology === "single" && c.gitlab.holdForRestore) {
        // Left on after a restore, a broken GitLab task would never fail its deployment nor be replaced.
        warnings.push(`gitlab.holdForRestore is on: the GitLab task has no container check and ECS ignores its failed load balancer checks for ${RESTORE_HOLD_SECONDS / 3600} h after it starts; set it back to false once the restore is done (docs/operations/restore.md)`);
    }
    return warnings.map((w) => `${stackFile(c.stack)}: ${w}`);
}

/**
 * Turns the engine's string-valued config into values: structured YAML values
 * arrive as JSON text. Plain strings that are not JSON stay strings.
 */
export function decodeConfigValues(all: Readonly<Record<string, string>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(all)) {
        try {
            out[key] = JSON.parse(text);
        } catch {
            out[key] = text;
        }
    }
    return out;
}
