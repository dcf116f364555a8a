import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { simpleAlarm } from "../../aws/alarms";
import { SecretSource } from "../../aws/ecsTask";
import { logGroup } from "../../aws/logs";
import { Naming, physicalName } from "../../facts/naming";
import { jsonSecret } from "../../aws/secrets";
import { allowPortFrom } from "../../aws/securityGroups";

export const REDIS_PORT = 6379;

/** The parameter-group family of a Valkey version (ElastiCache's names). */
export function valkeyFamily(version: string): string {
    return `valkey${version.split(".")[0]}`;
}

/**
 * GitLab's parameters: one combined Redis (cache, queues, sessions) must never
 * evict (GitLab's Redis docs); ElastiCache's default is volatile-lru, which
 * would drop Sidekiq jobs and sessions under memory pressure.
 */
export const REDIS_PARAMETERS = [{ name: "maxmemory-policy", value: "noeviction" }] as const;

export interface GitLabRedisArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Isolated subnets (no route out), like the databases. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The tasks that may connect, by security group. */
    readonly clients: readonly { readonly name: string; readonly securityGroupId: pulumi.Input<string> }[];
    readonly engineVersion: string;
    readonly nodeType: string;
    /** A replica in another AZ with automatic failover. */
    readonly multiAz: boolean;
    readonly snapshotRetentionDays: number;
    readonly logRetentionDays: number;
    readonly alarmTopicArn: pulumi.Input<string>;
    readonly protect: boolean;
    readonly naming: Naming;
}

export interface GitLabRedis {
    readonly host: pulumi.Output<string>;
    readonly port: number;
    /** The auth token, as an ECS secret. */
    readonly password: SecretSource & { readonly key: string };
    readonly secretArn: pulumi.Output<string>;
    /** The replication group, for ordering. */
    readonly group: aws.elasticache.ReplicationGroup;
}

/**
 * ElastiCache for Valkey for the split topology: cluster mode disabled (GitLab
 * does not support Redis Cluster), TLS required with an auth token kept in
 * Secrets Manager, encrypted at rest, noeviction, open to GitLab's tasks only,
 * a replica in another AZ with automatic failover where asked (prod).
 */
export function gitlabRedis(name: string, args: GitLabRedisArgs, opts: pulumi.CustomResourceOptions): GitLabRedis {
    const a = args;
    const kept = { ...opts, protect: a.protect };
    const physical = physicalName(a.naming, name, 40);

    const sg = new aws.ec2.SecurityGroup(name, { vpcId: a.vpcId, description: `${physical}: GitLab's Redis` }, opts);
    for (const c of a.clients) {
        allowPortFrom(`${name}-from-${c.name}`, { securityGroupId: sg.id, sourceSecurityGroupId: c.securityGroupId, port: REDIS_PORT, description: `${c.name} to Redis` }, opts);
    }
    const subnets = new aws.elasticache.SubnetGroup(name, { name: physical, description: `${physical}: isolated subnets`, subnetIds: a.subnetIds }, opts);
    const family = valkeyFamily(a.engineVersion);
    // The family is in the name: a new major version needs a new group, created before the old one goes.
    const parameters = new aws.elasticache.ParameterGroup(
        name,
        { name: physicalName(a.naming, `${name}-${family}`, 255), family, description: `${physical}: GitLab (noeviction)`, parameters: [...REDIS_PARAMETERS] },
        opts,
    );

    // Alphanumeric: ElastiCache refuses some punctuation in tokens, and the token also travels in URLs.
    const token = new random.RandomPassword(`${name}-auth-token`, { length: 64, special: false }, kept);
    const secretArn = jsonSecret(`${name}-auth`, { description: "GitLab: the ElastiCache auth token", protect: a.protect, naming: a.naming, value: { password: token.result } }, opts);
    const slowLog = logGroup(`${name}-slow-log`, { retentionInDays: a.logRetentionDays, naming: a.naming }, opts);

    const group = new aws.elasticache.ReplicationGroup(
        name,
        {
            replicationGroupId: physical,
            description: `${physical}: GitLab's cache, queues and sessions`,
            engine: "valkey",
            engineVersion: a.engineVersion,
            nodeType: a.nodeType,
            port: REDIS_PORT,
            parameterGroupName: parameters.name,
            subnetGroupName: subnets.name,
            securityGroupIds: [sg.id],
            numCacheClusters: a.multiAz ? 2 : 1,
            automaticFailoverEnabled: a.multiAz,
            multiAzEnabled: a.multiAz,
            atRestEncryptionEnabled: true,
            transitEncryptionEnabled: true,
            transitEncryptionMode: "required",
            authToken: token.result,
            snapshotRetentionLimit: a.snapshotRetentionDays,
            finalSnapshotIdentifier: a.protect ? `${physical}-final` : undefined,
            autoMinorVersionUpgrade: true,
            // A reviewed change takes effect with the deploy that carries it; with a
            // replica, a node change fails over instead of going down.
            applyImmediately: true,
            logDeliveryConfigurations: [{ destination: slowLog.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "slow-log" }],
        },
        { ...kept, dependsOn: [parameters] },
    );

    // Member clusters are <group id>-001, -002: one set of alarms each (the primary moves on failover).
    const members = Array.from({ length: a.multiAz ? 2 : 1 }, (_, i) => `${physical}-00${i + 1}`);
    for (const member of members) {
        const common = { topicArn: a.alarmTopicArn, namespace: "AWS/ElastiCache", dimensions: { CacheClusterId: member } };
        const suffix = member.slice(physical.length + 1);
        simpleAlarm(
            `${name}-${suffix}-memory`,
            { ...common, description: `${member}: memory above 80% (noeviction: writes fail when full)`, metricName: "DatabaseMemoryUsagePercentage", statistic: "Maximum", comparison: "GreaterThanThreshold", threshold: 80 },
            { ...opts, dependsOn: [group] },
        );
        simpleAlarm(
            `${name}-${suffix}-evictions`,
            { ...common, description: `${member}: keys evicted (GitLab loses jobs or sessions)`, metricName: "Evictions", statistic: "Sum", comparison: "GreaterThanThreshold", threshold: 0, periods: 1 },
            { ...opts, dependsOn: [group] },
        );
        simpleAlarm(
            `${name}-${suffix}-engine-cpu`,
            { ...common, description: `${member}: Redis engine CPU above 80% for 15 minutes`, metricName: "EngineCPUUtilization", statistic: "Average", comparison: "GreaterThanThreshold", threshold: 80 },
            { ...opts, dependsOn: [group] },
        );
    }

    return { host: group.primaryEndpointAddress, port: REDIS_PORT, password: { arn: secretArn, key: "password" }, secretArn, group };
}
