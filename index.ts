import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts } from "./components/alerts";
import { Cluster } from "./components/cluster";
import { Database } from "./components/database";
import { DjangoService } from "./components/djangoService";
import { EcrImage } from "./components/ecrImage";
import { PublicLoadBalancer } from "./components/loadBalancer";
import { Network } from "./components/network";
import { buildOnPreview, commitTag, commitTime, previousTag, realGit } from "./lib/build";
import { loadConfig } from "./lib/stackConfig";

// Read and validate the whole stack config first: a bad value stops the
// program here, before a single resource is registered.
const cfg = loadConfig();
const tag = commitTag(process.env, realGit);
const cacheFromTag = previousTag(process.env, realGit);
const previewBuilds = buildOnPreview(process.env);
const tags = { project: pulumi.getProject(), stack: cfg.stack, "managed-by": "pulumi" };

const account = aws.getCallerIdentityOutput();

const network = new Network("network", {
    cidrBlock: cfg.network.cidr,
    availabilityZoneCount: cfg.network.availabilityZones,
    natGateways: cfg.network.natGateways,
    subnetMasks: cfg.network.subnetMasks,
    interfaceEndpoints: cfg.network.interfaceEndpoints,
    flowLogRetentionDays: cfg.network.flowLogs ? cfg.logs.retentionDays : undefined,
    region: cfg.region,
    accountId: account.accountId,
    tags,
});

const cluster = new Cluster("cluster", {
    containerInsights: cfg.cluster.containerInsights,
    spot: cfg.cluster.fargateSpot,
});

const imageDefaults = {
    tag,
    cacheFromTag,
    platform: cfg.images.platform,
    keepTaggedImages: cfg.images.keepTaggedImages,
    buildOnPreview: previewBuilds,
    // A protected stack keeps its images when the stack is destroyed.
    forceDelete: !cfg.stateful.protect,
};

const gitlabImage = new EcrImage("gitlab", { ...imageDefaults, context: "gitlab" });
const appImage = new EcrImage("app", {
    ...imageDefaults,
    context: "app",
    buildArgs: { GIT_COMMIT_SHA: tag, BUILD_TIME: commitTime(process.env, realGit) },
});

const alerts = new Alerts("alerts", { email: cfg.alarms.email });

const loadBalancer = new PublicLoadBalancer("public", {
    vpcId: network.vpcId,
    subnetIds: network.publicSubnetIds,
    securityGroupId: network.loadBalancerSecurityGroupId,
    zoneName: cfg.dns.zoneName,
    hostNames: [cfg.app.hostName],
    certificateArn: cfg.dns.certificateArn,
    deletionProtection: cfg.loadBalancer.deletionProtection,
    desyncMitigation: cfg.loadBalancer.desyncMitigation,
    accessLogDays: cfg.loadBalancer.accessLogDays,
    idleTimeout: cfg.loadBalancer.idleTimeout,
    accountId: account.accountId,
    protect: cfg.stateful.protect,
});

const appDb = new Database("app-db", {
    identifier: `${pulumi.getProject()}-${cfg.stack}-app`,
    vpcId: network.vpcId,
    subnetIds: network.isolatedSubnetIds,
    ...cfg.database,
    protect: cfg.stateful.protect,
    logRetentionDays: cfg.logs.retentionDays,
});

const app = new DjangoService("app", {
    clusterArn: cluster.clusterArn,
    clusterName: cluster.clusterName,
    vpcId: network.vpcId,
    subnetIds: network.privateSubnetIds,
    loadBalancer: { arnSuffix: loadBalancer.arnSuffix, httpsListenerArn: loadBalancer.httpsListenerArn, securityGroupId: loadBalancer.securityGroupId },
    hostName: cfg.app.hostName,
    listenerPriority: 100,
    image: appImage.imageRef,
    repositoryArn: appImage.repositoryArn,
    cpu: cfg.app.cpu,
    memory: cfg.app.memory,
    cpuArchitecture: cfg.images.platform === "linux/arm64" ? "ARM64" : "X86_64",
    port: cfg.app.port,
    healthCheckPath: cfg.app.healthCheckPath,
    desiredCount: cfg.app.desiredCount,
    minCount: cfg.app.minCount,
    maxCount: cfg.app.maxCount,
    spot: cfg.app.spot,
    deployment: cfg.app.deployment,
    autoscaling: cfg.app.autoscaling,
    database: { address: appDb.address, port: appDb.port, name: appDb.databaseName, secretArn: appDb.secretArn, securityGroupId: appDb.securityGroupId },
    logRetentionDays: cfg.logs.retentionDays,
    alarms: { topicArn: alerts.topicArn, ...cfg.alarms },
    protectData: cfg.stateful.protect,
    commitSha: tag,
    region: cfg.region,
    accountId: account.accountId,
});

export const vpcId = network.vpcId;
export const vpcCidr = network.cidrBlock;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const isolatedSubnetIds = network.isolatedSubnetIds;
export const loadBalancerSecurityGroupId = network.loadBalancerSecurityGroupId;
export const clusterName = cluster.clusterName;
export const clusterArn = cluster.clusterArn;
export const gitlabImageRef = gitlabImage.imageRef;
export const appImageRef = appImage.imageRef;
export const imageTag = tag;
export const appUrl = app.url;
export const albDnsName = loadBalancer.dnsName;
export const albAccessLogBucket = loadBalancer.accessLogBucket;
export const appServiceName = app.serviceName;
export const appLogGroup = app.logGroupName;
export const appMediaBucket = app.bucketName;
export const appDatabaseEndpoint = pulumi.interpolate`${appDb.address}:${appDb.port}`;
export const alarmTopicArn = alerts.topicArn;
