import { z } from "zod";
import { GITLAB_MIN_CONNECTIONS, gitlabMaxConnections } from "../../components/gitlab/facts";
import { invalid, quoted } from "../shapes";

const RDS_INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;

/** The keys of an RDS PostgreSQL instance; the app's and GitLab's differ only in defaults and limits. */
export function databaseSchema(defaults: { engineVersions: readonly [string, ...string[]]; instanceClass: string; minimumForGitLab?: boolean; masterPasswordRotationDays?: number }) {
    const rotationDays = z.number().int().min(0).max(365);
    const gitlab = defaults.minimumForGitLab === true;
    return z
        .strictObject({
            engineVersion: z.enum(defaults.engineVersions, {
                error: invalid(`a supported PostgreSQL major version (${defaults.engineVersions.join(", ")})`),
            }).default(defaults.engineVersions[defaults.engineVersions.length - 1]).describe("PostgreSQL major version (RDS)."),
            instanceClass: z
                .string()
                .regex(RDS_INSTANCE_CLASS, { error: invalid("an RDS instance class (db.t4g.micro, ...)") })
                .refine((c) => !defaults.minimumForGitLab || !RDS_INSTANCE_CLASS.test(c) || gitlabMaxConnections(c) !== undefined, {
                    error: quoted((input) => `${input} cannot hold GitLab's ${GITLAB_MIN_CONNECTIONS} connections (by RDS's memory rule, or a class whose memory is not known here): use db.t4g.medium or a larger m, r or t class`),
                })
                .default(defaults.instanceClass)
                .describe(
                    gitlab
                        ? `RDS instance class (db.<family>.<size>): an m, r or t class that holds GitLab's ${GITLAB_MIN_CONNECTIONS} connections (db.t4g.medium or larger), and the connections of GitLab's tasks through a deployment (docs/decisions/gitlab.md).`
                        : "RDS instance class (db.<family>.<size>); burstable t4g is fine for dev, m/r classes for steady prod load. Its default max_connections must hold app.maxCount's connections.",
                ),
            allocatedStorageGb: z.number().int().min(20).max(65536).default(20).describe("Initial storage in GiB (gp3)."),
            maxAllocatedStorageGb: z.number().int().min(20).max(65536).default(100).describe("Storage autoscaling ceiling in GiB; at least allocatedStorageGb."),
            multiAz: z.boolean().default(false).describe("A standby in a second AZ."),
            backupRetentionDays: z.number().int().min(1).max(35).default(7).describe("Days of automated backups; 0 is refused (it disables backups)."),
            performanceInsights: z.boolean().default(false).describe("Performance Insights (7 days' retention free)."),
            monitoringIntervalSeconds: z
                .literal([0, 1, 5, 10, 15, 30, 60], {
                    error: invalid("an RDS monitoring interval (0, 1, 5, 10, 15, 30, 60)"),
                })
                .default(60)
                .describe("Enhanced Monitoring (OS metrics) every N seconds; 0 turns it off (Security Hub RDS.6 wants it on)."),
            // Rotation only where every long-running client logs in with IAM (the app); GitLab logs in with the master password.
            masterPasswordRotationDays: (defaults.masterPasswordRotationDays === undefined ? rotationDays.optional() : rotationDays.default(defaults.masterPasswordRotationDays)).describe(
                gitlab
                    ? "Leave unset (or 0): GitLab logs in with the master password, so it cannot be rotated under it."
                    : "Days between RDS's rotations of the master password, which it then keeps in a secret of its own; 0: a generated password in a secret of ours, never rotated (the first step for a stack deployed before rotation).",
            ).meta(gitlab ? { displayType: "`0` only" } : {}),
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

/** The `platform:database` section. */
export const appDatabaseSchema = databaseSchema({ engineVersions: ["16", "17"], instanceClass: "db.t4g.micro", masterPasswordRotationDays: 7 }).describe(
    "The app's PostgreSQL on RDS (GitLab has its own, gitlab.database).",
);

export type DatabaseConfig = z.output<typeof appDatabaseSchema>;
