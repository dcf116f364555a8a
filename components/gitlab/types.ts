import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ServiceAlarms } from "../../aws/alarms";
import { DailyTime } from "../../aws/backupPlan";
import { AccessLogTarget } from "../../aws/bucket";
import { SecretSource, TaskRoles } from "../../aws/ecsTask";
import { PolicyStatement } from "../../aws/iam";
import { awslogs } from "../../aws/logs";
import { Naming } from "../../facts/naming";
import { StackContext } from "../../aws/context";
import type { ClusterRef } from "../cluster";
import type { DatabaseEndpoint } from "../database";
import type { ImageRef } from "../ecrImage";
import type { LoadBalancerRef } from "../loadBalancer";
import type { NetworkRef } from "../network";

/*
 * The package's shared vocabulary: every type more than one of its files
 * uses. It imports none of its siblings, so any file may import it without
 * an import cycle; the tables that go with these names (SECRET_ENV,
 * OBJECT_TYPES) live beside the code that uses them and are checked against
 * these types by the compiler.
 */

/**
 * What a task is. single: the whole of GitLab. backup: the daily backup job,
 * reaching Gitaly over TCP. migrate: the one place migrations run, in both
 * topologies. The split topology's tiers: web, sidekiq, gitaly.
 */
export type OmnibusRole = "single" | "backup" | "web" | "sidekiq" | "gitaly" | "migrate";

/** Every object type GitLab keeps in object storage here, one bucket each (storage.ts OBJECT_TYPES lists them in order; no Pages). */
export type ObjectType =
    | "artifacts"
    | "external_diffs"
    | "lfs"
    | "uploads"
    | "packages"
    | "dependency_proxy"
    | "terraform_state"
    | "ci_secure_files"
    | "agent_plan_content";

/** Secrets that live with what they protect (the database's, the OIDC client's, ElastiCache's), not in gitlabSecrets. */
export type ExternalSecret = "databasePassword" | "oidcClientSecret" | "redisPassword" | "smtpUserName" | "smtpPassword";

/** Secrets gitlabSecrets generates once and keeps in Secrets Manager. */
export type GeneratedSecret =
    | "secretKeyBase"
    | "dbKeyBase"
    | "otpKeyBase"
    | "encryptedSettingsKeyBase"
    | "openidConnectSigningKey"
    | "activeRecordPrimaryKey"
    | "activeRecordDeterministicKey"
    | "activeRecordKeyDerivationSalt"
    | "shellSecretToken"
    | "workhorseSecretToken"
    | "gitalyToken"
    | "registryHttpSecret"
    | "registryInternalKey"
    | "registryInternalCertificate"
    | "registryDatabasePassword"
    | "sshHostRsaKey"
    | "sshHostEcdsaKey"
    | "sshHostEd25519Key"
    | "rootPassword";

/** Every secret a GitLab task can receive, by what it is (secrets.ts SECRET_ENV names its environment variable). */
export type SecretName = GeneratedSecret | ExternalSecret;

/** One environment variable filled by ECS from a JSON key of a Secrets Manager secret. */
export type SecretRef = SecretSource & { readonly key: string };

export interface GitLabSecrets {
    /** Every generated secret, by what it is. */
    readonly refs: Record<GeneratedSecret, SecretRef>;
    /** The Secrets Manager secrets holding them (what the execution role may read). */
    readonly arns: pulumi.Output<string>[];
}

export interface GitLabBuckets {
    readonly objects: Record<ObjectType, aws.s3.Bucket>;
    readonly registry: aws.s3.Bucket;
    readonly backups: aws.s3.Bucket;
}

/** Config values only known once other resources exist (rendered inside an apply). */
export interface RoleExtras {
    /** Every role but single and gitaly: Gitaly's `host:port`. */
    readonly gitalyHost?: string;
    /** split Rails roles: ElastiCache's primary endpoint (TLS, auth token). */
    readonly redis?: { readonly host: string; readonly port: number };
    /** gitaly: the URL Gitaly's hooks call Rails at (the web tier's private name). */
    readonly internalApiUrl?: string;
    /** sidekiq: the registry's API inside the VPC (the web tier's registry port). */
    readonly registryApiUrl?: string;
}

/** A Fargate task's size, in ECS's CPU units and MiB. */
export interface TaskSize {
    readonly cpu: number;
    readonly memory: number;
}

/** single: one Omnibus task holds everything (repositories on EFS); `cpu` and `memory` size it. */
export interface SingleArgs extends TaskSize {
    readonly kind: "single";
    /** A restore's hold (gitlab.holdForRestore): no container check, and ECS ignores failed health checks for RESTORE_HOLD_SECONDS after the task starts. */
    readonly holdForRestore?: boolean;
}

/** One stateless tier: its Fargate size and its autoscaling range and targets. */
export interface TierArgs extends TaskSize {
    readonly minCount: number;
    readonly maxCount: number;
    readonly cpuTarget: number;
}

/** Gitaly on the EC2 host (gitalyHost.ts), reached through its capacity provider. */
export interface GitalyOnEbs {
    readonly kind: "ebs";
    readonly capacityProviderName: pulumi.Input<string>;
    readonly volumeId: pulumi.Input<string>;
    /** The host's subnet: the task's network interface must be in the volume's AZ. */
    readonly subnetId: pulumi.Input<string>;
}

/** split: web and Sidekiq tiers that autoscale, one Gitaly, ElastiCache, migrations once per deploy. */
export interface SplitArgs {
    readonly kind: "split";
    readonly web: TierArgs & { readonly memoryTarget: number };
    readonly sidekiq: TierArgs;
    readonly gitaly: TaskSize & { readonly storage: GitalyOnEbs | { readonly kind: "efs" } };
    readonly redis: { readonly engineVersion: string; readonly nodeType: string; readonly multiAz: boolean; readonly snapshotRetentionDays: number };
}

/** Who GitLab's mail is from. */
export interface MailSender {
    readonly from: string;
    readonly replyTo: string;
    readonly displayName: string;
}

/**
 * How GitLab sends mail (email.ts). ses: a domain identity for `domain` (the
 * stack's zone, `zoneId`) and SMTP credentials made here; smtp: another relay,
 * its password the whole value of an existing secret; none: mail off.
 */
export type GitLabEmail =
    | (MailSender & { readonly provider: "ses"; readonly domain: string; readonly zoneId: pulumi.Input<string> })
    | (MailSender & {
          readonly provider: "smtp";
          readonly address: string;
          readonly port: number;
          readonly tls: "starttls" | "tls";
          readonly domain: string;
          readonly userName: string;
          readonly passwordSecretArn: string;
          readonly authentication: "login" | "plain";
      })
    | { readonly provider: "none" };

/** What the rendered gitlab.rb says about mail (omnibusConfig.ts mail()); `smtp` absent: mail off. */
export interface MailSettings {
    readonly sender?: MailSender;
    readonly smtp?: {
        readonly address: string;
        readonly port: number;
        readonly tls: "starttls" | "tls";
        readonly domain: string;
        readonly authentication: "login" | "plain";
        /** A literal user name, or undefined: read from the smtpUserName secret (SES's access key id). */
        readonly userName?: string;
    };
}

export interface GitLabArgs {
    /** Region, account, naming, protection (prod: protect, version and keep the stateful parts) and log retention. */
    readonly context: StackContext;
    readonly cluster: ClusterRef;
    /**
     * The VPC (its CIDR: Omnibus's trusted proxies) and its tiers: private subnets for the
     * tasks and the EFS mount targets (one per AZ), isolated for ElastiCache (split),
     * public for the SSH load balancer.
     */
    readonly network: NetworkRef;
    /** The shared ALB: two host rules on its HTTPS listener (web and registry). */
    readonly loadBalancer: LoadBalancerRef;
    readonly hostName: string;
    readonly registryHostName: string;
    readonly sshHostName: string;
    /** Who may reach git over SSH. */
    readonly sshAllowedCidrs: readonly string[];
    /** The web rule's priority; the registry's is the next one. */
    readonly listenerPriority: number;
    /** The image by digest, and its repository (the execution role pulls only from it). */
    readonly image: ImageRef;
    /** How GitLab's processes are laid out, and what sizes them. */
    readonly topology: SingleArgs | SplitArgs;
    readonly ephemeralStorageGb: number;
    readonly cpuArchitecture: "X86_64" | "ARM64";
    /** FARGATE_SPOT (dev). */
    readonly spot: boolean;
    readonly execCommand: boolean;
    /** GitLab's own PostgreSQL (the shared Database component). */
    readonly database: DatabaseEndpoint;
    /** The registry's metadata database on that instance: in use (`on`), or created and configured but unused while an existing registry is imported. */
    readonly registryDatabase: "on" | "import";
    readonly efsThroughputMode: "elastic" | "bursting";
    readonly backup: {
        /** When the daily gitlab-backup runs. */
        readonly time: DailyTime;
        /** When AWS Backup copies the repository storage. */
        readonly fileSystemTime: DailyTime;
        /** Days archives and recovery points are kept. */
        readonly retentionDays: number;
    };
    readonly oidc?: {
        readonly issuer: string;
        readonly clientId: string;
        readonly clientSecretArn: string;
        readonly label: string;
        readonly blockAutoCreatedUsers: boolean;
    };
    /** Outgoing mail. */
    readonly email: GitLabEmail;
    readonly alarms: { readonly topicArn: pulumi.Input<string>; readonly http5xxPercent: number; readonly cpuPercent: number; readonly memoryPercent: number };
    /** Deletion protection on the SSH load balancer. */
    readonly deletionProtection: boolean;
    /** Where the buckets' S3 server access logs go. */
    readonly accessLogs: AccessLogTarget;
}

/** What a topology builder gives back to the component. */
export interface Topology {
    /** The service behind the ALB and NLB (single: the one task; split: the web tier). */
    readonly frontService: aws.ecs.Service;
    readonly logGroupName: pulumi.Output<string>;
    /** Gitaly as the backup task reaches it, `host:port`. */
    readonly gitalyAddress: pulumi.Output<string>;
    /** EFS, where repositories live on it (single, or split with gitaly.storage efs). */
    readonly fileSystemId?: pulumi.Output<string>;
    /** With repositories on EFS: the AWS Backup vault of the file system. */
    readonly backupVaultName?: pulumi.Output<string>;
    /** Split: the Sidekiq tier's service. */
    readonly sidekiqService?: aws.ecs.Service;
    /** Split: the Valkey replication group. */
    readonly redisGroup?: aws.elasticache.ReplicationGroup;
}

/** What the topology builders get besides the kit: the entry points every topology shares. */
export interface Entry {
    /** The security group of the tasks behind the ALB and NLB. */
    readonly frontSecurityGroup: aws.ec2.SecurityGroup;
    readonly backupSecurityGroup: aws.ec2.SecurityGroup;
    /** Rules the front tasks need before they start (ALB, NLB, egress, database). */
    readonly frontRules: pulumi.Resource[];
    readonly webTargetGroup: aws.lb.TargetGroup;
    readonly registryTargetGroup: aws.lb.TargetGroup;
    readonly sshTargetGroup: aws.lb.TargetGroup;
    /** The listener rules and the SSH listener: the front service registers only once they exist. */
    readonly listeners: pulumi.Resource[];
}

export interface FargateTaskBase {
    readonly cpu: string;
    readonly memory: string;
    readonly networkMode: "awsvpc";
    readonly requiresCompatibilities: string[];
    readonly runtimePlatform: { operatingSystemFamily: string; cpuArchitecture: string };
    readonly ephemeralStorage: { sizeInGib: number };
}

/** Secret sources built after the kit (ElastiCache's token), by secret. */
export type LateSecrets = Partial<Record<SecretName, SecretSource>>;

/**
 * What the GitLab component hands its topology builders (single.ts,
 * split.ts): the parts every task shares, built once, so each tier is the
 * same rendered configuration function and the same secrets, per role.
 */
export interface GitLabKit {
    readonly name: string;
    readonly physical: string;
    readonly parent: { readonly parent: pulumi.Resource };
    readonly naming: Naming;
    readonly region: string;
    readonly buckets: GitLabBuckets;
    readonly secrets: GitLabSecrets;
    readonly namespace: aws.servicediscovery.PrivateDnsNamespace;
    /**
     * The S3 rights of a Rails task: the object-type and registry buckets, and
     * the backup bucket where this task's own Gitaly writes repository backups
     * (the single task).
     */
    readonly railsBucketStatements: (sid: string, withBackups: boolean) => PolicyStatement[];
    /** A Cloud Map A record for one service's tasks (`<dnsName>.<namespace>`). */
    readonly discovery: (suffix: string, dnsName: string) => aws.servicediscovery.Service;
    /** GITLAB_OMNIBUS_CONFIG of a role, at a size, with what only exists later. */
    readonly config: (role: OmnibusRole, size: TaskSize, extras: pulumi.Input<RoleExtras> | { readonly gitalyHost: pulumi.Input<string> }) => pulumi.Output<string>;
    /**
     * ECS `secrets` for these names, and the Secrets Manager ARNs the execution
     * role must read for them; `others` supplies sources built later (ElastiCache's token).
     */
    readonly secretsOf: (names: readonly SecretName[], others?: LateSecrets) => pulumi.Output<{ name: string; valueFrom: string }[]>;
    readonly secretArnsOf: (names: readonly SecretName[], others?: LateSecrets) => pulumi.Input<string>[];
    /** The mail secrets a role's config reads (none where it sends no mail). */
    readonly mailSecrets: (role: OmnibusRole) => SecretName[];
    /** A container's environment: its config and the region, and for a role that migrates the registry what creates its database. */
    readonly environment: (config: pulumi.Input<string>, role?: OmnibusRole) => { name: string; value: pulumi.Input<string> }[];
    /** What every Omnibus container sets the same way. */
    readonly omnibus: { image: pulumi.Input<string>; essential: true; privileged: false; readonlyRootFilesystem: false; linuxParameters: { initProcessEnabled: true } };
    /** What every Fargate task definition of GitLab sets the same way (size apart). */
    readonly fargateTask: (size: TaskSize) => FargateTaskBase;
    readonly logConfig: (group: aws.cloudwatch.LogGroup, prefix: string) => ReturnType<typeof awslogs>;
    /** 5xx, unhealthy-host, CPU and memory alarms of the service behind the ALB (the single task, the web tier). */
    /** The front service's alarms; `slowStart`: its healthy-host floor (readiness.ts healthyFloor). */
    readonly frontAlarms: (name: string, serviceName: string, webTargetGroup: aws.lb.TargetGroup, slowStart: { readonly minHealthy: number; readonly periods: number }) => ServiceAlarms;
}

/** The split topology's tasks, each with its own security group, roles, secrets and log group. */
export type SplitRole = Extract<OmnibusRole, "web" | "sidekiq" | "migrate" | "gitaly">;

/** Who reaches whom in the split topology (split.ts): the tiers' security groups, and the rules each must wait for. */
export interface SplitNetwork {
    readonly gitalySg: aws.ec2.SecurityGroup;
    readonly sidekiqSg: aws.ec2.SecurityGroup;
    readonly migrateSg: aws.ec2.SecurityGroup;
    /** Gitaly from every client, and its egress. */
    readonly gitalyRules: pulumi.Resource[];
    /** The web tier from Gitaly's hooks and from Sidekiq. */
    readonly webRules: pulumi.Resource[];
    readonly sidekiqRules: pulumi.Resource[];
    readonly migrateRules: pulumi.Resource[];
}

/** What every split tier is built with (split.ts splitTiers), so each is one rendered config, one set of roles, one log group. */
export interface SplitTiers {
    readonly kit: GitLabKit;
    readonly args: GitLabArgs;
    /** The split topology's own Args (the tiers' sizes, Gitaly's storage, Redis). */
    readonly split: SplitArgs;
    /** A split resource's name: `<name>-<tier>`. */
    readonly tier: (t: string) => string;
    readonly logs: (t: SplitRole) => aws.cloudwatch.LogGroup;
    readonly rolesFor: (t: SplitRole, log: aws.cloudwatch.LogGroup, taskStatements: PolicyStatement[], execCommand?: boolean) => TaskRoles;
    /** A tier's container: the Omnibus basics, its role's config and secrets, and `rest`. */
    readonly container: (t: SplitRole, size: TaskSize, log: aws.cloudwatch.LogGroup, rest: Record<string, unknown>) => Record<string, unknown>;
    /** A Rails tier on Fargate: its log group, its roles (the object and registry buckets) and its task definition; the role is the tier's name. */
    readonly fargateTier: (t: Exclude<SplitRole, "gitaly">, size: TaskSize, rest: Record<string, unknown>, execCommand?: boolean) => { log: aws.cloudwatch.LogGroup; task: aws.ecs.TaskDefinition };
}
