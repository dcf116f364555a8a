import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceNotRunningAlarm } from "../../aws/alarms";
import { encryptedRoot, IMDSV2_ONE_HOP } from "../../aws/ec2";
import { fargateServiceBase } from "../../aws/ecsService";
import { TaskRoles, taskRoles } from "../../aws/ecsTask";
import { awslogs, logGroup } from "../../aws/logs";
import { physicalName } from "../../facts/naming";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { StackContext } from "../../aws/context";
import { ClusterRef } from "../cluster";
import { ImageRef } from "../ecrImage";
import { renderRunnerConfig, RUNNER_TOKEN_ENV, WarmPolicy } from "./runnerConfig";
import { DEFAULT_JOB_IMAGE, MANAGER_SIZE, WORKER_USER_DATA, workerAmi } from "./sizing";

/** What one fleet's workers are. */
export interface FleetWorkers {
    readonly instanceType: string;
    readonly spot: boolean;
    readonly maxInstances: number;
    readonly capacityPerInstance: number;
    readonly maxUseCount: number;
    readonly idleMinutes: number;
    readonly volumeSizeGb: number;
}

/** Where every fleet of the runner lives and reports: what the fleets share. */
export interface RunnerPlacement {
    readonly context: StackContext;
    readonly cluster: ClusterRef;
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets: the managers and the workers, no public addresses. */
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The managers' image by digest (runner/), and its repository. */
    readonly image: ImageRef;
    readonly gitlabUrl: string;
    readonly alarmTopicArn: pulumi.Input<string>;
}

/** The Docker Hub pull-through cache a fleet's manager pulls job images through (runner.ts). */
export interface ImageCache {
    /** `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>`: what DOCKER_HUB_MIRROR holds. */
    readonly mirror: pulumi.Input<string>;
    /** The rule's repository prefix: the cached repositories are `<prefix>/<Docker Hub name>`. */
    readonly repositoryPrefix: string;
}

/**
 * One fleet: a manager on Fargate with its own token, security groups,
 * roles and Auto Scaling group of workers. Two fleets share nothing but the
 * image, the cluster and the cache bucket (each under its own prefix).
 */
export interface FleetArgs extends RunnerPlacement {
    /** The logical name; every resource of the fleet is this or starts with `${name}-`. */
    readonly name: string;
    /** What the fleet runs, for descriptions. */
    readonly purpose: string;
    readonly workers: FleetWorkers;
    /** Docker-in-Docker services may run privileged (only where a job builds images). */
    readonly dind: boolean;
    /** The cache bucket, and this fleet's prefix in it. */
    readonly cache: aws.s3.Bucket;
    readonly cachePath: string;
    /** Idle workers in working hours (the general fleet only). */
    readonly warm?: WarmPolicy;
    /** Job images from Docker Hub through the account's ECR cache. */
    readonly imageCache?: ImageCache;
}

/** The manager's and the workers' security groups, and the rules every connection between them waits for. */
interface RunnerNetwork {
    readonly managerSg: aws.ec2.SecurityGroup;
    readonly workerSg: aws.ec2.SecurityGroup;
    readonly rules: pulumi.Resource[];
}

/** What the manager's roles and task refer to: its token and logs, and the workers it drives. */
interface ManagerParts {
    readonly token: aws.secretsmanager.Secret;
    readonly logs: aws.cloudwatch.LogGroup;
    readonly group: aws.autoscaling.Group;
}

export interface Fleet {
    readonly token: aws.secretsmanager.Secret;
    readonly group: aws.autoscaling.Group;
    readonly service: aws.ecs.Service;
    readonly network: RunnerNetwork;
}

export function runnerFleet(a: FleetArgs, opts: pulumi.CustomResourceOptions): Fleet {
    const { naming } = a.context;
    const physical = physicalName(naming, a.name);
    const groupName = `${physical}-workers`;
    // No version: the value is put there once, outside Pulumi.
    const token = new aws.secretsmanager.Secret(
        `${a.name}-token`,
        { namePrefix: `${naming.prefix}/${a.name}-token-`, description: `GitLab Runner authentication token (glrt-…) of the ${a.purpose}, stored by tools/runnerToken.ts`, recoveryWindowInDays: 7 },
        opts,
    );
    const network = runnerNetwork(a.name, physical, a.vpcId, opts);
    const group = workerGroup(a, physical, groupName, network, opts);
    const logs = logGroup(a.name, { retentionInDays: a.context.logRetentionDays, naming }, opts);
    const parts: ManagerParts = { token, logs, group };
    const roles = managerRoles(a, groupName, parts, opts);
    const task = managerTask(a, physical, parts, roles, opts);
    const service = new aws.ecs.Service(
        a.name,
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
        { ...opts, dependsOn: network.rules },
    );
    serviceNotRunningAlarm(
        `${a.name}-not-running`,
        { topicArn: a.alarmTopicArn, description: `${a.name}: no manager of the ${a.purpose} running (its jobs wait)`, clusterName: a.cluster.name, serviceName: physical },
        { ...opts, dependsOn: [service] },
    );
    return { token, group, service, network };
}

/** Nothing reaches the manager; the workers admit SSH from this fleet's manager only. */
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
function workerGroup(a: FleetArgs, physical: string, groupName: string, network: RunnerNetwork, opts: pulumi.CustomResourceOptions): aws.autoscaling.Group {
    const w = a.workers;
    const template = new aws.ec2.LaunchTemplate(
        `${a.name}-workers`,
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
        `${a.name}-workers`,
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

/** The manager's roles: the execution role pulls its image, reads its token and writes its logs; the task role drives its own workers and its cache prefix. */
function managerRoles(a: FleetArgs, groupName: string, on: ManagerParts, opts: pulumi.CustomResourceOptions): TaskRoles {
    const { region, accountId, naming } = a.context;
    const instances = pulumi.interpolate`arn:aws:ec2:${region}:${accountId}:instance/*`;
    return taskRoles(
        a.name,
        {
            repositoryArns: a.image.repositoryArns,
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
                // Its own prefix only: the general fleet can neither read nor write the deploys' cache.
                { sid: "CacheObjects", actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"], resources: [pulumi.interpolate`${a.cache.arn}/${a.cachePath}/*`] },
                { sid: "CacheBucket", actions: ["s3:ListBucket"], resources: [a.cache.arn] },
                ...imageCacheStatements(a),
            ],
        },
        opts,
    );
}

/**
 * What the manager's credential helper needs to pull through the cache (AWS:
 * "IAM permissions required to sync an upstream registry"): a registry token
 * (no resource of its own), the pull, and on the first pull of an image the
 * import from Docker Hub into a repository ECR creates under the rule's
 * prefix, with the puller's rights. Only under that prefix: no other
 * repository of the account.
 */
function imageCacheStatements(a: FleetArgs) {
    if (!a.imageCache) {
        return [];
    }
    const { region, accountId } = a.context;
    const cached = pulumi.interpolate`arn:aws:ecr:${region}:${accountId}:repository/${a.imageCache.repositoryPrefix}/*`;
    return [
        { sid: "CacheRegistryToken", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
        {
            sid: "PullThroughCache",
            actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            resources: [cached],
        },
    ];
}

/** The manager's task: gitlab-runner with its config.toml in the environment and the token from Secrets Manager. */
function managerTask(a: FleetArgs, physical: string, parts: ManagerParts, roles: TaskRoles, opts: pulumi.CustomResourceOptions): aws.ecs.TaskDefinition {
    const w = a.workers;
    const { region } = a.context;
    const config = pulumi.all([parts.group.name, a.cache.bucket, a.imageCache?.mirror]).apply(([asg, bucket, dockerHubMirror]) =>
        renderRunnerConfig({
            name: physical,
            gitlabUrl: a.gitlabUrl,
            autoScalingGroupName: asg,
            maxInstances: w.maxInstances,
            capacityPerInstance: w.capacityPerInstance,
            maxUseCount: w.maxUseCount,
            idleMinutes: w.idleMinutes,
            cacheBucket: bucket,
            cachePath: a.cachePath,
            region,
            defaultImage: DEFAULT_JOB_IMAGE,
            dind: a.dind,
            warm: a.warm,
            dockerHubMirror,
        }),
    );
    return new aws.ecs.TaskDefinition(
        a.name,
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
