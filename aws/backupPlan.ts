import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { simpleAlarm } from "./alarms";
import { PolicyStatement, serviceRole } from "./iam";
import { Naming, physicalName } from "../facts/naming";

/** EBS snapshots of a region (their ARN has no account). */
const snapshots = (region: string) => `arn:aws:ec2:${region}::snapshot/*`;

/**
 * What AWS Backup may do to one kind of protected resource: the named
 * actions AWSBackupServiceRolePolicyForBackup grants for it, scoped to the
 * resources where the action allows it.
 */
const BACKUP_STATEMENTS = {
    efs: (arns: pulumi.Input<string>[]): PolicyStatement[] => [{ sid: "BackUp", actions: ["elasticfilesystem:Backup", "elasticfilesystem:DescribeTags"], resources: arns }],
    ebs: (arns: pulumi.Input<string>[], region: string, keyArns: pulumi.Input<string>[]): PolicyStatement[] => [
        // CreateSnapshot is authorised on the volume and on the snapshot it creates.
        { sid: "BackUp", actions: ["ec2:CreateSnapshot"], resources: [...arns, snapshots(region)] },
        { sid: "TagSnapshots", actions: ["ec2:CreateTags"], resources: [snapshots(region)] },
        // Expiry deletes only what AWS Backup made (it tags every recovery point with its source).
        { sid: "ExpireSnapshots", actions: ["ec2:DeleteSnapshot"], resources: [snapshots(region)], conditions: { Null: { "aws:ResourceTag/aws:backup:source-resource": "false" } } },
        // Describe calls have no resource-level form.
        { sid: "Describe", actions: ["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeTags"], resources: ["*"] },
        // The volumes' keys, through EC2 only: what the managed policy grants for encrypted EBS snapshots.
        ...(keyArns.length > 0
            ? [
                  { sid: "VolumeKey", actions: ["kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"], resources: keyArns, conditions: { StringEquals: { "kms:ViaService": `ec2.${region}.amazonaws.com` } } },
                  { sid: "VolumeKeyGrant", actions: ["kms:CreateGrant"], resources: keyArns, conditions: { Bool: { "kms:GrantIsForAWSResource": "true" } } },
              ]
            : []),
    ],
} as const;

export type BackedUpKind = keyof typeof BACKUP_STATEMENTS;

export interface BackupPlanArgs {
    /** The resources to back up, all of one kind. */
    readonly kind: BackedUpKind;
    readonly resourceArns: pulumi.Input<string>[];
    /** ebs: the keys the volumes are encrypted with (EC2 uses them for the snapshots in the role's name). */
    readonly keyArns?: pulumi.Input<string>[];
    /** Daily, at this local time. */
    readonly schedule: DailyTime;
    /** Days a recovery point is kept. */
    readonly retentionDays: number;
    /** Refuse to destroy a vault that still holds recovery points (prod). */
    readonly protect: boolean;
    /** The resources' region (EBS snapshot ARNs name it). */
    readonly region: string;
    readonly naming: Naming;
    /** Where a failed or aborted job of the plan is reported. */
    readonly alarmTopicArn: pulumi.Input<string>;
}

/**
 * AWS Backup's job counts (namespace AWS/Backup, per vault) that mean a day
 * without a recovery point: a job that failed, or one that never started
 * within its start window (aborted).
 */
export const BACKUP_JOB_FAILURE_METRICS = { failed: "NumberOfBackupJobsFailed", aborted: "NumberOfBackupJobsAborted" } as const;

/** One alarm per failure metric of the jobs that write into `vaultName`; a day without jobs is no verdict. */
function backupJobAlarms(name: string, vaultName: pulumi.Input<string>, topicArn: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): void {
    for (const [suffix, metricName] of Object.entries(BACKUP_JOB_FAILURE_METRICS)) {
        simpleAlarm(
            `${name}-backup-${suffix}`,
            {
                topicArn,
                description: `${name}: an AWS Backup job ${suffix} (no recovery point from it; see AWS Backup > Jobs)`,
                namespace: "AWS/Backup",
                metricName,
                statistic: "Sum",
                dimensions: { BackupVaultName: vaultName },
                comparison: "GreaterThanThreshold",
                threshold: 0,
                periods: 1,
                treatMissingData: "notBreaching",
            },
            opts,
        );
    }
}

/** A time of day in an IANA time zone. */
export interface DailyTime {
    readonly hour: number;
    readonly minute: number;
    readonly timezone: string;
}

/** "HH:MM" plus a time zone, `shiftMinutes` later (wrapping past midnight). */
export function dailyTime(hhmm: string, timezone: string, shiftMinutes = 0): DailyTime {
    const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) {
        throw new Error(`${JSON.stringify(hhmm)} is not a time of day (HH:MM)`);
    }
    const total = (Number(m[1]) * 60 + Number(m[2]) + shiftMinutes) % 1440;
    return { hour: Math.floor(total / 60), minute: total % 60, timezone };
}

/**
 * The cron expression of a daily job, in the six-field form AWS Backup and
 * EventBridge Scheduler share (minute hour day-of-month month day-of-week year).
 */
export function dailyCron(t: DailyTime): string {
    return `cron(${t.minute} ${t.hour} * * ? *)`;
}

/**
 * A daily AWS Backup plan for some resources, into a vault of its own, run
 * by a role of its own that may back up exactly these resources (no managed
 * policy). Recovery points are encrypted with the vault's key (the AWS
 * managed `aws/backup` key, whose key policy admits AWS Backup in this
 * account, so the role needs no KMS grant) and expire after `retentionDays`.
 */
export function backupPlan(name: string, args: BackupPlanArgs, opts: pulumi.CustomResourceOptions): { readonly vault: aws.backup.Vault; readonly plan: aws.backup.Plan } {
    const vault = new aws.backup.Vault(
        `${name}-vault`,
        // A vault with recovery points cannot be deleted anyway; forceDestroy only where nothing is protected.
        { name: physicalName(args.naming, name, 50), forceDestroy: !args.protect },
        // Its recovery points outlive the stack's use of it.
        { ...opts, protect: args.protect, retainOnDelete: args.protect },
    );
    const plan = new aws.backup.Plan(
        name,
        {
            name: physicalName(args.naming, name, 50),
            rules: [
                {
                    ruleName: "daily",
                    targetVaultName: vault.name,
                    schedule: dailyCron(args.schedule),
                    scheduleExpressionTimezone: args.schedule.timezone,
                    // Start within an hour, finish within eight: a late job is still a backup.
                    startWindow: 60,
                    completionWindow: 480,
                    lifecycle: { deleteAfter: args.retentionDays },
                },
            ],
        },
        opts,
    );
    const statements: PolicyStatement[] = [
        ...BACKUP_STATEMENTS[args.kind](args.resourceArns, args.region, args.keyArns ?? []),
        { sid: "IntoVault", actions: ["backup:DescribeBackupVault", "backup:CopyIntoBackupVault"], resources: [vault.arn] },
        // AWS Backup lists the selection's resources by tag API before a job; it has no resource-level form.
        { sid: "ListResources", actions: ["tag:GetResources"], resources: ["*"] },
    ];
    // No source-account condition: AWS documents the AWS Backup role's trust policy without one,
    // and a condition the service does not send would make every job fail to assume the role.
    const role = serviceRole(`${name}-backup`, { service: "backup.amazonaws.com", naming: args.naming, statements }, opts);
    new aws.backup.Selection(`${name}-selection`, { name: physicalName(args.naming, name, 50), planId: plan.id, iamRoleArn: role.arn, resources: args.resourceArns }, opts);
    backupJobAlarms(name, vault.name, args.alarmTopicArn, opts);
    return { vault, plan };
}
