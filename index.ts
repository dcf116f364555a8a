import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts } from "./components/alerts";
import { Cluster, clusterPhysicalName } from "./components/cluster";
import { Dashboard } from "./components/dashboard";
import { Database } from "./components/database";
import { DjangoService } from "./components/app";
import { EcrImage } from "./components/ecrImage";
import { connectionDemand, DEPLOY_MAXIMUM_PERCENT, GitalyHost, GitLab, gitlabDatabaseParameters } from "./components/gitlab";
import { GitLabRunner, GitLabRunnerArgs } from "./components/runner";
import { PublicLoadBalancer } from "./components/loadBalancer";
import { StackContext } from "./aws/context";
import { Network } from "./components/network";
import { dailyTime } from "./aws/backupPlan";
import { archOf, imageSource } from "./facts/imageSource";
import { realGit } from "./hooks/git";
import { exportContext } from "./hooks/buildContext";
import { deployedCommit } from "./facts/commit";
import { configWarnings } from "./config";
import { DeployIdentity } from "./components/deployIdentity";
import { naming as namingFor, physicalName } from "./facts/naming";
import { loadConfig } from "./config/load";
import { gitlabFleets } from "./config/sections/gitlabBudget";
import { RESERVED_CONNECTIONS } from "./facts/rds";

// Read and validate the whole stack config first: a bad value stops the
// program here, before a single resource is registered.
const cfg = loadConfig();
for (const warning of configWarnings(cfg)) {
    pulumi.log.warn(warning);
}
const project = pulumi.getProject();
const naming = namingFor(project, cfg.stack);
const tags = { project, stack: cfg.stack, "managed-by": "pulumi" };

// Every AWS resource goes through this provider: its default tags reach every
// taggable resource (and so ECS has tags to propagate to tasks), whatever a
// component sets itself.
const provider = new aws.Provider("aws", { region: cfg.region as aws.Region, defaultTags: { tags } });
const withAws = { providers: { aws: provider } };

// Each image is named after its own folder's last commit: a commit that
// touches only app/ leaves the GitLab image (and its service) alone.
const arch = archOf(cfg.images.platform);
// The tasks run on the platform their images are built for.
const cpuArchitecture = arch === "arm64" ? "ARM64" : "X86_64";
const appSource = imageSource("app", arch, realGit);
const gitlabSource = imageSource("gitlab", arch, realGit);

const account = aws.getCallerIdentityOutput({}, { provider });
const context: StackContext = { region: cfg.region, accountId: account.accountId, naming, protect: cfg.stateful.protect, logRetentionDays: cfg.logs.retentionDays };

const alerts = new Alerts("alerts", { context, email: cfg.alarms.email }, withAws);

const network = new Network("network", {
    context,
    cidrBlock: cfg.network.cidr,
    availabilityZoneCount: cfg.network.availabilityZones,
    natGateways: cfg.network.natGateways,
    subnetMasks: cfg.network.subnetMasks,
    interfaceEndpoints: cfg.network.interfaceEndpoints,
    flowLogs: cfg.network.flowLogs,
    tags,
}, withAws);

const gitlabCfg = cfg.gitlab;
const ebsGitaly = gitlabCfg.topology === "split" && gitlabCfg.gitaly.storage === "ebs" ? gitlabCfg.gitaly : undefined;

// The cluster's logical name; the Gitaly host needs its physical name before the cluster exists.
const CLUSTER = "cluster";

// Gitaly's EC2 capacity exists before the cluster: the cluster's one list of
// capacity providers must name it. Its AZ is the one its volume lives in.
function gitalyHostFor(gitaly: NonNullable<typeof ebsGitaly>): GitalyHost {
    const subnetId = network.privateSubnetIds.apply((ids) => ids[gitaly.availabilityZone]);
    return new GitalyHost("gitaly", {
        context,
        vpcId: network.vpcId,
        subnetId,
        availabilityZone: aws.ec2.getSubnetOutput({ id: subnetId }, { provider }).availabilityZone,
        clusterName: clusterPhysicalName(naming, CLUSTER),
        instanceType: gitaly.instanceType,
        cpuArchitecture,
        volume: gitaly.volume,
        // An hour after the archive, as for EFS in the single topology.
        backup: { schedule: dailyTime(gitlabCfg.backup.time, gitlabCfg.backup.timezone, 60), retentionDays: gitlabCfg.backup.retentionDays },
        alarmTopicArn: alerts.topicArn,
    }, withAws);
}
const gitalyHost = ebsGitaly ? gitalyHostFor(ebsGitaly) : undefined;

const cluster = new Cluster(CLUSTER, {
    context,
    containerInsights: cfg.cluster.containerInsights,
    spot: cfg.cluster.fargateSpot,
    ec2CapacityProviders: gitalyHost ? [gitalyHost.capacityProviderName] : [],
}, withAws);

const imageDefaults = {
    context,
    platform: cfg.images.platform,
    keepTaggedImages: cfg.images.keepTaggedImages,
};

// Each image is built from its folder's export at that commit (fixed modes and
// times), never the checkout: the same commit is the same build on every machine.
// With images.promoteFrom (prod) they are the source stack's images, by digest, never built here.
const gitlabImage = new EcrImage("gitlab", { ...imageDefaults, promoteFrom: cfg.images.promoteFrom, buildContext: exportContext("gitlab", gitlabSource), tag: gitlabSource.tag, cacheFromTag: gitlabSource.cacheFromTag }, withAws);
const appImage = new EcrImage("app", {
    ...imageDefaults,
    promoteFrom: cfg.images.promoteFrom,
    buildContext: exportContext("app", appSource),
    tag: appSource.tag,
    cacheFromTag: appSource.cacheFromTag,
    // Functions of the folder's commit, so the tag still names every input.
    buildArgs: { GIT_COMMIT_SHA: appSource.commit, BUILD_TIME: appSource.commitTime },
}, withAws);

const loadBalancer = new PublicLoadBalancer("public", {
    context,
    vpcId: network.vpcId,
    subnetIds: network.publicSubnetIds,
    securityGroupId: network.loadBalancerSecurityGroupId,
    zoneName: cfg.dns.zoneName,
    hostNames: [cfg.app.hostName, cfg.gitlab.hostName, cfg.gitlab.registryHostName],
    // The SSH name points at GitLab's NLB, not the ALB; the certificate still names it.
    certificateOnlyHostNames: [cfg.gitlab.sshHostName],
    certificateArn: cfg.dns.certificateArn,
    deletionProtection: cfg.loadBalancer.deletionProtection,
    desyncMitigation: cfg.loadBalancer.desyncMitigation,
    accessLogDays: cfg.loadBalancer.accessLogDays,
    idleTimeout: cfg.loadBalancer.idleTimeout,
    waf: cfg.loadBalancer.waf.enabled
        ? { rateLimitPer5Minutes: cfg.loadBalancer.waf.rateLimitPer5Minutes, exemptHostNames: [cfg.gitlab.hostName, cfg.gitlab.registryHostName] }
        : undefined,
}, withAws);

// What every service behind the ALB is alarmed on (the app adds its latency).
const serviceAlarms = {
    topicArn: alerts.topicArn,
    http5xxPercent: cfg.alarms.http5xxPercent,
    cpuPercent: cfg.alarms.cpuPercent,
    memoryPercent: cfg.alarms.memoryPercent,
};

// What both databases share: isolated subnets, protection, logs, alarms.
const databaseDefaults = {
    context,
    vpcId: network.vpcId,
    subnetIds: network.isolatedSubnetIds,
    alarmTopicArn: alerts.topicArn,
};

const appDb = new Database("app-db", {
    ...databaseDefaults,
    // RDS identifiers are at most 63 characters.
    identifier: physicalName(naming, "app", 63),
    ...cfg.database,
}, withAws);

const app = new DjangoService("app", {
    context,
    cluster: cluster.ref,
    vpcId: network.vpcId,
    subnetIds: network.privateSubnetIds,
    loadBalancer,
    hostName: cfg.app.hostName,
    listenerPriority: 100,
    image: appImage.ref,
    cpu: cfg.app.cpu,
    memory: cfg.app.memory,
    cpuArchitecture,
    port: cfg.app.port,
    healthCheckPath: cfg.app.healthCheckPath,
    desiredCount: cfg.app.desiredCount,
    minCount: cfg.app.minCount,
    maxCount: cfg.app.maxCount,
    spot: cfg.app.spot,
    deployment: cfg.app.deployment,
    autoscaling: cfg.app.autoscaling,
    database: appDb.endpoint,
    alarms: { ...serviceAlarms, p99LatencySeconds: cfg.alarms.p99LatencySeconds },
    accessLogs: { bucket: loadBalancer.accessLogBucket, prefix: "app-media/" },
    execCommand: cfg.app.execCommand,
    commitSha: appSource.commit,
}, withAws);

const gitlabDb = new Database("gitlab-db", {
    ...databaseDefaults,
    identifier: physicalName(naming, "gitlab", 63),
    ...gitlabCfg.database,
    // GitLab's own instance: its connection demand and blast radius stay off the app's.
    databaseName: "gitlabhq_production",
    // The master user: GitLab creates its extensions (amcheck, btree_gist, pg_trgm) itself, which needs rds_superuser.
    username: "gitlab",
    parameters: gitlabDatabaseParameters(gitlabCfg.database.instanceClass),
}, withAws);

const gitlab = new GitLab("gitlab", {
    context,
    cluster: cluster.ref,
    network: network.ref,
    loadBalancer,
    hostName: gitlabCfg.hostName,
    registryHostName: gitlabCfg.registryHostName,
    sshHostName: gitlabCfg.sshHostName,
    sshAllowedCidrs: gitlabCfg.ssh.allowedCidrs,
    listenerPriority: 200,
    image: gitlabImage.ref,
    topology: gitlabCfg.topology === "split"
        ? {
            kind: "split",
            web: gitlabCfg.web,
            sidekiq: gitlabCfg.sidekiq,
            gitaly: {
                cpu: gitlabCfg.gitaly.cpu,
                memory: gitlabCfg.gitaly.memory,
                storage: gitalyHost ? gitalyHost.storage : { kind: "efs" },
            },
            redis: gitlabCfg.redis,
        }
        : { kind: "single", cpu: gitlabCfg.cpu, memory: gitlabCfg.memory, holdForRestore: gitlabCfg.holdForRestore },
    ephemeralStorageGb: gitlabCfg.ephemeralStorageGb,
    cpuArchitecture,
    spot: gitlabCfg.spot,
    execCommand: gitlabCfg.execCommand,
    database: gitlabDb.endpoint,
    registryDatabase: gitlabCfg.registryDatabase,
    efsThroughputMode: gitlabCfg.efs.throughputMode,
    backup: {
        time: dailyTime(gitlabCfg.backup.time, gitlabCfg.backup.timezone),
        // An hour after the archive, so the two do not compete for the repositories.
        fileSystemTime: dailyTime(gitlabCfg.backup.time, gitlabCfg.backup.timezone, 60),
        retentionDays: gitlabCfg.backup.retentionDays,
    },
    oidc: gitlabCfg.oidc,
    // SES verifies the stack's zone; its DKIM records go there.
    email: gitlabCfg.email.provider === "ses" ? { ...gitlabCfg.email, domain: cfg.dns.zoneName, zoneId: loadBalancer.zoneId } : gitlabCfg.email,
    alarms: serviceAlarms,
    deletionProtection: cfg.loadBalancer.deletionProtection,
    accessLogs: { bucket: loadBalancer.accessLogBucket, prefix: "gitlab/" },
}, withAws);

// A self-hosted GitLab Runner with autoscaled EC2 workers (platform:runner). The
// manager image is x86_64 whatever images.platform says: small, on plain FARGATE.
// Its image, like the runner, exists only where a runner is enabled.
function selfHostedRunner(r: Pick<GitLabRunnerArgs, "workers" | "warmPool" | "dockerHubCache">): GitLabRunner {
    const source = imageSource("runner", "amd64", realGit);
    const image = new EcrImage("runner", { ...imageDefaults, platform: "linux/amd64", buildContext: exportContext("runner", source), tag: source.tag, cacheFromTag: source.cacheFromTag }, withAws);
    return new GitLabRunner("runner", {
        context,
        cluster: cluster.ref,
        vpcId: network.vpcId,
        privateSubnetIds: network.privateSubnetIds,
        image: image.ref,
        gitlabUrl: `https://${gitlabCfg.hostName}`,
        ...r,
        alarmTopicArn: alerts.topicArn,
        accessLogs: { bucket: loadBalancer.accessLogBucket, prefix: "runner-cache/" },
    }, withAws);
}
const runnerCfg = cfg.runner.enabled ? cfg.runner : undefined;
const runner = runnerCfg ? selfHostedRunner({ workers: runnerCfg, warmPool: runnerCfg.warmPool, dockerHubCache: runnerCfg.dockerHubCache }) : undefined;

// Every bucket of the stack's: CI may configure these, and only these.
const stackBuckets = pulumi
    .all([loadBalancer.accessLogBucket, app.bucketName, ...(runner ? [runner.cacheBucket] : [])])
    .apply((names) => names.map((n) => `arn:aws:s3:::${n}`))
    .apply((arns) => gitlab.bucketArns.apply((g) => [...arns, ...g]));
// The identity GitLab CI previews and deploys this stack with (platform:ci).
const ciCfg = cfg.ci;
const ci = ciCfg.enabled
    ? new DeployIdentity("ci", {
        gitlabUrl: ciCfg.gitlabUrl,
        projectPath: ciCfg.projectPath,
        oidcProvider: ciCfg.oidcProvider,
        oidcProviderSharedWith: ciCfg.oidcProviderSharedWith,
        deployBranches: ciCfg.deployBranches,
        previewBranches: ciCfg.previewBranches,
        refProtectedInSub: ciCfg.refProtectedInSub,
        recordNames: [cfg.app.hostName, gitlabCfg.hostName, gitlabCfg.registryHostName, gitlabCfg.sshHostName],
        stateBucket: ciCfg.stateBucket,
        secretsKeyAlias: ciCfg.secretsKeyAlias,
        promoteFrom: cfg.images.promoteFrom,
        bucketArns: stackBuckets,
        volumeOnAccountDefaultKey: ebsGitaly?.volume.encryptionKey === "accountDefault",
        context,
    }, withAws)
    : undefined;

// One CloudWatch dashboard for the stack (platform:dashboard). The connection
// graphs mark the budgets the config schema checks: the app's tasks plus the
// reserve, GitLab's whole demand (config/sections/gitlabBudget.ts).
const gitlabFleet = gitlabFleets(gitlabCfg);
const dashboard = new Dashboard("overview", {
    context,
    network,
    cluster,
    loadBalancer,
    app,
    databases: [
        { label: "App", database: appDb, connectionBudget: app.peakConnections + RESERVED_CONNECTIONS },
        ...(gitlabFleet ? [{ label: "GitLab", database: gitlabDb, connectionBudget: connectionDemand(gitlabFleet, DEPLOY_MAXIMUM_PERCENT[gitlabCfg.topology]).need }] : []),
    ],
    gitlab,
    gitalyHost,
}, withAws);

// --- stack outputs: what operators, runbooks and CI read (`pulumi stack output`).
// The commit this deploy applies: the next deploy refuses to go back behind it (ci/ancestry.ts).
export const deployedSha = deployedCommit(process.env.CI_COMMIT_SHA, realGit);
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
export const appImageTag = appSource.tag;
export const gitlabImageTag = gitlabSource.tag;
export const appUrl = app.url;
export const albDnsName = loadBalancer.dnsName;
export const albAccessLogBucket = loadBalancer.accessLogBucket;
export const appServiceName = app.serviceName;
export const appListenerRuleArn = app.listenerRuleArn;
export const appLogGroup = app.logGroupName;
export const appMediaBucket = app.bucketName;
export const appDatabaseEndpoint = pulumi.interpolate`${appDb.address}:${appDb.port}`;
export const alarmTopicArn = alerts.topicArn;
export const gitlabUrl = gitlab.url;
export const gitlabRegistryUrl = gitlab.registryUrl;
export const gitlabSshHost = gitlab.sshHost;
export const gitlabServiceName = gitlab.serviceName;
export const gitlabLogGroup = gitlab.logGroupName;
export const gitlabBackupLogGroup = gitlab.backupLogGroupName;
export const gitlabFileSystemId = gitlab.fileSystemId;
export const gitlabBackupBucket = gitlab.backupBucket;
export const gitlabRootPasswordSecretArn = gitlab.rootPasswordSecretArn;
// The app's first superuser (JSON keys username, password), created once by its migrate step.
export const appAdminPasswordSecretArn = app.adminPasswordSecretArn;
export const gitlabDatabaseEndpoint = pulumi.interpolate`${gitlabDb.address}:${gitlabDb.port}`;
// Split topology with Gitaly on EBS: what the restore and patch procedures name (docs/operations/az-outage.md, docs/operations/gitaly-host-patching.md).
export const gitlabGitalyVolumeId = gitalyHost?.volumeId;
export const gitlabGitalyAutoScalingGroup = gitalyHost?.autoScalingGroupName;
export const runnerTokenSecretArn = runner?.tokenSecretArn;
export const runnerWorkerGroup = runner?.autoScalingGroupName;
export const deployRunnerTokenSecretArn = runner?.deployTokenSecretArn;
export const deployRunnerWorkerGroup = runner?.deployAutoScalingGroupName;
// The Docker Hub token's secret, and the value of the CI/CD variable DOCKER_HUB_MIRROR (docs/decisions/runner.md).
export const dockerHubCredentialSecretArn = runner?.dockerHubCredentialArn;
export const dockerHubMirror = runner?.dockerHubMirror;
export const ciOidcProviderArn = ci?.oidcProviderArn;
export const ciDeployRoleArn = ci?.deployRoleArn;
export const ciPreviewRoleArn = ci?.previewRoleArn;
// The stack's CloudWatch dashboard in the console.
export const dashboardUrl = dashboard.url;
