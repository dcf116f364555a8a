import { z } from "zod";
import { GITLAB_MIN_CONNECTIONS, gitlabMaxConnections } from "../../components/gitlab/facts";
import { invalid, quoted } from "../shapes";

const RDS_INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;

/** The keys of an RDS PostgreSQL instance; the app's and GitLab's differ only in defaults and limits. */
export function databaseSchema(defaults: { engineVersions: readonly [string, ...string[]]; instanceClass: string; minimumForGitLab?: boolean; masterPasswordRotationDays?: number }) {
    const rotationDays = z.number().int().min(0).max(365);
    return z
        .strictObject({
            /** PostgreSQL major version (RDS). */
            engineVersion: z.enum(defaults.engineVersions, {
                error: invalid(`a supported PostgreSQL major version (${defaults.engineVersions.join(", ")})`),
            }).default(defaults.engineVersions[defaults.engineVersions.length - 1]),
            /** RDS instance class; burstable t4g is fine for dev, use m/r classes for steady prod load. */
            instanceClass: z
                .string()
                .regex(RDS_INSTANCE_CLASS, { error: invalid("an RDS instance class (db.t4g.micro, ...)") })
                .refine((c) => !defaults.minimumForGitLab || !RDS_INSTANCE_CLASS.test(c) || gitlabMaxConnections(c) !== undefined, {
                    error: quoted((input) => `${input} cannot hold GitLab's ${GITLAB_MIN_CONNECTIONS} connections (by RDS's memory rule, or a class whose memory is not known here): use db.t4g.medium or a larger m, r or t class`),
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
                    error: invalid("an RDS monitoring interval (0, 1, 5, 10, 15, 30, 60)"),
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

/** The `platform:database` section: the app's PostgreSQL (GitLab has its own, gitlab.database). */
export const appDatabaseSchema = databaseSchema({ engineVersions: ["16", "17"], instanceClass: "db.t4g.micro", masterPasswordRotationDays: 7 });

export type DatabaseConfig = z.output<typeof appDatabaseSchema>;
