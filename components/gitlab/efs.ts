import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { fileSystemAlarm } from "../../aws/alarms";
import { backupPlan } from "../../aws/backupPlan";
import { EFS_CLIENT_ACTIONS, fileSystemPolicy, RepositoryFileSystem, repositoryFileSystem } from "./storage";
import { GitLabArgs, GitLabKit } from "./types";

/** Repositories on EFS, backed up daily by AWS Backup (the single topology; split with gitaly.storage efs). */
export function efsRepositories(
    kit: GitLabKit,
    a: GitLabArgs,
    name: string,
    clientSecurityGroupId: pulumi.Input<string>,
): RepositoryFileSystem & { readonly backupVaultName: pulumi.Output<string> } {
    const efs = repositoryFileSystem(
        name,
        {
            vpcId: a.network.vpcId,
            subnetIds: a.network.subnetIds.private,
            subnetCount: a.network.availabilityZoneCount,
            clientSecurityGroupId,
            throughputMode: a.efsThroughputMode,
            protect: a.context.protect,
        },
        kit.parent,
    );
    // Our own plan backs the file system up; EFS's automatic backups would be a second copy to pay for.
    new aws.efs.BackupPolicy(name, { fileSystemId: efs.fileSystem.id, backupPolicy: { status: "DISABLED" } }, kit.parent);
    const backup = backupPlan(
        name,
        { kind: "efs", resourceArns: [efs.fileSystem.arn], schedule: a.backup.fileSystemTime, retentionDays: a.backup.retentionDays, protect: a.context.protect, region: a.context.region, naming: a.context.naming, alarmTopicArn: a.alarms.topicArn },
        kit.parent,
    );
    fileSystemAlarm(name, { topicArn: a.alarms.topicArn, fileSystemId: efs.fileSystem.id, throughputMode: a.efsThroughputMode }, kit.parent);
    return { ...efs, backupVaultName: backup.vault.name };
}

/** The task-role statement that mounts the repositories through their access point. */
export function efsMountStatement(efs: RepositoryFileSystem) {
    return {
        sid: "Repositories",
        actions: [...EFS_CLIENT_ACTIONS],
        resources: [efs.fileSystem.arn],
        conditions: { StringEquals: { "elasticfilesystem:AccessPointArn": efs.accessPoint.arn } },
    };
}

/**
 * What a task definition needs to mount the repositories: the volume, and
 * what the task must wait for (the policy that lets its role mount, and the
 * mount targets).
 */
export function efsMount(kit: GitLabKit, efs: RepositoryFileSystem, taskRoleArn: pulumi.Input<string>) {
    const fsPolicy = new aws.efs.FileSystemPolicy(
        `${kit.name}-repositories`,
        { fileSystemId: efs.fileSystem.id, policy: fileSystemPolicy(efs.fileSystem.arn, efs.accessPoint.arn, taskRoleArn) },
        kit.parent,
    );
    return {
        volume: {
            name: "repositories",
            efsVolumeConfiguration: { fileSystemId: efs.fileSystem.id, transitEncryption: "ENABLED", authorizationConfig: { accessPointId: efs.accessPoint.id, iam: "ENABLED" } },
        },
        dependsOn: [fsPolicy, ...efs.mountTargets],
    };
}
