import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { webConcurrency } from "./facts";
import * as random from "@pulumi/random";
import { serviceAlarms } from "../../aws/alarms";
import { serviceAutoscaling } from "../../aws/autoscaling";
import { AccessLogTarget, secureBucket } from "../../aws/bucket";
import { fargateServiceBase } from "../../aws/ecsService";
import { secretRefs, taskRoles } from "../../aws/ecsTask";
import { serviceRole } from "../../aws/iam";
import { awslogs, logGroup } from "../../aws/logs";
import { physicalName } from "../../facts/naming";
import { httpTargetGroup } from "../../aws/targetGroup";
import { rolloutFloorSeconds, SERVICE_HEALTH } from "../../facts/rollout";
import { jsonSecret } from "../../aws/secrets";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { ClusterRef } from "../cluster";
import { allowDatabaseClient, DatabaseEndpoint } from "../database";
import { ImageRef } from "../ecrImage";
import { LoadBalancerRef } from "../loadBalancer";
import { StackContext } from "../../aws/context";

export type DeploymentStrategy = "ROLLING" | "CANARY" | "BLUE_GREEN";

export interface DjangoServiceArgs {
    readonly context: StackContext;
    readonly cluster: ClusterRef;
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets; tasks never get a public IP. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The shared ALB: its HTTPS listener gets a host rule for `hostName`. */
    readonly loadBalancer: LoadBalancerRef;
    readonly hostName: string;
    /** Unique per listener; services sharing the ALB each take their own. */
    readonly listenerPriority: number;
    /** Image by digest, and the repository the execution role may pull from. */
    readonly image: ImageRef;
    readonly cpu: number;
    readonly memory: number;
    /** Must match the image's platform. */
    readonly cpuArchitecture: "X86_64" | "ARM64";
    readonly port: number;
    readonly healthCheckPath: string;
    readonly desiredCount: number;
    readonly minCount: number;
    readonly maxCount: number;
    /** FARGATE_SPOT instead of FARGATE (dev). */
    readonly spot: boolean;
    readonly deployment: {
        readonly strategy: DeploymentStrategy;
        readonly bakeTimeMinutes: number;
        readonly canaryPercent: number;
        readonly canaryBakeTimeMinutes: number;
        /** The group that has the traffic now (see the config key app.deployment.liveTargetGroup). */
        readonly liveTargetGroup: "blue" | "green";
    };
    readonly autoscaling: {
        readonly cpuTarget: number;
        readonly requestsPerTarget: number;
        readonly scaleOutCooldown: number;
        readonly scaleInCooldown: number;
    };
    /** The master credentials' secret is read only by the migrate step; `resourceId` names the IAM login. */
    readonly database: DatabaseEndpoint;
    /** The web process's database user, an RDS IAM login the migrate step creates. Defaults to "app_web". */
    readonly databaseUser?: string;
    readonly alarms: {
        readonly topicArn: pulumi.Input<string>;
        readonly http5xxPercent: number;
        readonly p99LatencySeconds: number;
        readonly cpuPercent: number;
        readonly memoryPercent: number;
    };
    /** Where the media bucket's S3 server access logs go. */
    readonly accessLogs: AccessLogTarget;
    /** ECS Exec into the web container. */
    readonly execCommand: boolean;
    /** The commit the image was built from, shown by /version. */
    readonly commitSha: string;
    /** UID:GID the containers run as; the image's non-root user. Defaults to "10001:10001". */
    readonly user?: string;
}

const MIGRATE = "migrate";
/** RDS's CA bundle in the app image (app/certs, refreshed with GitLab's by gitlab/update-rds-ca.sh). */
export const APP_RDS_CA_BUNDLE = "/app/certs/rds-global-bundle.pem";
/** What ECS itself rewrites on a service with two target groups after each deployment. */
export const SERVICE_SWAPPED_FIELDS = ["loadBalancers[0].targetGroupArn", "loadBalancers[0].advancedConfiguration.alternateTargetGroupArn"] as const;
const WEB = "web";

/**
 * How long `pulumi up` may wait for the service to settle: the rollout floor
 * (bake times included: the provider waits for them) plus 30 minutes for
 * image pulls, migrations, the grace period and a circuit-breaker rollback.
 * The provider's 20-minute default is shorter than a prod canary.
 */
export function rolloutTimeoutMinutes(deployment: { strategy: string; bakeTimeMinutes: number; canaryBakeTimeMinutes: number }): number {
    return Math.ceil(rolloutFloorSeconds(SERVICE_HEALTH, deployment) / 60) + 30;
}

/**
 * The Django app on Fargate behind the shared ALB: task definition with a
 * migration init container, service with circuit breaker and (in prod) an
 * ECS-native canary or blue/green rollout guarded by alarms, autoscaling,
 * media bucket, generated SECRET_KEY, alarms.
 */
export class DjangoService extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    readonly taskSecurityGroupId: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly bucketName: pulumi.Output<string>;
    /** The host rule ECS shifts traffic on: `aws elbv2 describe-rules` on it shows the live group. */
    readonly listenerRuleArn: pulumi.Output<string>;
    readonly url: string;

    constructor(name: string, args: DjangoServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:DjangoService", name, {}, opts);
        const a = { user: "10001:10001", databaseUser: "app_web", ...args, ...args.context };
        const parent = { parent: this };
        const twoGroups = a.deployment.strategy !== "ROLLING";
        const physical = physicalName(a.naming, name);

        // --- network: the app port from the ALB only; PostgreSQL from these tasks only.
        const sg = new aws.ec2.SecurityGroup(`${name}-tasks`, { vpcId: a.vpcId, description: `${name}: tasks` }, parent);
        // The provider strips the default egress rule from a new group, so until these
        // exist a task can neither pull its image nor be reached: the service waits for them.
        const networkRules = [
            allowPortFrom(`${name}-from-alb`, { securityGroupId: sg.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: a.port, description: "ALB to app" }, parent),
            allowAllEgress(`${name}-tasks-out`, sg.id, parent),
            allowDatabaseClient(`${name}-to-db`, a.database.securityGroupId, sg.id, parent),
        ];

        // --- data and secrets
        const media = secureBucket(`${name}-media`, { versioning: a.protect, protect: a.protect, encryption: "aws:kms", accessLogs: a.accessLogs }, parent);
        const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 64, special: false }, parent);
        const secretKeyArn = jsonSecret(
            `${name}-secret-key`,
            { description: `${name}: Django SECRET_KEY`, protect: a.protect, naming: a.naming, value: { key: secretKey.result } },
            parent,
        );

        const logs = logGroup(name, { retentionInDays: a.logRetentionDays, naming: a.naming }, parent);
        const roles = taskRoles(
            name,
            {
                repositoryArns: [a.image.repositoryArn],
                secretArns: [a.database.secretArn, secretKeyArn],
                logGroupArn: logs.arn,
                execCommand: a.execCommand,
                accountId: a.accountId,
                naming: a.naming,
                taskStatements: [
                    // IAM database authentication: the web process signs a token per connection.
                    { sid: "DatabaseLogin", actions: ["rds-db:connect"], resources: [pulumi.interpolate`arn:aws:rds-db:${a.region}:${a.accountId}:dbuser:${a.database.resourceId}/${a.databaseUser}`] },
                    { sid: "MediaObjects", actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources: [pulumi.interpolate`${media.bucket.arn}/*`] },
                    { sid: "MediaList", actions: ["s3:ListBucket"], resources: [media.bucket.arn] },
                ],
            },
            parent,
        );

        // --- task definition
        const environment = [
            { name: "DJANGO_ALLOWED_HOSTS", value: a.hostName },
            { name: "DJANGO_CSRF_TRUSTED_ORIGINS", value: `https://${a.hostName}` },
            { name: "AWS_STORAGE_BUCKET_NAME", value: media.bucket.bucket },
            { name: "AWS_S3_REGION_NAME", value: a.region },
            { name: "DB_HOST", value: a.database.address },
            { name: "DB_PORT", value: pulumi.output(a.database.port).apply(String) },
            { name: "DB_NAME", value: a.database.name },
            // TLS with the server checked against RDS's CAs (in the image): the web process's
            // IAM token is a password for 15 minutes, not to be handed to whoever answers.
            { name: "DB_SSLMODE", value: "verify-full" },
            { name: "DB_SSLROOTCERT", value: APP_RDS_CA_BUNDLE },
            { name: "GIT_COMMIT_SHA", value: a.commitSha },
            { name: "PORT", value: String(a.port) },
            { name: "WEB_CONCURRENCY", value: String(webConcurrency(a.cpu)) },
            { name: "DJANGO_DATA_DIR", value: "/tmp" },
        ];
        // Only the migrate step gets the master credentials, injected when it starts;
        // it exits once migrations and the web user's grants are done. The web process
        // holds no database password: it logs in as its own user with IAM.
        const djangoKey = { DJANGO_SECRET_KEY: { arn: secretKeyArn, key: "key" } };
        const migrateDatabase = {
            environment: [...environment, { name: "DB_APP_USER", value: a.databaseUser }],
            secrets: secretRefs({ ...djangoKey, DB_USER: { arn: a.database.secretArn, key: "username" }, DB_PASSWORD: { arn: a.database.secretArn, key: "password" } }),
        };
        const webDatabase = {
            environment: [...environment, { name: "DB_USER", value: a.databaseUser }, { name: "DB_IAM_AUTH", value: "1" }, { name: "DB_REGION", value: a.region }],
            secrets: secretRefs(djangoKey),
        };
        const logConfig = (prefix: string) => awslogs(logs.name, a.region, prefix);
        const hardened = {
            image: a.image.image,
            user: a.user,
            readonlyRootFilesystem: true,
            privileged: false,
            mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
            // An init process as PID 1 forwards SIGTERM (python and bash as PID 1 ignore it)
            // and reaps ECS Exec's agent processes.
            linuxParameters: { initProcessEnabled: true },
        };
        // ECS Exec runs the SSM agent inside the container. AWS documents Exec as
        // unsupported with a read-only root; instead of giving up the read-only root,
        // the agent gets writable volumes for its state and logs (what it writes).
        // Only web is an exec target, and only when Exec is switched on.
        const execMounts = a.execCommand
            ? [
                  { sourceVolume: "ssm-state", containerPath: "/var/lib/amazon", readOnly: false },
                  { sourceVolume: "ssm-logs", containerPath: "/var/log/amazon", readOnly: false },
              ]
            : [];
        const taskDefinition = new aws.ecs.TaskDefinition(
            name,
            {
                // Families are account-wide: the stack's name keeps dev and prod revisions apart.
                family: physical,
                cpu: String(a.cpu),
                memory: String(a.memory),
                networkMode: "awsvpc",
                requiresCompatibilities: ["FARGATE"],
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture },
                executionRoleArn: roles.executionRole.arn,
                taskRoleArn: roles.taskRole.arn,
                // The only writable paths: task-local scratch (temp files) and ECS Exec's agent dirs.
                volumes: [{ name: "tmp" }, ...execMounts.map((m) => ({ name: m.sourceVolume }))],
                containerDefinitions: pulumi.jsonStringify([
                    {
                        ...hardened,
                        ...migrateDatabase,
                        name: MIGRATE,
                        // Non-essential: it runs the advisory-locked migration and exits; web waits for its SUCCESS.
                        essential: false,
                        command: ["migrate"],
                        logConfiguration: logConfig(MIGRATE),
                    },
                    {
                        ...hardened,
                        ...webDatabase,
                        name: WEB,
                        essential: true,
                        mountPoints: [...hardened.mountPoints, ...execMounts],
                        command: ["web"],
                        portMappings: [{ containerPort: a.port, protocol: "tcp" }],
                        dependsOn: [{ containerName: MIGRATE, condition: "SUCCESS" }],
                        // Longer than gunicorn's 25 s graceful timeout so in-flight requests finish.
                        stopTimeout: 30,
                        healthCheck: {
                            command: ["CMD", "python", "-c", `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${a.port}/healthz', timeout=3)`],
                            interval: 15,
                            timeout: 5,
                            retries: 3,
                            startPeriod: 30,
                        },
                        logConfiguration: logConfig(WEB),
                    },
                ]),
            },
            parent,
        );

        // --- load balancing
        // Two groups, "blue" (named after the service) and "green", so a switch between
        // ROLLING (one group) and CANARY/BLUE_GREEN (both) keeps the group that has the
        // traffic: ROLLING uses the live one, the others add the second beside it.
        const targetGroup = (color: "blue" | "green") =>
            httpTargetGroup(color === "blue" ? name : `${name}-green`, { vpcId: a.vpcId, path: a.healthCheckPath, matcher: "200", health: SERVICE_HEALTH }, parent);
        const live = a.deployment.liveTargetGroup;
        const other = live === "blue" ? "green" : "blue";
        const byColor = new Map((twoGroups ? (["blue", "green"] as const) : [live]).map((c) => [c, targetGroup(c)]));
        const primary = byColor.get(live)!;
        const alternate = byColor.get(other);
        const groups = [...byColor.values()];

        const rule = a.loadBalancer.route(name, { host: a.hostName, priority: a.listenerPriority, targetGroups: groups, live: primary }, parent);

        // ECS assumes this role to move the rule's weights (native canary/blue-green).
        const infrastructureRole = alternate
            ? serviceRole(
                  `${name}-ecs-lb`,
                  {
                      // No source-account condition: AWS documents this trust policy without one.
                      service: "ecs.amazonaws.com",
                      naming: a.naming,
                      statements: [
                          {
                              sid: "Describe",
                              actions: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"],
                              resources: ["*"],
                          },
                          // The production traffic is a listener *rule*, so ECS changes only that rule.
                          // ModifyListener (in AWS's managed policy) is for a listener's default action
                          // or an NLB listener; neither is handed to ECS here.
                          { sid: "ShiftTraffic", actions: ["elasticloadbalancing:ModifyRule"], resources: [rule.arn] },
                          { sid: "RegisterTargets", actions: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"], resources: groups.map((g) => g.arn) },
                      ],
                  },
                  parent,
              )
            : undefined;

        // --- alarms (created before the service so it can roll back on them)
        const alarms = serviceAlarms(
            name,
            {
                topicArn: a.alarms.topicArn,
                clusterName: a.cluster.name,
                // Known before the service exists: the service takes this name below.
                serviceName: physical,
                loadBalancerArnSuffix: a.loadBalancer.arnSuffix,
                targetGroupArnSuffixes: groups.map((g) => g.arnSuffix),
                http5xxPercent: a.alarms.http5xxPercent,
                p99LatencySeconds: a.alarms.p99LatencySeconds,
                cpuPercent: a.alarms.cpuPercent,
                memoryPercent: a.alarms.memoryPercent,
            },
            parent,
        );

        // --- service
        const strategy = a.deployment;
        const service = new aws.ecs.Service(
            name,
            {
                name: physical,
                cluster: a.cluster.arn,
                taskDefinition: taskDefinition.arn,
                desiredCount: a.desiredCount,
                ...fargateServiceBase({ spot: a.spot, subnetIds: a.subnetIds, securityGroupId: sg.id, deploymentAlarmNames: alarms.deploymentAlarms.map((x) => x.name), rollback: true, execCommand: a.execCommand }),
                loadBalancers: [
                    {
                        containerName: WEB,
                        containerPort: a.port,
                        targetGroupArn: primary.arn,
                        advancedConfiguration:
                            alternate && infrastructureRole
                                ? { alternateTargetGroupArn: alternate.arn, productionListenerRule: rule.arn, roleArn: infrastructureRole.arn }
                                : undefined,
                    },
                ],
                // Migrations run before the web container starts; give both time before ALB health counts.
                healthCheckGracePeriodSeconds: 120,
                deploymentMinimumHealthyPercent: 100,
                deploymentMaximumPercent: 200,
                deploymentConfiguration: {
                    strategy: strategy.strategy,
                    ...(twoGroups ? { bakeTimeInMinutes: String(strategy.bakeTimeMinutes) } : {}),
                    ...(strategy.strategy === "CANARY"
                        ? { canaryConfiguration: { canaryPercent: strategy.canaryPercent, canaryBakeTimeInMinutes: String(strategy.canaryBakeTimeMinutes) } }
                        : {}),
                },
            },
            {
                ...parent,
                // Autoscaling owns the running count. With two groups ECS swaps which one is
                // primary and which alternate after each deployment; only those two fields
                // are ECS's: port, container, rule and role changes still reach AWS.
                ignoreChanges: alternate ? ["desiredCount", ...SERVICE_SWAPPED_FIELDS] : ["desiredCount"],
                dependsOn: [rule, ...networkRules],
                customTimeouts: { create: `${rolloutTimeoutMinutes(strategy)}m`, update: `${rolloutTimeoutMinutes(strategy)}m` },
            },
        );

        serviceAutoscaling(
            `${name}-scaling`,
            {
                clusterName: a.cluster.name,
                serviceName: service.name,
                minCount: a.minCount,
                maxCount: a.maxCount,
                cpuTarget: a.autoscaling.cpuTarget,
                requests: { requestsPerTarget: a.autoscaling.requestsPerTarget, loadBalancerArnSuffix: a.loadBalancer.arnSuffix, targetGroupArnSuffixes: groups.map((g) => g.arnSuffix) },
                scaleOutCooldown: a.autoscaling.scaleOutCooldown,
                scaleInCooldown: a.autoscaling.scaleInCooldown,
            },
            parent,
        );

        this.serviceName = service.name;
        this.taskSecurityGroupId = sg.id;
        this.logGroupName = logs.name;
        this.bucketName = media.bucket.bucket;
        this.listenerRuleArn = rule.arn;
        this.url = `https://${a.hostName}`;
        this.registerOutputs({
            serviceName: this.serviceName,
            taskSecurityGroupId: this.taskSecurityGroupId,
            logGroupName: this.logGroupName,
            bucketName: this.bucketName,
            listenerRuleArn: this.listenerRuleArn,
            url: this.url,
        });
    }
}
