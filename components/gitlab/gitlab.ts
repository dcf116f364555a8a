import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { physicalName } from "../../facts/naming";
import { httpTargetGroup } from "../../aws/targetGroup";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { allowDatabaseClient } from "../database";
import { gitlabBackup } from "./backup";
import { gitlabMail } from "./email";
import { GITLAB_HEALTH, gitlabKit } from "./kit";
import { GITLAB_PORTS } from "./gitlabRb";
import { READINESS_PATH } from "./readiness";
import { gitlabSecrets } from "./secrets";
import { singleTopology } from "./single";
import { splitTopology } from "./split";
import { sshEntry } from "./ssh";
import { gitlabBuckets } from "./storage";
import { Entry, GitLabArgs } from "./types";

/**
 * GitLab CE on ECS from the custom image in gitlab/, its configuration
 * rendered per role by omnibusConfig.ts, every secret generated once into
 * Secrets Manager, PostgreSQL on RDS, blobs and the registry in S3, HTTPS
 * through the shared ALB, git over SSH through an NLB, and a daily backup task.
 *
 * Two topologies share all of that (single.ts, split.ts): one Omnibus task
 * with its repositories on EFS, or web and Sidekiq tiers that autoscale in
 * front of exactly one Gitaly on block storage and ElastiCache.
 */
export class GitLab extends pulumi.ComponentResource {
    readonly url: string;
    readonly registryUrl: string;
    readonly sshHost: string;
    readonly serviceName: pulumi.Output<string>;
    readonly logGroupName: pulumi.Output<string>;
    readonly backupLogGroupName: pulumi.Output<string>;
    /** EFS, where the repositories live on it (absent for Gitaly on EBS). */
    readonly fileSystemId: pulumi.Output<string | undefined>;
    readonly taskSecurityGroupId: pulumi.Output<string>;
    readonly backupBucket: pulumi.Output<string>;
    /** Every bucket of GitLab's (objects, registry, backups), by ARN. */
    readonly bucketArns: pulumi.Output<string[]>;
    /** The Secrets Manager secret whose JSON key `password` is root's first password (the first sign-in). */
    readonly rootPasswordSecretArn: pulumi.Output<string>;
    /** The topology this stack runs: "split" has the Sidekiq tier and Valkey below. */
    readonly topology: "single" | "split";
    /** The web and registry target groups by ARN suffix: the TargetGroup dimension of ALB metrics. */
    readonly targetGroupArnSuffixes: { readonly web: pulumi.Output<string>; readonly registry: pulumi.Output<string> };
    /** With repositories on EFS: the AWS Backup vault of the file system (Gitaly on EBS: GitalyHost's). */
    readonly backupVaultName?: pulumi.Output<string>;
    /** Split: the Sidekiq tier's ECS service name. */
    readonly sidekiqServiceName?: pulumi.Output<string>;
    /** Split: the Valkey replication group's id and its member clusters (the CacheClusterId dimension of ElastiCache metrics). */
    readonly valkey?: { readonly replicationGroupId: pulumi.Output<string>; readonly cacheClusterIds: pulumi.Output<string[]> };

    constructor(name: string, args: GitLabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:gitlab:GitLab", name, {}, opts);
        const a = args;
        const parent = { parent: this };
        const physical = physicalName(a.context.naming, name);
        const single = a.topology.kind === "single";

        // --- network: web and registry from the ALB, SSH from the NLB; each topology adds Gitaly's rules.
        const sg = new aws.ec2.SecurityGroup(single ? `${name}-tasks` : `${name}-web`, { vpcId: a.network.vpcId, description: `${name}: ${single ? "the GitLab task" : "the web tier"}` }, parent);
        const backupSg = new aws.ec2.SecurityGroup(`${name}-backup-tasks`, { vpcId: a.network.vpcId, description: `${name}: the backup task` }, parent);
        const front = single ? name : `${name}-web`;
        const frontRules = [
            allowPortFrom(`${name}-web-from-alb`, { securityGroupId: sg.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: GITLAB_PORTS.http, description: "ALB to GitLab" }, parent),
            allowPortFrom(`${name}-registry-from-alb`, { securityGroupId: sg.id, sourceSecurityGroupId: a.loadBalancer.securityGroupId, port: GITLAB_PORTS.registry, description: "ALB to the registry" }, parent),
            allowAllEgress(single ? `${name}-tasks-out` : `${front}-out`, sg.id, parent),
            allowDatabaseClient(`${front}-to-db`, a.database.securityGroupId, sg.id, parent),
        ];
        const backupRules = [allowAllEgress(`${name}-backup-tasks-out`, backupSg.id, parent), allowDatabaseClient(`${name}-backup-to-db`, a.database.securityGroupId, backupSg.id, parent)];

        // --- data and secrets every topology shares
        const buckets = gitlabBuckets(name, { protect: a.context.protect, backupRetentionDays: a.backup.retentionDays, accessLogs: a.accessLogs }, parent);
        const secrets = gitlabSecrets(name, { protect: a.context.protect, naming: a.context.naming }, parent);
        const namespace = new aws.servicediscovery.PrivateDnsNamespace(`${name}-dns`, { name: `${a.context.naming.prefix}.internal`, vpc: a.network.vpcId, description: `${physical}: private names` }, parent);

        const mail = gitlabMail(name, a.context, a.email, a.hostName, parent);
        const kit = gitlabKit(this, name, physical, a, { buckets, secrets, namespace, mail });
        const entry = this.entry(name, a, sg, backupSg, frontRules);
        const topology = a.topology.kind === "single" ? singleTopology(kit, a, a.topology, entry) : splitTopology(kit, a, a.topology, entry);
        const backupLogs = gitlabBackup(kit, a, entry, topology.gitalyAddress, backupRules);

        this.url = `https://${a.hostName}`;
        this.registryUrl = `https://${a.registryHostName}`;
        this.sshHost = a.sshHostName;
        this.serviceName = topology.frontService.name;
        this.logGroupName = topology.logGroupName;
        this.backupLogGroupName = backupLogs.name;
        this.fileSystemId = topology.fileSystemId ?? pulumi.output(undefined);
        this.taskSecurityGroupId = sg.id;
        this.backupBucket = buckets.backups.bucket;
        this.bucketArns = pulumi.all([...Object.values(buckets.objects), buckets.registry, buckets.backups].map((b) => b.arn));
        this.rootPasswordSecretArn = pulumi.output(secrets.refs.rootPassword.arn);
        this.topology = a.topology.kind;
        this.targetGroupArnSuffixes = { web: entry.webTargetGroup.arnSuffix, registry: entry.registryTargetGroup.arnSuffix };
        this.sidekiqServiceName = topology.sidekiqService?.name;
        this.backupVaultName = topology.backupVaultName;
        this.valkey = topology.redisGroup ? { replicationGroupId: topology.redisGroup.replicationGroupId, cacheClusterIds: topology.redisGroup.memberClusters } : undefined;
        this.registerOutputs({
            url: this.url,
            registryUrl: this.registryUrl,
            sshHost: this.sshHost,
            serviceName: this.serviceName,
            logGroupName: this.logGroupName,
            backupLogGroupName: this.backupLogGroupName,
            fileSystemId: this.fileSystemId,
            taskSecurityGroupId: this.taskSecurityGroupId,
            backupBucket: this.backupBucket,
            bucketArns: this.bucketArns,
            rootPasswordSecretArn: this.rootPasswordSecretArn,
            targetGroupArnSuffixes: this.targetGroupArnSuffixes,
            sidekiqServiceName: this.sidekiqServiceName,
        });
    }

    /** Host rules on the shared ALB and SSH through an NLB: what the front tasks register with. */
    private entry(name: string, a: GitLabArgs, sg: aws.ec2.SecurityGroup, backupSg: aws.ec2.SecurityGroup, frontRules: pulumi.Resource[]): Entry {
        const parent = { parent: this };
        const targetGroup = (suffix: string, path: string, matcher: string) => httpTargetGroup(`${name}-${suffix}`, { vpcId: a.network.vpcId, path, matcher, health: GITLAB_HEALTH }, parent);
        const web = targetGroup("web", READINESS_PATH, "200");
        // The registry answers /v2/ with 401 until a client logs in: 401 means it is up.
        const registry = targetGroup("registry", "/v2/", "200,401");
        const hostRule = (suffix: string, host: string, priority: number, tg: aws.lb.TargetGroup) =>
            a.loadBalancer.route(`${name}-${suffix}`, { host, priority, targetGroups: [tg], live: tg }, this);
        const listenerRules = [hostRule("web", a.hostName, a.listenerPriority, web), hostRule("registry", a.registryHostName, a.listenerPriority + 1, registry)];
        const ssh = sshEntry(
            `${name}-ssh`,
            {
                vpcId: a.network.vpcId,
                subnetIds: a.network.subnetIds.public,
                allowedCidrs: a.sshAllowedCidrs,
                taskSecurityGroupId: sg.id,
                hostName: a.sshHostName,
                zoneId: a.loadBalancer.zoneId,
                deletionProtection: a.deletionProtection,
            },
            parent,
        );
        return {
            frontSecurityGroup: sg,
            backupSecurityGroup: backupSg,
            frontRules: [...frontRules, ...ssh.taskIngress],
            webTargetGroup: web,
            registryTargetGroup: registry,
            sshTargetGroup: ssh.targetGroup,
            listeners: [...listenerRules, ssh.listener],
        };
    }
}
