import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ecsServiceAlarms, serviceNotRunningAlarm } from "../../aws/alarms";
import { fargateServiceBase, serviceBase } from "../../aws/ecsService";
import { PolicyStatement } from "../../aws/iam";
import { efsMount, efsMountStatement, efsRepositories } from "./efs";
import { gitalyPlacement, GITALY_HOST_PATH } from "./gitalyHost";
import { REPOSITORY_ROOT } from "./omnibusConfig";
import { GITLAB_PORTS } from "./gitlabRb";
import { GITALY_ROLLOUT_MINUTES } from "./migrations";
import { GitalyOnEbs, SplitNetwork, SplitTiers } from "./types";

/** What Gitaly's two kinds share and what the split topology needs back from it. */
interface GitalyParts {
    readonly log: aws.cloudwatch.LogGroup;
    readonly bucket: PolicyStatement[];
    readonly container: Record<string, unknown>;
    /** The service's arguments both kinds set the same way. */
    readonly common: Pick<aws.ecs.ServiceArgs, "name" | "cluster" | "desiredCount" | "deploymentMinimumHealthyPercent" | "deploymentMaximumPercent" | "serviceRegistries">;
    readonly opts: pulumi.CustomResourceOptions;
}

interface Gitaly {
    readonly service: aws.ecs.Service;
    readonly taskDefinition: aws.ecs.TaskDefinition;
    /** EFS, for Gitaly on EFS. */
    readonly fileSystemId?: pulumi.Output<string>;
    /** On EFS: the AWS Backup vault of the file system. */
    readonly backupVaultName?: pulumi.Output<string>;
}

/** Gitaly: exactly one, never autoscaled, stopped before its replacement starts. */
export function splitGitaly(t: SplitTiers, net: SplitNetwork, gitalyDns: aws.servicediscovery.Service): Gitaly {
    const { kit, args: a, split: s, tier } = t;
    const { name, parent, physical } = kit;
    const log = t.logs("gitaly");
    const backupBucket = kit.buckets.backups;
    // Server-side repository backups: Gitaly writes and reads bundles in the backup bucket.
    const bucket: PolicyStatement[] = [
        { sid: "RepositoryBackups", actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], resources: [pulumi.interpolate`${backupBucket.arn}/*`] },
        { sid: "RepositoryBackupsList", actions: ["s3:ListBucket", "s3:GetBucketLocation"], resources: [backupBucket.arn] },
    ];
    // The health check: the image's gitlab-healthcheck passes trivially where no web server runs.
    const container = t.container("gitaly", s.gitaly, log, {
        command: ["worker"],
        portMappings: [{ containerPort: GITLAB_PORTS.gitaly, protocol: "tcp" }],
        mountPoints: [{ sourceVolume: "repositories", containerPath: REPOSITORY_ROOT, readOnly: false }],
        healthCheck: { command: ["CMD-SHELL", "/opt/gitlab/bin/gitlab-ctl status gitaly | grep -q '^run: gitaly:'"], interval: 30, timeout: 10, retries: 3, startPeriod: 300 },
    });
    // Both kinds of Gitaly: one task, stopped before its replacement starts, at its Cloud Map name.
    const common = {
        name: `${physical}-gitaly`,
        cluster: a.cluster.arn,
        desiredCount: 1,
        deploymentMinimumHealthyPercent: 0,
        deploymentMaximumPercent: 100,
        serviceRegistries: { registryArn: gitalyDns.arn },
    };
    const opts = { ...parent, dependsOn: net.gitalyRules, customTimeouts: { create: `${GITALY_ROLLOUT_MINUTES}m`, update: `${GITALY_ROLLOUT_MINUTES}m` } };
    const parts: GitalyParts = { log, bucket, container, common, opts };
    const storage = s.gitaly.storage;
    const gitaly = storage.kind === "ebs" ? gitalyOnEbs(t, net, parts, storage) : gitalyOnEfs(t, net, parts);

    ecsServiceAlarms(tier("gitaly"), { topicArn: a.alarms.topicArn, clusterName: a.cluster.name, serviceName: `${physical}-gitaly`, cpuPercent: a.alarms.cpuPercent, memoryPercent: a.alarms.memoryPercent }, parent);
    // No Gitaly task for ten minutes: a host that never joined the cluster, a task that cannot
    // be placed or keeps failing. Container Insights (always on) counts the running tasks.
    serviceNotRunningAlarm(
        `${tier("gitaly")}-not-running`,
        { topicArn: a.alarms.topicArn, description: `${name}: no Gitaly task running (repositories unreachable)`, clusterName: a.cluster.name, serviceName: `${physical}-gitaly` },
        { ...parent, dependsOn: [gitaly.service] },
    );
    return gitaly;
}

/** Gitaly on the EC2 host's EBS volume (gitalyHost.ts), placed on the one instance that mounted it. */
function gitalyOnEbs(t: SplitTiers, net: SplitNetwork, p: GitalyParts, storage: GitalyOnEbs): Gitaly {
    const { kit, args: a, split: s, tier } = t;
    const { parent, physical } = kit;
    const roles = t.rolesFor("gitaly", p.log, p.bucket);
    const taskDefinition = new aws.ecs.TaskDefinition(
        tier("gitaly"),
        {
            family: `${physical}-gitaly`,
            cpu: String(s.gitaly.cpu),
            memory: String(s.gitaly.memory),
            networkMode: "awsvpc",
            requiresCompatibilities: ["EC2"],
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture },
            executionRoleArn: roles.executionRole.arn,
            taskRoleArn: roles.taskRole.arn,
            volumes: [{ name: "repositories", hostPath: GITALY_HOST_PATH }],
            // Only the instance that attached and mounted this volume carries the attribute.
            placementConstraints: [{ type: "memberOf", expression: pulumi.output(storage.volumeId).apply(gitalyPlacement) }],
            containerDefinitions: pulumi.jsonStringify([p.container]),
        },
        parent,
    );
    const service = new aws.ecs.Service(
        tier("gitaly"),
        {
            ...p.common,
            taskDefinition: taskDefinition.arn,
            // On the host's capacity provider, in its subnet. Rolling Gitaly back is safe: it keeps
            // no schema, and older Gitaly serves newer clients within a release.
            ...serviceBase({
                capacityProvider: storage.capacityProviderName,
                // The host's capacity provider has one fixed name (gitalyHost.ts), so the strategy
                // never changes in place and no forced deployment is needed: the only Gitaly
                // restarts when its task definition changes (image, config, size, the volume it
                // is placed with), not on every change to the service (docs/operations/gitlab-upgrades.md).
                fixedCapacity: true,
                subnetIds: [storage.subnetId],
                securityGroupId: net.gitalySg.id,
                deploymentAlarmNames: [],
                rollback: true,
                execCommand: a.execCommand,
            }),
        },
        p.opts,
    );
    return { service, taskDefinition };
}

/** seed 000's layout, offered but not supported by GitLab (docs/decisions/gitlab-split.md): Gitaly on EFS. */
function gitalyOnEfs(t: SplitTiers, net: SplitNetwork, p: GitalyParts): Gitaly {
    const { kit, args: a, split: s, tier } = t;
    const { name, parent, physical } = kit;
    const efs = efsRepositories(kit, a, `${name}-repositories`, net.gitalySg.id);
    const roles = t.rolesFor("gitaly", p.log, [...p.bucket, efsMountStatement(efs)]);
    const mount = efsMount(kit, efs, roles.taskRole.arn);
    const taskDefinition = new aws.ecs.TaskDefinition(
        tier("gitaly"),
        {
            ...kit.fargateTask(s.gitaly),
            family: `${physical}-gitaly`,
            executionRoleArn: roles.executionRole.arn,
            taskRoleArn: roles.taskRole.arn,
            volumes: [mount.volume],
            containerDefinitions: pulumi.jsonStringify([p.container]),
        },
        { ...parent, dependsOn: mount.dependsOn },
    );
    const service = new aws.ecs.Service(
        tier("gitaly"),
        {
            ...p.common,
            taskDefinition: taskDefinition.arn,
            ...fargateServiceBase({ spot: a.spot, subnetIds: a.network.subnetIds.private, securityGroupId: net.gitalySg.id, deploymentAlarmNames: [], rollback: true, execCommand: a.execCommand }),
        },
        p.opts,
    );
    return { service, taskDefinition, fileSystemId: efs.fileSystem.id, backupVaultName: efs.backupVaultName };
}
