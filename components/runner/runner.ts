import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceNotRunningAlarm } from "../../aws/alarms";
import { AccessLogTarget, secureBucket } from "../../aws/bucket";
import { ecsOptimizedAmi, encryptedRoot, IMDSV2_ONE_HOP, isGraviton } from "../../aws/ec2";
import { fargateServiceBase } from "../../aws/ecsService";
import { taskRoles } from "../../aws/ecsTask";
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
        const a = { ...args, ...args.context };
        const w = a.workers;
        const parent = { parent: this };
        const physical = physicalName(a.naming, name);
        const groupName = `${physical}-workers`;

        // No version: the value is put there once, outside Pulumi.
        const token = new aws.secretsmanager.Secret(
            `${name}-token`,
            { namePrefix: `${a.naming.prefix}/${name}-token-`, description: "GitLab Runner authentication token (glrt-…), stored by tools/runnerToken.ts", recoveryWindowInDays: 7 },
            parent,
        );
        const cache = secureBucket(`${name}-cache`, { versioning: false, protect: false, encryption: "AES256", expireDays: CACHE_EXPIRE_DAYS, accessLogs: a.accessLogs }, parent).bucket;

        // Nothing reaches the manager; the workers admit SSH from the manager only.
        const managerSg = new aws.ec2.SecurityGroup(`${name}-manager`, { vpcId: a.vpcId, description: `${physical}: the runner manager (no ingress)` }, parent);
        const workerSg = new aws.ec2.SecurityGroup(`${name}-workers`, { vpcId: a.vpcId, description: `${physical}: runner workers (SSH from the manager only)` }, parent);
        const rules = [
            allowPortFrom(`${name}-workers-ssh`, { securityGroupId: workerSg.id, sourceSecurityGroupId: managerSg.id, port: 22, description: "runner manager to workers" }, parent),
            allowAllEgress(`${name}-manager-out`, managerSg.id, parent),
            allowAllEgress(`${name}-workers-out`, workerSg.id, parent),
        ];

        const template = new aws.ec2.LaunchTemplate(
            `${name}-workers`,
            {
                name: groupName,
                description: "GitLab Runner worker: ECS-optimized AL2023 as a plain Docker host, IMDSv2",
                imageId: workerAmi(w.instanceType),
                instanceType: w.spot ? undefined : w.instanceType,
                vpcSecurityGroupIds: [workerSg.id],
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
            parent,
        );
        const launch = { launchTemplateId: template.id, version: pulumi.interpolate`${template.latestVersion}` };
        // As the fleeting plugin requires: it alone sets the desired capacity (so none is
        // declared here), its instances are protected from scale-in, no AZ rebalancing.
        const group = new aws.autoscaling.Group(
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
            { ...parent, dependsOn: rules },
        );

        const logs = logGroup(name, { retentionInDays: a.logRetentionDays, naming: a.naming }, parent);
        const instances = pulumi.interpolate`arn:aws:ec2:${a.region}:${a.accountId}:instance/*`;
        const roles = taskRoles(
            name,
            {
                repositoryArns: [a.image.repositoryArn],
                secretArns: [token.arn],
                logGroupArn: logs.arn,
                execCommand: false,
                accountId: a.accountId,
                naming: a.naming,
                // fleeting-plugin-aws's recommended policy, Linux workers only, plus the cache.
                taskStatements: [
                    { sid: "ScaleWorkers", actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"], resources: [group.arn] },
                    { sid: "SeeWorkers", actions: ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"], resources: ["*"] },
                    {
                        sid: "SshToWorkers",
                        actions: ["ec2-instance-connect:SendSSHPublicKey"],
                        resources: [instances],
                        conditions: { StringEquals: { "ec2:ResourceTag/aws:autoscaling:groupName": groupName, "ec2:osuser": "ec2-user" } },
                    },
                    { sid: "CacheObjects", actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"], resources: [pulumi.interpolate`${cache.arn}/*`] },
                    { sid: "CacheBucket", actions: ["s3:ListBucket"], resources: [cache.arn] },
                ],
            },
            parent,
        );

        const config = pulumi.all([group.name, cache.bucket]).apply(([asg, bucket]) =>
            renderRunnerConfig({
                name: physical,
                gitlabUrl: a.gitlabUrl,
                autoScalingGroupName: asg,
                maxInstances: w.maxInstances,
                capacityPerInstance: w.capacityPerInstance,
                maxUseCount: w.maxUseCount,
                idleMinutes: w.idleMinutes,
                cacheBucket: bucket,
                region: a.region,
                defaultImage: DEFAULT_JOB_IMAGE,
            }),
        );
        const task = new aws.ecs.TaskDefinition(
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
                            { name: "AWS_REGION", value: a.region },
                        ],
                        secrets: [{ name: RUNNER_TOKEN_ENV, valueFrom: token.arn }],
                        // SIGQUIT (the image's STOPSIGNAL) lets running jobs finish; ECS allows 120 s.
                        stopTimeout: 120,
                        logConfiguration: awslogs(logs.name, a.region, "runner"),
                    },
                ]),
            },
            parent,
        );

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
                ...fargateServiceBase({ spot: false, subnetIds: a.privateSubnetIds, securityGroupId: managerSg.id, deploymentAlarmNames: [], rollback: true, execCommand: false }),
                // Until the token is stored the task cannot start; `pulumi up` does not wait for it
                // (the not-running alarm does).
                waitForSteadyState: false,
            },
            { ...parent, dependsOn: rules },
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
