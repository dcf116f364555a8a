import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { EcrImage } from "./components/ecrImage";
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

const network = new Network("network", {
    cidrBlock: cfg.network.cidr,
    availabilityZoneCount: cfg.network.availabilityZones,
    natGateways: cfg.network.natGateways,
    subnetMasks: cfg.network.subnetMasks,
    interfaceEndpoints: cfg.network.interfaceEndpoints,
    flowLogRetentionDays: cfg.network.flowLogs ? cfg.logs.retentionDays : undefined,
    region: cfg.region,
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
