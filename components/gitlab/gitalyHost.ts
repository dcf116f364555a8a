import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { simpleAlarm } from "../../aws/alarms";
import { backupPlan, DailyTime } from "../../aws/backupPlan";
import { ecsOptimizedAmi, encryptedRoot, IMDSV2_ONE_HOP } from "../../aws/ec2";
import { GitalyInstanceType } from "./facts";
import { EC2_MESSAGES_ACTIONS, policyDocument, serviceRole, ServiceRole, SSM_CHANNEL_ACTIONS } from "../../aws/iam";
import { physicalName } from "../../facts/naming";
import { StackContext } from "../../aws/context";
import { allowAllEgress } from "../../aws/securityGroups";
import { GitalyOnEbs } from "./types";
import { attachWithKeyStatement, gitalyVolumeKey, GitalyVolumeKey } from "./gitalyKey";

/** Where the host mounts the repository volume; the Gitaly task's host volume. */
export const GITALY_HOST_PATH = "/var/lib/gitaly";

/** The container-instance attribute that marks the host holding the volume (its value: the volume id). */
export const GITALY_VOLUME_ATTRIBUTE = "platform.gitaly-volume";

/** The name the volume is attached as; on Nitro it appears as an NVMe device udev links to it. */
const DEVICE_NAME = "xvdf";

/** The placement expression that puts the Gitaly task on the host that mounted `volumeId`. */
export function gitalyPlacement(volumeId: string): string {
    return `attribute:${GITALY_VOLUME_ATTRIBUTE} == ${volumeId}`;
}

const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/** The instance's user data: gitalyHost.sh with its variables set (a pure function; tests run the result). */
export function gitalyUserData(v: { volumeId: string; region: string; clusterName: string }): string {
    const body = fs.readFileSync(path.join(__dirname, "gitalyHost.sh"), "utf8").replace(/^#!\/bin\/bash\n/, "");
    const vars = {
        VOLUME_ID: v.volumeId,
        REGION: v.region,
        CLUSTER: v.clusterName,
        ATTRIBUTE: GITALY_VOLUME_ATTRIBUTE,
        MOUNT_POINT: GITALY_HOST_PATH,
        DEVICE_NAME,
    };
    return `#!/bin/bash\n${Object.entries(vars)
        .map(([k, x]) => `${k}=${shellQuote(x)}`)
        .join("\n")}\n${body}`;
}

export interface GitalyHostArgs {
    /**
     * Account and region (the instance role's ARNs, the user data), naming; `protect`:
     * protect the volume and keep it if Pulumi ever replaces or deletes it (prod).
     */
    readonly context: StackContext;
    readonly vpcId: pulumi.Input<string>;
    /** The private subnet of the AZ that holds the volume; the instance launches only there. */
    readonly subnetId: pulumi.Input<string>;
    /** That subnet's AZ (the volume's, which cannot change without a new volume). */
    readonly availabilityZone: pulumi.Input<string>;
    /** The ECS cluster the host joins (its name is known before the cluster exists). */
    readonly clusterName: string;
    readonly instanceType: GitalyInstanceType;
    readonly cpuArchitecture: "X86_64" | "ARM64";
    readonly volume: {
        readonly sizeGb: number;
        readonly iops: number;
        readonly throughputMibps: number;
        /** Create the volume from this snapshot (a restore). */
        readonly snapshotId?: string;
        /** The stack's own key, or the account's default EBS key (a volume made before the stack key: gitalyKey.ts). */
        readonly encryptionKey: GitalyVolumeKey;
    };
    readonly backup: { readonly schedule: DailyTime; readonly retentionDays: number };
    readonly alarmTopicArn: pulumi.Input<string>;
}

/**
 * The EC2 capacity Gitaly runs on: one encrypted gp3 volume that outlives
 * every instance, and an Auto Scaling group of exactly one instance in the
 * volume's AZ that attaches it at boot (gitalyHost.sh), offered to ECS as a
 * capacity provider. No SSH: no key pair and no ingress; Session Manager
 * only. IMDSv2 with one hop, and tasks are kept off the instance's metadata.
 *
 * Built before the cluster, because the cluster's capacity-provider list must
 * name this provider (ECS keeps one list per cluster).
 */
export class GitalyHost extends pulumi.ComponentResource {
    readonly capacityProviderName: pulumi.Output<string>;
    readonly volumeId: pulumi.Output<string>;
    readonly volumeArn: pulumi.Output<string>;
    readonly autoScalingGroupName: pulumi.Output<string>;
    /** The AWS Backup vault holding the volume's recovery points. */
    readonly backupVaultName: pulumi.Output<string>;
    readonly subnetId: pulumi.Output<string>;
    /** What the split topology's Gitaly needs of this host (SplitArgs gitaly.storage). */
    readonly storage: GitalyOnEbs;

    constructor(name: string, args: GitalyHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:gitlab:GitalyHost", name, {}, opts);
        const { context } = args;
        const parent = { parent: this };
        const physical = physicalName(context.naming, name);

        const key = args.volume.encryptionKey === "stack" ? gitalyVolumeKey(name, physical, context, parent) : undefined;
        const volume = repositoryVolume(name, physical, { ...args, kmsKeyId: key?.arn }, parent);
        const asgName = physical;
        // The key the volume is encrypted with, as EC2 reports it: the stack's, or the account's
        // default EBS key the volume was created on (fixed at creation, so this stays right if
        // the account's default changes later; the account's current default would not). Read
        // from the volume's state: its inputs, and so the volume, stay as they are.
        const keyArns = [volume.kmsKeyId];
        const { role, profile } = instanceRole(name, { ...args, volumeArn: volume.arn, asgName, keyArns }, parent);
        const template = launchTemplate(name, physical, { ...args, profileArn: profile.arn, volumeId: volume.id }, parent);
        const group = hostGroup(name, { asgName, subnetId: args.subnetId, template }, parent);

        // A host whose user data failed reports itself unhealthy, so the group replaces it. A
        // policy of its own: the group's ARN exists only after the first instance launched.
        new aws.iam.RolePolicy(
            `${name}-instance-health`,
            { role: role.role.id, policy: policyDocument([{ sid: "ReportUnhealthy", actions: ["autoscaling:SetInstanceHealth"], resources: [group.arn] }]) },
            parent,
        );

        // Fixed at one instance: no managed scaling, and nothing to protect from it.
        const capacityProvider = new aws.ecs.CapacityProvider(
            name,
            {
                name: physicalName(context.naming, "gitaly", 255),
                autoScalingGroupProvider: {
                    autoScalingGroupArn: group.arn,
                    managedScaling: { status: "DISABLED" },
                    managedTerminationProtection: "DISABLED",
                    // ECS drains the task before the group terminates the instance.
                    managedDraining: "ENABLED",
                },
            },
            parent,
        );

        const backup = backupPlan(
            `${name}-data`,
            { kind: "ebs", resourceArns: [volume.arn], keyArns, ...args.backup, protect: context.protect, region: context.region, naming: context.naming, alarmTopicArn: args.alarmTopicArn },
            parent,
        );
        hostAlarms(name, { ...args, groupName: group.name, volumeId: volume.id }, parent);

        this.capacityProviderName = capacityProvider.name;
        this.volumeId = volume.id;
        this.volumeArn = volume.arn;
        this.autoScalingGroupName = group.name;
        this.backupVaultName = backup.vault.name;
        this.subnetId = pulumi.output(args.subnetId);
        this.storage = { kind: "ebs", capacityProviderName: this.capacityProviderName, volumeId: this.volumeId, subnetId: this.subnetId };
        this.registerOutputs({
            capacityProviderName: this.capacityProviderName,
            volumeId: this.volumeId,
            volumeArn: this.volumeArn,
            autoScalingGroupName: this.autoScalingGroupName,
            subnetId: this.subnetId,
        });
    }
}

/**
 * The repositories. Changing its AZ, key or snapshot would create a new,
 * different volume: protected in prod, and kept (with a final snapshot) if it
 * is ever deleted or replaced. No `kmsKeyId` means the account's default key.
 */
function repositoryVolume(
    name: string,
    physical: string,
    args: Pick<GitalyHostArgs, "context" | "availabilityZone" | "volume"> & { readonly kmsKeyId?: pulumi.Output<string> },
    opts: pulumi.CustomResourceOptions,
): aws.ebs.Volume {
    const { protect } = args.context;
    return new aws.ebs.Volume(
        `${name}-data`,
        {
            availabilityZone: args.availabilityZone,
            type: "gp3",
            size: args.volume.sizeGb,
            iops: args.volume.iops,
            throughput: args.volume.throughputMibps,
            encrypted: true,
            ...(args.kmsKeyId ? { kmsKeyId: args.kmsKeyId } : {}),
            snapshotId: args.volume.snapshotId,
            finalSnapshot: protect,
            tags: { Name: `${physical}-data` },
        },
        { ...opts, protect, retainOnDelete: protect },
    );
}

/**
 * The instance's role and profile: the ECS agent in this cluster, Session
 * Manager, and attaching the repository volume (`volumeArn`, encrypted with a
 * key of `keyArns`) to an instance of the group `asgName` only.
 */
function instanceRole(
    name: string,
    args: Pick<GitalyHostArgs, "context" | "clusterName"> & { readonly volumeArn: pulumi.Output<string>; readonly asgName: string; readonly keyArns: pulumi.Input<string>[] },
    opts: pulumi.CustomResourceOptions,
): { readonly role: ServiceRole; readonly profile: aws.iam.InstanceProfile } {
    const { region, accountId, naming } = args.context;
    const clusterArn = pulumi.interpolate`arn:aws:ecs:${region}:${accountId}:cluster/${args.clusterName}`;
    const role = serviceRole(
        `${name}-instance`,
        {
            service: "ec2.amazonaws.com",
            naming,
            statements: [
                // The ECS agent (AmazonEC2ContainerServiceforEC2Role's actions, in this cluster only).
                {
                    sid: "EcsAgent",
                    actions: [
                        "ecs:RegisterContainerInstance",
                        "ecs:DeregisterContainerInstance",
                        "ecs:Poll",
                        "ecs:StartTelemetrySession",
                        "ecs:SubmitAttachmentStateChanges",
                        "ecs:SubmitContainerStateChange",
                        "ecs:SubmitTaskStateChange",
                        "ecs:UpdateContainerInstancesState",
                        "ecs:ListTagsForResource",
                    ],
                    resources: [clusterArn, pulumi.interpolate`arn:aws:ecs:${region}:${accountId}:container-instance/${args.clusterName}/*`],
                },
                { sid: "EcsEndpoint", actions: ["ecs:DiscoverPollEndpoint"], resources: ["*"] },
                // Session Manager, the only way in.
                { sid: "SsmInstance", actions: ["ssm:UpdateInstanceInformation"], resources: [pulumi.interpolate`arn:aws:ec2:${region}:${accountId}:instance/*`] },
                {
                    sid: "SsmChannels",
                    actions: [...SSM_CHANNEL_ACTIONS, ...EC2_MESSAGES_ACTIONS],
                    resources: ["*"],
                },
                // The user data attaches this volume, to an instance of this group only.
                { sid: "DescribeVolume", actions: ["ec2:DescribeVolumes"], resources: ["*"] },
                { sid: "AttachThisVolume", actions: ["ec2:AttachVolume"], resources: [args.volumeArn] },
                {
                    sid: "AttachToThisGroup",
                    actions: ["ec2:AttachVolume"],
                    resources: [pulumi.interpolate`arn:aws:ec2:${region}:${accountId}:instance/*`],
                    conditions: { StringEquals: { "aws:ResourceTag/aws:autoscaling:groupName": args.asgName } },
                },
                // The volume is encrypted: attaching it has EC2 make a grant on its key.
                attachWithKeyStatement(args.keyArns, region),
            ],
        },
        opts,
    );
    const profile = new aws.iam.InstanceProfile(`${name}-instance`, { name: physicalName(naming, `${name}-instance`, 128), path: naming.iamPath, role: role.role.name }, opts);
    return { role, profile };
}

/** The instance to launch, its security group included: ECS-optimized AMI, IMDSv2, user data that attaches volume `volumeId`. */
function launchTemplate(
    name: string,
    physical: string,
    args: Pick<GitalyHostArgs, "context" | "vpcId" | "clusterName" | "instanceType" | "cpuArchitecture"> & {
        readonly profileArn: pulumi.Output<string>;
        readonly volumeId: pulumi.Output<string>;
    },
    opts: pulumi.CustomResourceOptions,
): aws.ec2.LaunchTemplate {
    const { region } = args.context;
    // No ingress at all: the Gitaly task has its own network interface and group.
    const sg = new aws.ec2.SecurityGroup(`${name}-instance`, { vpcId: args.vpcId, description: `${physical}: the Gitaly host (no ingress)` }, opts);
    const egress = allowAllEgress(`${name}-instance-out`, sg.id, opts);

    return new aws.ec2.LaunchTemplate(
        name,
        {
            name: physical,
            description: "Gitaly host: ECS-optimized AL2023, IMDSv2, attaches the repository volume at boot",
            // EC2 resolves the newest ECS-optimized AMI at each launch: no diff per AMI
            // release; a replaced instance is patched (docs/operations/gitaly-host-patching.md).
            imageId: ecsOptimizedAmi(args.cpuArchitecture),
            instanceType: args.instanceType,
            iamInstanceProfile: { arn: args.profileArn },
            vpcSecurityGroupIds: [sg.id],
            // One hop: containers cannot reach the instance's credentials (and ECS blocks awsvpc tasks too).
            metadataOptions: IMDSV2_ONE_HOP,
            blockDeviceMappings: encryptedRoot(40),
            monitoring: { enabled: true },
            userData: args.volumeId.apply((volumeId) => Buffer.from(gitalyUserData({ volumeId, region, clusterName: args.clusterName })).toString("base64")),
            tagSpecifications: [
                { resourceType: "instance", tags: { Name: `${physical}` } },
                { resourceType: "volume", tags: { Name: `${physical}-root` } },
            ],
            updateDefaultVersion: true,
        },
        { ...opts, dependsOn: [egress] },
    );
}

/** The group of exactly one instance, in the volume's subnet, that ECS manages as a capacity provider. */
function hostGroup(
    name: string,
    args: { readonly asgName: string; readonly subnetId: pulumi.Input<string>; readonly template: aws.ec2.LaunchTemplate },
    opts: pulumi.CustomResourceOptions,
): aws.autoscaling.Group {
    const { template } = args;
    // Terminate first, then launch: the volume attaches to one instance at a time.
    const terminateFirst = { minHealthyPercentage: 0, maxHealthyPercentage: 100 };
    return new aws.autoscaling.Group(
        name,
        {
            name: args.asgName,
            minSize: 1,
            maxSize: 1,
            desiredCapacity: 1,
            vpcZoneIdentifiers: [args.subnetId],
            launchTemplate: { id: template.id, version: pulumi.interpolate`${template.latestVersion}` },
            healthCheckType: "EC2",
            healthCheckGracePeriod: 300,
            instanceMaintenancePolicy: terminateFirst,
            // A new launch template version (a restored volume, another instance type)
            // replaces the instance; the AMI alone never does (resolve:ssm).
            instanceRefresh: { strategy: "Rolling", preferences: { ...terminateFirst, instanceWarmup: "300" } },
            enabledMetrics: ["GroupInServiceInstances", "GroupDesiredCapacity"],
            metricsGranularity: "1Minute",
            tags: [
                { key: "Name", value: args.asgName, propagateAtLaunch: true },
                // ECS adds it for a capacity provider's group; declared so Pulumi does not remove it.
                { key: "AmazonECSManaged", value: "true", propagateAtLaunch: true },
            ],
        },
        opts,
    );
}

/** No instance in service, and the volume's queue or its provisioned IOPS and throughput exceeded. */
function hostAlarms(
    name: string,
    args: Pick<GitalyHostArgs, "alarmTopicArn" | "volume"> & { readonly groupName: pulumi.Output<string>; readonly volumeId: pulumi.Output<string> },
    opts: pulumi.CustomResourceOptions,
): void {
    const alarm = (suffix: string, x: Omit<Parameters<typeof simpleAlarm>[1], "topicArn">) => simpleAlarm(`${name}-${suffix}`, { topicArn: args.alarmTopicArn, ...x }, opts);
    alarm("in-service", {
        description: `${name}: no Gitaly instance in service (repositories unreachable)`,
        namespace: "AWS/AutoScaling",
        metricName: "GroupInServiceInstances",
        statistic: "Minimum",
        dimensions: { AutoScalingGroupName: args.groupName },
        comparison: "LessThanThreshold",
        threshold: 1,
        periods: 2,
        treatMissingData: "breaching",
    });
    const ebs = { namespace: "AWS/EBS", dimensions: { VolumeId: args.volumeId } };
    alarm("queue-length", {
        ...ebs,
        description: `${name}: EBS queue length above 16 for 15 minutes (Gitaly waits on the disk)`,
        metricName: "VolumeQueueLength",
        statistic: "Average",
        comparison: "GreaterThanThreshold",
        threshold: 16,
    });
    alarm("iops-exceeded", {
        ...ebs,
        description: `${name}: asking for more than the ${args.volume.iops} provisioned IOPS most of the last 15 minutes`,
        metricName: "VolumeIOPSExceededCheck",
        statistic: "Average",
        comparison: "GreaterThanThreshold",
        threshold: 0.5,
    });
    alarm("throughput-exceeded", {
        ...ebs,
        description: `${name}: asking for more than the ${args.volume.throughputMibps} MiB/s provisioned most of the last 15 minutes`,
        metricName: "VolumeThroughputExceededCheck",
        statistic: "Average",
        comparison: "GreaterThanThreshold",
        threshold: 0.5,
    });
}
