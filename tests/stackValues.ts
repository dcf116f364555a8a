import { readStackConfig } from "../sim/harness";

/**
 * The values of a stack file that checks compare the program's output with,
 * read from the file (the repository's, or PLATFORM_STACK_DIR's rewritten
 * copy: tests/otherValues.test.ts), never written out in a test: they are
 * examples a user replaces.
 */
export function stackValues(stack: string): { zone: string; appHost: string; gitlabHost: string } {
    const c = readStackConfig(stack) as Record<string, { zoneName?: string; hostName?: string }>;
    const need = (key: string, field: "zoneName" | "hostName") => {
        const v = c[key]?.[field];
        if (typeof v !== "string") {
            throw new Error(`stackValues: Pulumi.${stack}.yaml has no ${key}.${field}`);
        }
        return v;
    };
    return { zone: need("platform:dns", "zoneName"), appHost: need("platform:app", "hostName"), gitlabHost: need("platform:gitlab", "hostName") };
}
