import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceNotRunningAlarm } from "../../aws/alarms";
import { AccessLogTarget, secureBucket } from "../../aws/bucket";
import { ecsOptimizedAmi, encryptedRoot, IMDSV2_ONE_HOP, isGraviton } from "../../aws/ec2";
import { fargateServiceBase } from "../../aws/ecsService";
import { TaskRoles, taskRoles } from "../../aws/ecsTask";
import { awslogs, logGroup } from "../../aws/logs";
import { physicalName } from "../../facts/naming";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { StackContext } from "../../aws/context";
import { ClusterRef } from "../cluster";
import { ImageRef } from "../ecrImage";
import { renderRunnerConfig, RUNNER_TOKEN_ENV } from "./runnerConfig";

/** The manager's Fargate size: it schedules jobs and holds SSH tunnels; the work happens on the workers. */
export const MANAGER_SIZE = { cpu: 512, memory: 1024 } as const;

/** Days the CI cache keeps an object (a cache, not an archive). */
export const CACHE_EXPIRE_DAYS = 14;

/** The job image when a job names none. */
export const DEFAULT_JOB_IMAGE = "alpine:3.21";

/** The workers' AMI: ECS-optimized AL2023 (Docker, ec2-user in the docker group, EC2 Instance Connect) for their architecture. */
export function workerAmi(instanceType: string): string {
    return ecsOptimizedAmi(isGraviton(instanceType) ? "ARM64" : "X86_64");
}

/**
 * A worker's user data: the AMI's ECS agent would register the instance in a
 * cluster, so it is switched off; Docker is all a worker runs. `--no-block`:
 * user data must not wait for units ordered after cloud-init.
 */
export const WORKER_USER_DATA = `#!/bin/bash
systemctl disable --now --no-block ecs.service
systemctl enable --now --no-block docker.service
`;

export interface GitLabRunnerArgs {
    readonly context: StackContext;
    readonly cluster: ClusterRef;
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets: the manager and the workers, no public addresses. */
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The manager's image by digest (runner/), and its repository. */
    readonly image: ImageRef;
    readonly gitlabUrl: string;
    readonly workers: {
        readonly instanceType: string;
        readonly spot: boolean;
        readonly maxInstances: number;
        readonly capacityPerInstance: number;
        readonly maxUseCount: number;
        readonly idleMinutes: number;
        readonly volumeSizeGb: number;
    };
    readonly alarmTopicArn: pulumi.Input<string>;
    readonly accessLogs: AccessLogTarget;
}

/** The manager's and the workers' security groups, and the rules every connection between them waits for. */
interface RunnerNetwork {
    readonly managerSg: aws.ec2.SecurityGroup;
    readonly workerSg: aws.ec2.SecurityGroup;
    readonly rules: pulumi.Resource[];
}

/** What the manager's roles and task refer to: its token and logs, and the workers and cache it drives. */
interface ManagerParts {
    readonly token: aws.secretsmanager.Secret;
    readonly logs: aws.cloudwatch.LogGroup;
    readonly group: aws.autoscaling.Group;
    readonly cache: aws.s3.Bucket;
}

/**
 * A self-hosted GitLab Runner: one manager on Fargate (gitlab-runner with the
 * docker-autoscaler executor and the fleeting AWS plugin) that scales an Auto
 * Scaling group of EC2 Docker hosts from zero, reaching them over SSH with
 * keys pushed by EC2 Instance Connect. Jobs (privileged, for
 * Docker-in-Docker) run only on the workers. The runner authentication token
 * lives in a Secrets Manager secret this component creates empty; the
 * runner-token tool fills it (README), so it is never in config or state.
 */
export class GitLabRunner extends pulumi.ComponentResource {
    readonly tokenSecretArn: pulumi.Output<string>;
    readonly autoScalingGroupName: pulumi.Output<string>;
    readonly cacheBucket: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;

    constructor(name: string, args: GitLabRunnerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:runner:GitLabRunner", name, {}, opts);
        const a = args;
        const { naming } = a.context;
        const parent = { parent: this };
        const physical = physicalName(naming, name);
        const groupName = `${physical}-workers`;

        // No version: the value is put there once, outside Pulumi.
        const token = new aws.secretsmanager.Secret(
            `${name}-token`,
            { namePrefix: `${naming.prefix}/${name}-token-`, description: "GitLab Runner authentication token (glrt-…), stored by tools/runnerToken.ts", recoveryWindowInDays: 7 },
            parent,
        );
        const cache = secureBucket(`${name}-cache`, { versioning: false, protect: false, encryption: "AES256", expireDays: CACHE_EXPIRE_DAYS, accessLogs: a.accessLogs }, parent).bucket;

        const network = runnerNetwork(name, physical, a.vpcId, parent);
        const group = workerGroup(name, physical, groupName, a, network, parent);
        const logs = logGroup(name, { retentionInDays: a.context.logRetentionDays, naming }, parent);
        const parts: ManagerParts = { token, logs, group, cache };
        const roles = managerRoles(name, a, groupName, parts, parent);
        const task = managerTask(name, physical, a, parts, roles, parent);

        const service = new aws.ecs.Service(
            name,
            {
                name: physical,
                cluster: a.cluster.arn,
                taskDefinition: task.arn,
                // One manager per worker group: two would fight over its desired capacity.
                desiredCount: 1,
                deploymentMinimumHealthyPercent: 0,
                deploymentMaximumPercent: 100,
                ...fargateServiceBase({ spot: false, subnetIds: a.privateSubnetIds, securityGroupId: network.managerSg.id, deploymentAlarmNames: [], rollback: true, execCommand: false }),
                // Until the token is stored the task cannot start; `pulumi up` does not wait for it
                // (the not-running alarm does).
                waitForSteadyState: false,
            },
            { ...parent, dependsOn: network.rules },
        );
        serviceNotRunningAlarm(
            `${name}-not-running`,
            { topicArn: a.alarmTopicArn, description: `${name}: no runner manager running (CI jobs wait)`, clusterName: a.cluster.name, serviceName: physical },
            { ...parent, dependsOn: [service] },
        );

        this.tokenSecretArn = token.arn;
        this.autoScalingGroupName = group.name;
        this.cacheBucket = cache.bucket;
        this.serviceName = service.name;
        this.registerOutputs({ tokenSecretArn: this.tokenSecretArn, autoScalingGroupName: this.autoScalingGroupName, cacheBucket: this.cacheBucket, serviceName: this.serviceName });
    }
}

/** Nothing reaches the manager; the workers admit SSH from the manager only. */
function runnerNetwork(name: string, physical: string, vpcId: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): RunnerNetwork {
    const managerSg = new aws.ec2.SecurityGroup(`${name}-manager`, { vpcId, description: `${physical}: the runner manager (no ingress)` }, opts);
    const workerSg = new aws.ec2.SecurityGroup(`${name}-workers`, { vpcId, description: `${physical}: runner workers (SSH from the manager only)` }, opts);
    const rules = [
        allowPortFrom(`${name}-workers-ssh`, { securityGroupId: workerSg.id, sourceSecurityGroupId: managerSg.id, port: 22, description: "runner manager to workers" }, opts),
        allowAllEgress(`${name}-manager-out`, managerSg.id, opts),
        allowAllEgress(`${name}-workers-out`, workerSg.id, opts),
    ];
    return { managerSg, workerSg, rules };
}

/** The workers: a launch template for a plain Docker host, and the Auto Scaling group the fleeting plugin scales from zero. */
function workerGroup(
    name: string,
    physical: string,
    groupName: string,
    a: Pick<GitLabRunnerArgs, "workers" | "privateSubnetIds">,
    network: RunnerNetwork,
    opts: pulumi.CustomResourceOptions,
): aws.autoscaling.Group {
    const w = a.workers;
    const template = new aws.ec2.LaunchTemplate(
        `${name}-workers`,
        {
            name: groupName,
            description: "GitLab Runner worker: ECS-optimized AL2023 as a plain Docker host, IMDSv2",
            imageId: workerAmi(w.instanceType),
            instanceType: w.spot ? undefined : w.instanceType,
            vpcSecurityGroupIds: [network.workerSg.id],
            // One hop: job containers cannot reach the instance's metadata.
            metadataOptions: IMDSV2_ONE_HOP,
            blockDeviceMappings: encryptedRoot(w.volumeSizeGb),
            userData: Buffer.from(WORKER_USER_DATA).toString("base64"),
            tagSpecifications: [
                { resourceType: "instance", tags: { Name: `${physical}-worker` } },
                { resourceType: "volume", tags: { Name: `${physical}-worker` } },
            ],
            updateDefaultVersion: true,
        },
        opts,
    );
    const launch = { launchTemplateId: template.id, version: pulumi.interpolate`${template.latestVersion}` };
    // As the fleeting plugin requires: it alone sets the desired capacity (so none is
    // declared here), its instances are protected from scale-in, no AZ rebalancing.
    return new aws.autoscaling.Group(
        `${name}-workers`,
        {
            name: groupName,
            minSize: 0,
            maxSize: w.maxInstances,
            vpcZoneIdentifiers: a.privateSubnetIds,
            protectFromScaleIn: true,
            suspendedProcesses: ["AZRebalance"],
            capacityRebalance: false,
            // `pulumi destroy` must not wait on instances protected from scale-in.
            forceDelete: true,
            ...(w.spot
                ? {
                      mixedInstancesPolicy: {
                          instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "price-capacity-optimized" },
                          launchTemplate: { launchTemplateSpecification: launch, overrides: [{ instanceType: w.instanceType }] },
                      },
                  }
                : { launchTemplate: { id: launch.launchTemplateId, version: launch.version } }),
            tags: [{ key: "Name", value: `${physical}-worker`, propagateAtLaunch: true }],
        },
        { ...opts, dependsOn: network.rules },
    );
}

/** The manager's roles: the execution role pulls its image, reads the token and writes its logs; the task role drives the workers and the cache. */
function managerRoles(
    name: string,
    a: Pick<GitLabRunnerArgs, "context" | "image">,
    groupName: string,
    on: ManagerParts,
    opts: pulumi.CustomResourceOptions,
): TaskRoles {
    const { region, accountId, naming } = a.context;
    const instances = pulumi.interpolate`arn:aws:ec2:${region}:${accountId}:instance/*`;
    return taskRoles(
        name,
        {
            repositoryArns: [a.image.repositoryArn],
            secretArns: [on.token.arn],
            logGroupArn: on.logs.arn,
            execCommand: false,
            accountId,
            naming,
            // fleeting-plugin-aws's recommended policy, Linux workers only, plus the cache.
            taskStatements: [
                { sid: "ScaleWorkers", actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"], resources: [on.group.arn] },
                { sid: "SeeWorkers", actions: ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"], resources: ["*"] },
                {
                    sid: "SshToWorkers",
                    actions: ["ec2-instance-connect:SendSSHPublicKey"],
                    resources: [instances],
                    conditions: { StringEquals: { "ec2:ResourceTag/aws:autoscaling:groupName": groupName, "ec2:osuser": "ec2-user" } },
                },
                { sid: "CacheObjects", actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"], resources: [pulumi.interpolate`${on.cache.arn}/*`] },
                { sid: "CacheBucket", actions: ["s3:ListBucket"], resources: [on.cache.arn] },
            ],
        },
        opts,
    );
}

/** The manager's task: gitlab-runner with its config.toml in the environment and the token from Secrets Manager. */
function managerTask(
    name: string,
    physical: string,
    a: Pick<GitLabRunnerArgs, "context" | "image" | "gitlabUrl" | "workers">,
    parts: ManagerParts,
    roles: TaskRoles,
    opts: pulumi.CustomResourceOptions,
): aws.ecs.TaskDefinition {
    const w = a.workers;
    const { region } = a.context;
    const config = pulumi.all([parts.group.name, parts.cache.bucket]).apply(([asg, bucket]) =>
        renderRunnerConfig({
            name: physical,
            gitlabUrl: a.gitlabUrl,
            autoScalingGroupName: asg,
            maxInstances: w.maxInstances,
            capacityPerInstance: w.capacityPerInstance,
            maxUseCount: w.maxUseCount,
            idleMinutes: w.idleMinutes,
            cacheBucket: bucket,
            region,
            defaultImage: DEFAULT_JOB_IMAGE,
        }),
    );
    return new aws.ecs.TaskDefinition(
        name,
        {
            family: physical,
            cpu: String(MANAGER_SIZE.cpu),
            memory: String(MANAGER_SIZE.memory),
            networkMode: "awsvpc",
            requiresCompatibilities: ["FARGATE"],
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
            executionRoleArn: roles.executionRole.arn,
            taskRoleArn: roles.taskRole.arn,
            containerDefinitions: pulumi.jsonStringify([
                {
                    name: "runner",
                    image: a.image.image,
                    essential: true,
                    // gitlab-runner writes its config directory; nothing else.
                    readonlyRootFilesystem: false,
                    environment: [
                        { name: "RUNNER_CONFIG_TOML", value: config },
                        { name: "AWS_REGION", value: region },
                    ],
                    secrets: [{ name: RUNNER_TOKEN_ENV, valueFrom: parts.token.arn }],
                    // SIGQUIT (the image's STOPSIGNAL) lets running jobs finish; ECS allows 120 s.
                    stopTimeout: 120,
                    logConfiguration: awslogs(parts.logs.name, region, "runner"),
                },
            ]),
        },
        opts,
    );
}
