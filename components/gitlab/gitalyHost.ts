import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { simpleAlarm } from "../../aws/alarms";
import { backupPlan, DailyTime } from "../../aws/backupPlan";
import { ecsOptimizedAmi, encryptedRoot, IMDSV2_ONE_HOP } from "../../aws/ec2";
import { GitalyInstanceType } from "./facts";
import { EC2_MESSAGES_ACTIONS, policyDocument, serviceRole, SSM_CHANNEL_ACTIONS } from "../../aws/iam";
import { physicalName } from "../../facts/naming";
import { StackContext } from "../../aws/context";
import { allowAllEgress } from "../../aws/securityGroups";

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
    readonly subnetId: pulumi.Output<string>;

    constructor(name: string, args: GitalyHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:gitlab:GitalyHost", name, {}, opts);
        const a = { ...args, ...args.context };
        const parent = { parent: this };
        const physical = physicalName(a.naming, name);

        // The repositories. Changing its AZ, encryption or snapshot would create a new,
        // different volume: protected in prod, and kept (with a final snapshot) if it
        // is ever deleted or replaced.
        const volume = new aws.ebs.Volume(
            `${name}-data`,
            {
                availabilityZone: a.availabilityZone,
                type: "gp3",
                size: a.volume.sizeGb,
                iops: a.volume.iops,
                throughput: a.volume.throughputMibps,
                encrypted: true,
                snapshotId: a.volume.snapshotId,
                finalSnapshot: a.protect,
                tags: { Name: `${physical}-data` },
            },
            { ...parent, protect: a.protect, retainOnDelete: a.protect },
        );

        const asgName = physical;
        const clusterArn = pulumi.interpolate`arn:aws:ecs:${a.region}:${a.accountId}:cluster/${a.clusterName}`;
        const role = serviceRole(
            `${name}-instance`,
            {
                service: "ec2.amazonaws.com",
                naming: a.naming,
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
                        resources: [clusterArn, pulumi.interpolate`arn:aws:ecs:${a.region}:${a.accountId}:container-instance/${a.clusterName}/*`],
                    },
                    { sid: "EcsEndpoint", actions: ["ecs:DiscoverPollEndpoint"], resources: ["*"] },
                    // Session Manager, the only way in.
                    { sid: "SsmInstance", actions: ["ssm:UpdateInstanceInformation"], resources: [pulumi.interpolate`arn:aws:ec2:${a.region}:${a.accountId}:instance/*`] },
                    {
                        sid: "SsmChannels",
                        actions: [...SSM_CHANNEL_ACTIONS, ...EC2_MESSAGES_ACTIONS],
                        resources: ["*"],
                    },
                    // The user data attaches this volume, to an instance of this group only.
                    { sid: "DescribeVolume", actions: ["ec2:DescribeVolumes"], resources: ["*"] },
                    { sid: "AttachThisVolume", actions: ["ec2:AttachVolume"], resources: [volume.arn] },
                    {
                        sid: "AttachToThisGroup",
                        actions: ["ec2:AttachVolume"],
                        resources: [pulumi.interpolate`arn:aws:ec2:${a.region}:${a.accountId}:instance/*`],
                        conditions: { StringEquals: { "aws:ResourceTag/aws:autoscaling:groupName": asgName } },
                    },
                ],
            },
            parent,
        );
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { name: physicalName(a.naming, `${name}-instance`, 128), path: a.naming.iamPath, role: role.role.name }, parent);

        // No ingress at all: the Gitaly task has its own network interface and group.
        const sg = new aws.ec2.SecurityGroup(`${name}-instance`, { vpcId: a.vpcId, description: `${physical}: the Gitaly host (no ingress)` }, parent);
        const egress = allowAllEgress(`${name}-instance-out`, sg.id, parent);

        const template = new aws.ec2.LaunchTemplate(
            name,
            {
                name: physical,
                description: "Gitaly host: ECS-optimized AL2023, IMDSv2, attaches the repository volume at boot",
                // EC2 resolves the newest ECS-optimized AMI at each launch: no diff per AMI
                // release; a replaced instance is patched (README: "Patching the Gitaly host").
                imageId: ecsOptimizedAmi(a.cpuArchitecture),
                instanceType: a.instanceType,
                iamInstanceProfile: { arn: profile.arn },
                vpcSecurityGroupIds: [sg.id],
                // One hop: containers cannot reach the instance's credentials (and ECS blocks awsvpc tasks too).
                metadataOptions: IMDSV2_ONE_HOP,
                blockDeviceMappings: encryptedRoot(40),
                monitoring: { enabled: true },
                userData: volume.id.apply((volumeId) => Buffer.from(gitalyUserData({ volumeId, region: a.region, clusterName: a.clusterName })).toString("base64")),
                tagSpecifications: [
                    { resourceType: "instance", tags: { Name: `${physical}` } },
                    { resourceType: "volume", tags: { Name: `${physical}-root` } },
                ],
                updateDefaultVersion: true,
            },
            { ...parent, dependsOn: [egress] },
        );

        // Terminate first, then launch: the volume attaches to one instance at a time.
        const terminateFirst = { minHealthyPercentage: 0, maxHealthyPercentage: 100 };
        const group = new aws.autoscaling.Group(
            name,
            {
                name: asgName,
                minSize: 1,
                maxSize: 1,
                desiredCapacity: 1,
                vpcZoneIdentifiers: [a.subnetId],
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
                    { key: "Name", value: physical, propagateAtLaunch: true },
                    // ECS adds it for a capacity provider's group; declared so Pulumi does not remove it.
                    { key: "AmazonECSManaged", value: "true", propagateAtLaunch: true },
                ],
            },
            parent,
        );

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
                name: physicalName(a.naming, "gitaly", 255),
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

        backupPlan(
            `${name}-data`,
            { kind: "ebs", resourceArns: [volume.arn], schedule: a.backup.schedule, retentionDays: a.backup.retentionDays, protect: a.protect, region: a.region, naming: a.naming },
            parent,
        );

        const alarm = (suffix: string, x: Omit<Parameters<typeof simpleAlarm>[1], "topicArn">) => simpleAlarm(`${name}-${suffix}`, { topicArn: a.alarmTopicArn, ...x }, parent);
        alarm("in-service", {
            description: `${name}: no Gitaly instance in service (repositories unreachable)`,
            namespace: "AWS/AutoScaling",
            metricName: "GroupInServiceInstances",
            statistic: "Minimum",
            dimensions: { AutoScalingGroupName: group.name },
            comparison: "LessThanThreshold",
            threshold: 1,
            periods: 2,
            treatMissingData: "breaching",
        });
        const ebs = { namespace: "AWS/EBS", dimensions: { VolumeId: volume.id } };
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
            description: `${name}: asking for more than the ${a.volume.iops} provisioned IOPS most of the last 15 minutes`,
            metricName: "VolumeIOPSExceededCheck",
            statistic: "Average",
            comparison: "GreaterThanThreshold",
            threshold: 0.5,
        });
        alarm("throughput-exceeded", {
            ...ebs,
            description: `${name}: asking for more than the ${a.volume.throughputMibps} MiB/s provisioned most of the last 15 minutes`,
            metricName: "VolumeThroughputExceededCheck",
            statistic: "Average",
            comparison: "GreaterThanThreshold",
            threshold: 0.5,
        });

        this.capacityProviderName = capacityProvider.name;
        this.volumeId = volume.id;
        this.volumeArn = volume.arn;
        this.autoScalingGroupName = group.name;
        this.subnetId = pulumi.output(a.subnetId);
        this.registerOutputs({
            capacityProviderName: this.capacityProviderName,
            volumeId: this.volumeId,
            volumeArn: this.volumeArn,
            autoScalingGroupName: this.autoScalingGroupName,
            subnetId: this.subnetId,
        });
    }
}
