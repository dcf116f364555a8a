import { z } from "zod";
import { isNetworkAddress, parseCidr } from "../facts/cidr";
import { describeMemoryOptions, FARGATE_CPU_SIZES, fargateMemoryOptions, isFargateSize } from "../facts/fargate";

/** Building blocks of the config schema that several sections share (config/index.ts, config/sections/gitlab.ts). */

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
    error: (iss) => `${JSON.stringify(iss.input)} is not a valid domain name (lower-case labels of a-z, 0-9 and '-', at least two)`,
});

export const nonNegativeInt = z.number().int().min(0);

/** RDS instance sizes too small for GitLab: it needs at least 400 connections (GitLab's PostgreSQL tuning guide). */
const TOO_SMALL_FOR_GITLAB = ["nano", "micro", "small"];

const RDS_INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;

/** The keys of an RDS PostgreSQL instance; the app's and GitLab's differ only in defaults and limits. */
export function databaseSchema(defaults: { engineVersions: readonly [string, ...string[]]; instanceClass: string; minimumForGitLab?: boolean; masterPasswordRotationDays?: number }) {
    const rotationDays = z.number().int().min(0).max(365);
    return z
        .strictObject({
            /** PostgreSQL major version (RDS). */
            engineVersion: z.enum(defaults.engineVersions, {
                error: (iss) => `${JSON.stringify(iss.input)} is not a supported PostgreSQL major version (${defaults.engineVersions.join(", ")})`,
            }).default(defaults.engineVersions[defaults.engineVersions.length - 1]),
            /** RDS instance class; burstable t4g is fine for dev, use m/r classes for steady prod load. */
            instanceClass: z
                .string()
                .regex(RDS_INSTANCE_CLASS, { error: (iss) => `${JSON.stringify(iss.input)} is not an RDS instance class (db.t4g.micro, ...)` })
                .refine((c) => !defaults.minimumForGitLab || !TOO_SMALL_FOR_GITLAB.includes(c.split(".")[2]), {
                    error: (iss) => `${JSON.stringify(iss.input)} is too small for GitLab (it needs at least 400 connections): use db.t4g.medium or larger`,
                })
                .default(defaults.instanceClass),
            /** Initial storage in GiB (gp3). */
            allocatedStorageGb: z.number().int().min(20).max(65536).default(20),
            /** Storage autoscaling ceiling in GiB; must be ≥ allocatedStorageGb. */
            maxAllocatedStorageGb: z.number().int().min(20).max(65536).default(100),
            /** Standby in a second AZ. */
            multiAz: z.boolean().default(false),
            /** Automated backup retention; 0 is refused (it disables backups). */
            backupRetentionDays: z.number().int().min(1).max(35).default(7),
            /** Performance Insights (7 days free retention). */
            performanceInsights: z.boolean().default(false),
            /** Enhanced Monitoring (OS metrics) every N seconds; 0 turns it off (Security Hub RDS.6 wants it on). */
            monitoringIntervalSeconds: z
                .literal([0, 1, 5, 10, 15, 30, 60], {
                    error: (iss) => `${JSON.stringify(iss.input)} is not an RDS monitoring interval (0, 1, 5, 10, 15, 30, 60)`,
                })
                .default(60),
            /**
             * Days between rotations of the master password, which RDS then keeps in a secret of its own;
             * 0: a generated password in a secret of ours, never rotated. Only where every long-running
             * client logs in with IAM (the app); GitLab logs in with it.
             */
            masterPasswordRotationDays: defaults.masterPasswordRotationDays === undefined ? rotationDays.optional() : rotationDays.default(defaults.masterPasswordRotationDays),
        })
        .superRefine((d, ctx) => {
            if (defaults.minimumForGitLab && (d.masterPasswordRotationDays ?? 0) > 0) {
                ctx.addIssue({ code: "custom", path: ["masterPasswordRotationDays"], message: "GitLab logs in with the master password, so it cannot be rotated under it: remove the key" });
            }
            if (d.maxAllocatedStorageGb < d.allocatedStorageGb) {
                ctx.addIssue({ code: "custom", path: ["maxAllocatedStorageGb"], message: `${d.maxAllocatedStorageGb} is below allocatedStorageGb ${d.allocatedStorageGb}` });
            }
        });
}

export const serviceSizing = {
    /** Fargate CPU units. */
    cpu: z.number().refine((v) => FARGATE_CPU_SIZES.includes(v), {
        error: (iss) => `${JSON.stringify(iss.input)} is not a Fargate CPU size (${FARGATE_CPU_SIZES.join(", ")})`,
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
}, { error: (iss) => `${JSON.stringify(iss.input)} is not an IPv4 CIDR network address (a.b.c.d/prefix)` });

/** IANA time zones EventBridge Scheduler accepts, as this Node.js knows them. */
export function isTimeZone(tz: string): boolean {
    return tz === "UTC" || Intl.supportedValuesOf("timeZone").includes(tz);
}
