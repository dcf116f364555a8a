import { z } from "zod";
import { isNetworkAddress, parseCidr } from "../facts/cidr";
import { describeMemoryOptions, FARGATE_CPU_SIZES, fargateMemoryOptions, isFargateSize } from "../facts/fargate";

/** Building blocks of the config schema that several sections share (config/sections/). */

/** What a zod error builder reads of an issue: the value that failed, as given. */
interface Failed {
    readonly input?: unknown;
}

/**
 * An error builder whose message starts with the offending value as JSON, so
 * the key path and the value read as one line: `"PerSubnet" is not a NAT mode`.
 */
export function quoted(message: (input: string) => string): (iss: Failed) => string {
    return (iss) => message(JSON.stringify(iss.input));
}

/** `"x" is not <what>`: the common case of quoted(). */
export function invalid(what: string): (iss: Failed) => string {
    return quoted((input) => `${input} is not ${what}`);
}

const HOSTNAME_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** RFC 1123 host name with at least two labels, lower case, no trailing dot. */
export function isDomainName(s: string): boolean {
    if (s.length > 253) {
        return false;
    }
    const labels = s.split(".");
    return labels.length >= 2 && labels.every((l) => HOSTNAME_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}

export const domainName = z.string().refine(isDomainName, {
    error: invalid("a valid domain name (lower-case labels of a-z, 0-9 and '-', at least two)"),
});

export const nonNegativeInt = z.number().int().min(0);

export const serviceSizing = {
    /** Fargate CPU units. */
    cpu: z.number().refine((v) => FARGATE_CPU_SIZES.includes(v), {
        error: invalid(`a Fargate CPU size (${FARGATE_CPU_SIZES.join(", ")})`),
    }),
    /** Fargate memory MiB; must pair with cpu on the Fargate table. */
    memory: z.number().int().positive(),
    /** Tasks at rest. */
    desiredCount: nonNegativeInt,
    /** Autoscaling floor. */
    minCount: nonNegativeInt,
    /** Autoscaling ceiling. */
    maxCount: nonNegativeInt,
};

/** memory must pair with cpu on the Fargate table (an unknown cpu is reported by its own check). */
export function checkFargateSize(s: { cpu: number; memory: number }, ctx: z.RefinementCtx): void {
    if (fargateMemoryOptions(s.cpu).length > 0 && !isFargateSize(s.cpu, s.memory)) {
        ctx.addIssue({
            code: "custom",
            path: ["memory"],
            message: `${s.memory} MiB does not pair with cpu ${s.cpu} on Fargate (allowed: ${describeMemoryOptions(s.cpu)})`,
        });
    }
}

export function checkSizing(s: { cpu: number; memory: number; minCount: number; desiredCount: number; maxCount: number }, ctx: z.RefinementCtx): void {
    checkFargateSize(s, ctx);
    if (!(s.minCount <= s.desiredCount && s.desiredCount <= s.maxCount)) {
        ctx.addIssue({
            code: "custom",
            path: ["desiredCount"],
            message: `need minCount ≤ desiredCount ≤ maxCount, got ${s.minCount} ≤ ${s.desiredCount} ≤ ${s.maxCount}`,
        });
    }
}

/** A CIDR written as its network address, e.g. 203.0.113.0/24 or 0.0.0.0/0. */
export const cidrBlock = z.string().refine((v) => {
    const c = parseCidr(v);
    return c !== undefined && isNetworkAddress(c);
}, { error: invalid("an IPv4 CIDR network address (a.b.c.d/prefix)") });

/** IANA time zones EventBridge Scheduler accepts, as this Node.js knows them. */
export function isTimeZone(tz: string): boolean {
    return tz === "UTC" || Intl.supportedValuesOf("timeZone").includes(tz);
}
