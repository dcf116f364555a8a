import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { serviceAlarms } from "../../aws/alarms";
import { serviceAutoscaling } from "../../aws/autoscaling";
import { secureBucket } from "../../aws/bucket";
import { fargateServiceBase } from "../../aws/ecsService";
import { logGroup } from "../../aws/logs";
import { physicalName } from "../../facts/naming";
import { StackContext } from "../../aws/context";
import { rolloutFloorSeconds, SERVICE_HEALTH } from "../../facts/rollout";
import { jsonSecret } from "../../aws/secrets";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { allowDatabaseClient } from "../database";
import { appConnections } from "./facts";
import { appTaskDefinition, appTaskRoles, WEB } from "./taskDefinition";
import { AppTraffic, appTraffic } from "./traffic";
import { AppSettings, DjangoServiceArgs } from "./types";

/**
 * The first administrator's username (the app's ensure_admin command creates it
 * once, with the generated password, when the migrate step first runs).
 */
export const APP_ADMIN_USERNAME = "admin";

/** What ECS itself rewrites on a service with two target groups after each deployment. */
export const SERVICE_SWAPPED_FIELDS = ["loadBalancers[0].targetGroupArn", "loadBalancers[0].advancedConfiguration.alternateTargetGroupArn"] as const;

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
 * media bucket, generated SECRET_KEY, the first admin's generated password, alarms.
 */
export class DjangoService extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    readonly taskSecurityGroupId: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly bucketName: pulumi.Output<string>;
    /** The host rule ECS shifts traffic on: `aws elbv2 describe-rules` on it shows the live group. */
    readonly listenerRuleArn: pulumi.Output<string>;
    /**
     * The secret (JSON keys `username`, `password`) the migrate step creates the
     * first Django superuser from; read only when that user does not exist yet.
     */
    readonly adminPasswordSecretArn: pulumi.Output<string>;
    readonly url: string;
    /** Every target group of the app's (the live one, or blue and green), by ARN suffix: the TargetGroup dimension of ALB metrics. */
    readonly targetGroupArnSuffixes: pulumi.Output<string>[];
    /** The average CPU percent the service's autoscaling tracks. */
    readonly cpuTarget: number;
    /** The most database connections the tasks hold at once (every task at maxCount, doubled during a deployment; components/app/facts.ts). */
    readonly peakConnections: number;

    constructor(name: string, args: DjangoServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:app:DjangoService", name, {}, opts);
        const a: AppSettings = { user: "10001:10001", databaseUser: "app_web", ...args };
        const parent = { parent: this };
        const physical = physicalName(a.context.naming, name);

        const network = taskNetwork(name, a, parent);

        // --- data and secrets
        const media = secureBucket(`${name}-media`, { versioning: a.context.protect, protect: a.context.protect, encryption: "aws:kms", accessLogs: a.accessLogs }, parent);
        const secretKeyArn = djangoSecretKey(name, a.context, parent);
        const adminSecretArn = djangoAdminPassword(name, a.context, parent);
        const logs = logGroup(name, { retentionInDays: a.context.logRetentionDays, naming: a.context.naming }, parent);
        const taskResources = { mediaBucket: media.bucket, secretKeyArn, adminSecretArn, logGroup: logs };
        const roles = appTaskRoles(name, a, taskResources, parent);

        // --- task definition
        const taskDefinition = appTaskDefinition(name, physical, a, { ...taskResources, roles }, parent);

        // --- load balancing
        const traffic = appTraffic(name, a, this);

        // --- alarms (created before the service so it can roll back on them)
        const alarms = serviceAlarms(
            name,
            {
                topicArn: a.alarms.topicArn,
                clusterName: a.cluster.name,
                // Known before the service exists: the service takes this name below.
                serviceName: physical,
                loadBalancerArnSuffix: a.loadBalancer.arnSuffix,
                targetGroupArnSuffixes: traffic.groups.map((g) => g.arnSuffix),
                http5xxPercent: a.alarms.http5xxPercent,
                p99LatencySeconds: a.alarms.p99LatencySeconds,
                cpuPercent: a.alarms.cpuPercent,
                memoryPercent: a.alarms.memoryPercent,
            },
            parent,
        );

        // --- service
        const service = ecsService(
            name,
            a,
            { physical, taskDefinition, securityGroupId: network.securityGroup.id, networkRules: network.rules, traffic, deploymentAlarmNames: alarms.deploymentAlarms.map((x) => x.name) },
            parent,
        );

        serviceAutoscaling(
            `${name}-scaling`,
            {
                clusterName: a.cluster.name,
                serviceName: service.name,
                minCount: a.minCount,
                maxCount: a.maxCount,
                cpuTarget: a.autoscaling.cpuTarget,
                requests: { requestsPerTarget: a.autoscaling.requestsPerTarget, loadBalancerArnSuffix: a.loadBalancer.arnSuffix, targetGroupArnSuffixes: traffic.groups.map((g) => g.arnSuffix) },
                scaleOutCooldown: a.autoscaling.scaleOutCooldown,
                scaleInCooldown: a.autoscaling.scaleInCooldown,
            },
            parent,
        );

        this.serviceName = service.name;
        this.taskSecurityGroupId = network.securityGroup.id;
        this.logGroupName = logs.name;
        this.bucketName = media.bucket.bucket;
        this.listenerRuleArn = traffic.rule.arn;
        this.adminPasswordSecretArn = adminSecretArn;
        this.url = `https://${a.hostName}`;
        this.targetGroupArnSuffixes = traffic.groups.map((g) => g.arnSuffix);
        this.cpuTarget = a.autoscaling.cpuTarget;
        this.peakConnections = appConnections(a.maxCount, a.cpu);
        this.registerOutputs({
            serviceName: this.serviceName,
            taskSecurityGroupId: this.taskSecurityGroupId,
            logGroupName: this.logGroupName,
            bucketName: this.bucketName,
            listenerRuleArn: this.listenerRuleArn,
            adminPasswordSecretArn: this.adminPasswordSecretArn,
            url: this.url,
            targetGroupArnSuffixes: this.targetGroupArnSuffixes,
        });
    }
}

/** The network: the app port from the ALB only; PostgreSQL from these tasks only. */
function taskNetwork(
    name: string,
    a: Pick<AppSettings, "vpcId" | "loadBalancer" | "port" | "database">,
    opts: pulumi.CustomResourceOptions,
): { readonly securityGroup: aws.ec2.SecurityGroup; readonly rules: pulumi.Resource[] } {
    const securityGroup = new aws.ec2.SecurityGroup(`${name}-tasks`, { vpcId: a.vpcId, description: `${name}: tasks` }, opts);
    // The provider strips the default egress rule from a new group, so until these
    // exist a task can neither pull its image nor be reached: the service waits for them.
    const rules = [
        allowPortFrom(`${name}-from-alb`, { securityGroupId: securityGroup.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: a.port, description: "ALB to app" }, opts),
        allowAllEgress(`${name}-tasks-out`, securityGroup.id, opts),
        allowDatabaseClient(`${name}-to-db`, a.database.securityGroupId, securityGroup.id, opts),
    ];
    return { securityGroup, rules };
}

/** Django's SECRET_KEY: generated, in a secret of its own; resolves once the value is stored. */
function djangoSecretKey(name: string, context: Pick<StackContext, "protect" | "naming">, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    // Protected with its secret: a new key would end every session and invalidate signed links.
    const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 64, special: false }, { ...opts, protect: context.protect });
    return jsonSecret(`${name}-secret-key`, { description: `${name}: Django SECRET_KEY`, protect: context.protect, naming: context.naming, value: { key: secretKey.result } }, opts);
}

/**
 * The first Django superuser's credentials: a generated password, in a secret of
 * its own with the username; resolves once the value is stored. Only the migrate
 * step reads it, and the app's ensure_admin uses it only to create a user that
 * does not exist: a password changed in the app stays, whatever the secret holds.
 */
function djangoAdminPassword(name: string, context: Pick<StackContext, "protect" | "naming">, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    // Protected with its secret, like every generator of a protected stack: the secret is how the operator finds the first password.
    const password = new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, { ...opts, protect: context.protect });
    return jsonSecret(
        `${name}-admin`,
        {
            description: `${name}: the first Django superuser (created once by the migrate step; changing this secret later changes nothing in the app)`,
            protect: context.protect,
            naming: context.naming,
            value: { username: APP_ADMIN_USERNAME, password: password.result },
        },
        opts,
    );
}

/** What the service runs and waits for, made before it. */
interface ServiceParts {
    /** The service's name, known before it exists (the alarms watch it). */
    readonly physical: string;
    readonly taskDefinition: aws.ecs.TaskDefinition;
    readonly securityGroupId: pulumi.Input<string>;
    readonly networkRules: pulumi.Resource[];
    readonly traffic: AppTraffic;
    /** The alarms a deployment rolls back on. */
    readonly deploymentAlarmNames: pulumi.Input<string>[];
}

/** The service: rolled out by the configured strategy across the app's target groups, rolled back on the deployment alarms. */
function ecsService(
    name: string,
    a: Pick<AppSettings, "cluster" | "desiredCount" | "spot" | "subnetIds" | "execCommand" | "port" | "deployment">,
    p: ServiceParts,
    opts: pulumi.CustomResourceOptions,
): aws.ecs.Service {
    const { primary, rule, shift } = p.traffic;
    const strategy = a.deployment;
    const twoGroups = strategy.strategy !== "ROLLING";
    return new aws.ecs.Service(
        name,
        {
            name: p.physical,
            cluster: a.cluster.arn,
            taskDefinition: p.taskDefinition.arn,
            desiredCount: a.desiredCount,
            ...fargateServiceBase({ spot: a.spot, subnetIds: a.subnetIds, securityGroupId: p.securityGroupId, deploymentAlarmNames: p.deploymentAlarmNames, rollback: true, execCommand: a.execCommand }),
            loadBalancers: [
                {
                    containerName: WEB,
                    containerPort: a.port,
                    targetGroupArn: primary.arn,
                    advancedConfiguration: shift ? { alternateTargetGroupArn: shift.alternate.arn, productionListenerRule: rule.arn, roleArn: shift.role.arn } : undefined,
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
            ...opts,
            // Autoscaling owns the running count. With two groups ECS swaps which one is
            // primary and which alternate after each deployment; only those two fields
            // are ECS's: port, container, rule and role changes still reach AWS.
            ignoreChanges: shift ? ["desiredCount", ...SERVICE_SWAPPED_FIELDS] : ["desiredCount"],
            dependsOn: [rule, ...p.networkRules],
            customTimeouts: { create: `${rolloutTimeoutMinutes(strategy)}m`, update: `${rolloutTimeoutMinutes(strategy)}m` },
        },
    );
}
