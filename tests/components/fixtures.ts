import * as pulumi from "@pulumi/pulumi";
import { DjangoServiceArgs } from "../../components/app";
import { ClusterArgs } from "../../components/cluster";
import { DatabaseArgs } from "../../components/database";
import { EcrImageArgs } from "../../components/ecrImage";
import { hostRule, LoadBalancerRef, PublicLoadBalancerArgs } from "../../components/loadBalancer";
import { StackContext } from "../../aws/context";
import { NetworkArgs } from "../../components/network";
import { GitLabRunnerArgs } from "../../components/runner";
import { naming } from "../../facts/naming";
import { ACCOUNT, REGION } from "../../sim/mocks";
import { dailyTime } from "../../aws/backupPlan";
import { GitLabArgs } from "../../components/gitlab";
import type { SingleArgs, SplitArgs } from "../../components/gitlab/types";

/**
 * The one place component tests build Args: a prod-like baseline per component
 * (what index.ts hands it for Pulumi.prod.yaml, with ids as plain outputs), and
 * each test states only what it changes. When a component's Args change shape,
 * this file is the fix.
 *
 * Each fixture is a function: the ids are pulumi.output values, which must be
 * made inside the run (runComponent's build callback), not at import.
 */

export const STACK = "test";
export const NAMING = naming("platform", STACK);
const ids = (tier: string, azs = 3) => pulumi.output(Array.from({ length: azs }, (_, n) => `subnet-${tier}-${n + 1}`));
const VPC_ID = "vpc-0123456789abcdef0";
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:platform-${STACK}-alarms`;
const LOG_BUCKET = "public-access-logs-0123456";

/**
 * A partial that may replace nested objects in part (`deployment: { strategy: "ROLLING" }`);
 * a key set to undefined is left out, as index.ts leaves out what a stack does not use.
 */
export type Over<T> = { -readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? Partial<T[K]> : T[K] };

function merge<T extends object>(base: T, over: Over<T>): T {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) {
        if (v === undefined) {
            delete out[k];
            continue;
        }
        const b = (base as Record<string, unknown>)[k];
        const plain = (x: unknown) => x !== null && typeof x === "object" && !Array.isArray(x) && !pulumi.Output.isInstance(x);
        out[k] = plain(b) && plain(v) ? { ...(b as object), ...(v as object) } : v;
    }
    return out as T;
}

/** What index.ts builds once per stack (prod-like: protected, a year of logs). */
export const stackContext = (over: Over<StackContext> = {}): StackContext =>
    merge<StackContext>({ region: REGION, accountId: pulumi.output(ACCOUNT), naming: NAMING, protect: true, logRetentionDays: 365 }, over);

export const clusterArgs = (over: Over<ClusterArgs> = {}): ClusterArgs => merge<ClusterArgs>({ context: stackContext(), containerInsights: "enhanced", spot: true, ec2CapacityProviders: [] }, over);

export const networkArgs = (over: Over<NetworkArgs> = {}): NetworkArgs =>
    merge<NetworkArgs>(
        {
            context: stackContext(),
            cidrBlock: "10.30.0.0/16",
            availabilityZoneCount: 3,
            natGateways: "OnePerAz",
            subnetMasks: { public: 24, private: 20, isolated: 24 },
            interfaceEndpoints: true,
            flowLogs: true,
            tags: { project: "platform", stack: STACK },
        },
        over,
    );

export const databaseArgs = (over: Over<DatabaseArgs> = {}): DatabaseArgs =>
    merge<DatabaseArgs>(
        {
            identifier: `platform-${STACK}-app`,
            vpcId: pulumi.output(VPC_ID),
            subnetIds: ids("isolated"),
            engineVersion: "17",
            instanceClass: "db.t4g.medium",
            allocatedStorageGb: 50,
            maxAllocatedStorageGb: 500,
            multiAz: true,
            backupRetentionDays: 14,
            performanceInsights: true,
            monitoringIntervalSeconds: 60,
            context: stackContext(),
            alarmTopicArn: pulumi.output(TOPIC_ARN),
            masterPasswordRotationDays: 7,
        },
        over,
    );

export const ecrImageArgs = (over: Over<EcrImageArgs> = {}): EcrImageArgs =>
    merge<EcrImageArgs>(
        {
            context: stackContext(),
            buildContext: "app",
            tag: "11111111-amd64",
            cacheFromTag: "22222222-amd64",
            platform: "linux/amd64",
            keepTaggedImages: 100,
        },
        over,
    );

export const loadBalancerArgs = (over: Over<PublicLoadBalancerArgs> = {}): PublicLoadBalancerArgs =>
    merge<PublicLoadBalancerArgs>(
        {
            context: stackContext(),
            vpcId: pulumi.output(VPC_ID),
            subnetIds: ids("public"),
            securityGroupId: pulumi.output("sg-0lb"),
            zoneName: "example.com",
            hostNames: ["app.example.com", "gitlab.example.com"],
            certificateOnlyHostNames: ["ssh.gitlab.example.com"],
            deletionProtection: true,
            desyncMitigation: "defensive",
            accessLogDays: 365,
            idleTimeout: 60,
            waf: { rateLimitPer5Minutes: 2000, exemptHostNames: ["gitlab.example.com"] },
        },
        over,
    );

/** What every ECS service gets from the stack: its context, the cluster, the VPC, and its image by digest with its repository. */
const ecsService = (image: string, digit: string) => ({
    context: stackContext(),
    cluster: { arn: pulumi.output(`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/platform-${STACK}-cluster`), name: pulumi.output(`platform-${STACK}-cluster`) },
    vpcId: pulumi.output(VPC_ID),
    image: {
        image: pulumi.output(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/platform-${STACK}-${image}@sha256:${digit.repeat(64)}`),
        repositoryArns: [pulumi.output(`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/platform-${STACK}-${image}`)],
    },
});

export const runnerArgs = (over: Over<GitLabRunnerArgs> = {}): GitLabRunnerArgs =>
    merge<GitLabRunnerArgs>(
        {
            ...ecsService("runner", "a"),
            privateSubnetIds: ids("private"),
            gitlabUrl: "https://gitlab.example.com",
            workers: { instanceType: "m7i.large", spot: false, maxInstances: 10, capacityPerInstance: 2, maxUseCount: 10, idleMinutes: 5, volumeSizeGb: 50 },
            alarmTopicArn: pulumi.output(TOPIC_ARN),
            accessLogs: { bucket: pulumi.output(LOG_BUCKET), prefix: "runner-cache/" },
            dockerHubCache: false,
        },
        over,
    );

/** The shared ALB as a service sees it; its host rules come from hostRule, the body of PublicLoadBalancer.route. */
const loadBalancerRef = (): LoadBalancerRef => {
    const httpsListenerArn = pulumi.output(`arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/public/0123456789abcdef/fedcba9876543210`);
    return {
        arnSuffix: pulumi.output("app/public/0123456789abcdef"),
        httpsListenerArn,
        securityGroupId: pulumi.output("sg-0lb"),
        zoneId: pulumi.output("Z0123456789ABCDEFGHIJ"),
        accessLogBucket: pulumi.output(LOG_BUCKET),
        idleTimeout: 3600,
        route: (name, args, parent) => hostRule(httpsListenerArn, name, args, parent),
    };
};

export const djangoServiceArgs = (over: Over<DjangoServiceArgs> = {}): DjangoServiceArgs =>
    merge<DjangoServiceArgs>(
        {
            ...ecsService("app", "b"),
            subnetIds: ids("private"),
            loadBalancer: loadBalancerRef(),
            hostName: "app.example.com",
            listenerPriority: 100,
            cpu: 1024,
            memory: 2048,
            cpuArchitecture: "X86_64",
            port: 8000,
            healthCheckPath: "/healthz",
            desiredCount: 3,
            minCount: 3,
            maxCount: 12,
            spot: false,
            deployment: { strategy: "CANARY", bakeTimeMinutes: 10, canaryPercent: 10, canaryBakeTimeMinutes: 5, liveTargetGroup: "blue" },
            autoscaling: { cpuTarget: 60, requestsPerTarget: 1000, scaleOutCooldown: 60, scaleInCooldown: 300 },
            database: {
                address: pulumi.output(`platform-${STACK}-app.abcdefghijkl.${REGION}.rds.amazonaws.com`),
                port: pulumi.output(5432),
                name: "app",
                secretArn: pulumi.output(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:app-db-credentials-AbCdEf`),
                securityGroupId: pulumi.output("sg-0db"),
                resourceId: pulumi.output("db-ABCDEFGHIJKL"),
                username: "platform_admin",
            },
            alarms: { topicArn: pulumi.output(TOPIC_ARN), http5xxPercent: 5, p99LatencySeconds: 2, cpuPercent: 80, memoryPercent: 80 },
            accessLogs: { bucket: pulumi.output(LOG_BUCKET), prefix: "app-media/" },
            execCommand: false,
            commitSha: "11111111",
        },
        over,
    );

/** prod's split topology (Pulumi.prod.yaml with the schema's defaults), Gitaly on the EC2 host's volume; `over` replaces a tier's keys. */
export const gitlabSplit = (over: Over<SplitArgs> = {}): SplitArgs =>
    merge<SplitArgs>(
        {
            kind: "split",
            web: { cpu: 4096, memory: 8192, minCount: 2, maxCount: 6, cpuTarget: 60, memoryTarget: 75 },
            sidekiq: { cpu: 2048, memory: 4096, minCount: 1, maxCount: 4, cpuTarget: 60 },
            gitaly: {
                cpu: 2048,
                memory: 7168,
                storage: { kind: "ebs", capacityProviderName: pulumi.output(`platform-${STACK}-gitaly`), volumeId: pulumi.output("vol-0123456789abcdef0"), subnetId: pulumi.output("subnet-private-1") },
            },
            redis: { engineVersion: "7.2", nodeType: "cache.t4g.medium", multiAz: true, snapshotRetentionDays: 7 },
        },
        over,
    );

/** The single topology at GitLab's 8 vCPU / 16 GB baseline: prod as it was before the split. */
const GITLAB_SINGLE: SingleArgs = { kind: "single", cpu: 8192, memory: 16384 };

/**
 * GitLab as index.ts builds it for prod: the split topology (gitlabSplit), its
 * own database's endpoint, the shared ALB. A single topology in `over`
 * (`{ kind: "single" }`: at prod's size) replaces the split one whole.
 */
export const gitlabArgs = (over: Over<GitLabArgs> = {}): GitLabArgs => {
    // GitLab spans the VPC's tiers: it takes the whole network, not one vpcId.
    const { vpcId, ...service } = ecsService("gitlab", "c");
    const args = merge<GitLabArgs>(
        {
            ...service,
            network: {
                vpcId,
                cidrBlock: pulumi.output("10.30.0.0/16"),
                subnetIds: { public: ids("public"), private: ids("private"), isolated: ids("isolated") },
                availabilityZoneCount: 3,
            },
            loadBalancer: loadBalancerRef(),
            hostName: "gitlab.example.com",
            registryHostName: "registry.gitlab.example.com",
            sshHostName: "ssh.gitlab.example.com",
            sshAllowedCidrs: ["0.0.0.0/0"],
            listenerPriority: 200,
            topology: gitlabSplit(),
            ephemeralStorageGb: 100,
            cpuArchitecture: "X86_64",
            spot: false,
            execCommand: false,
            // GitLab's own instance (index.ts: gitlab-db) as Database.endpoint gives it.
            database: {
                name: "gitlabhq_production",
                username: "gitlab",
                address: pulumi.output(`platform-${STACK}-gitlab.abcdefghijkl.${REGION}.rds.amazonaws.com`),
                port: pulumi.output(5432),
                secretArn: pulumi.output(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:gitlab-db-credentials-AbCdEf`),
                securityGroupId: pulumi.output("sg-0gitlabdb"),
                resourceId: pulumi.output("db-MNOPQRSTUVWX"),
            },
            registryDatabase: "on",
            efsThroughputMode: "elastic",
            backup: { time: dailyTime("02:30", "UTC"), fileSystemTime: dailyTime("02:30", "UTC", 60), retentionDays: 35 },
            alarms: { topicArn: pulumi.output(TOPIC_ARN), http5xxPercent: 2, cpuPercent: 85, memoryPercent: 85 },
            deletionProtection: true,
            accessLogs: { bucket: pulumi.output(LOG_BUCKET), prefix: "gitlab/" },
            // As index.ts builds it from Pulumi.prod.yaml's defaults (SES for the zone).
            email: { provider: "ses", domain: "example.com", zoneId: pulumi.output("Z0123456789ABCDEFGHIJ"), from: "gitlab@gitlab.example.com", replyTo: "noreply@gitlab.example.com", displayName: "GitLab" },
        },
        over,
    );
    return over.topology?.kind === "single" ? { ...args, topology: { ...GITLAB_SINGLE, ...over.topology } } : args;
};
