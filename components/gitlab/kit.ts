import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceAlarms } from "../../aws/alarms";
import { SecretSource, secretRefs } from "../../aws/ecsTask";
import { PolicyStatement } from "../../aws/iam";
import { awslogs } from "../../aws/logs";
import { HealthTiming } from "../../facts/rollout";
import { renderOmnibusConfig } from "./omnibusConfig";
import { migratesRegistry, REGISTRY_DATABASE } from "./registryConfig";
import { RDS_CA_BUNDLE } from "./gitlabRb";
import { GitLabMail } from "./email";
import { ExternalSecret, FargateTaskBase, GitLabArgs, GitLabBuckets, GitLabKit, GitLabSecrets, LateSecrets, ObjectType, RoleExtras, SecretName } from "./types";
import { isExternalSecret, SECRET_ENV } from "./secrets";
import { OBJECT_TYPES } from "./storage";

/** Target-group timing for GitLab: 15 s checks, healthy after 2, and at most 60 s of draining (long clones get a minute). */
export const GITLAB_HEALTH: HealthTiming = { intervalSeconds: 15, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 3, deregistrationDelaySeconds: 60 };

/**
 * What gitlab/entrypoint.sh reads to create the registry's role and database
 * before reconfigure migrates them: a libpq connection string for GitLab's
 * own (master) user, whose password is the task's database secret, and the
 * names to create.
 */
export const REGISTRY_SETUP_ENV = { admin: "PLATFORM_DB_ADMIN", database: "PLATFORM_REGISTRY_DB", user: "PLATFORM_REGISTRY_DB_USER" } as const;

function registryDatabaseSetup(a: GitLabArgs): { name: string; value: pulumi.Input<string> }[] {
    const d = a.database;
    return [
        { name: REGISTRY_SETUP_ENV.admin, value: pulumi.interpolate`host=${d.address} port=${d.port} dbname=${d.name} user=${d.username} sslmode=verify-full sslrootcert=${RDS_CA_BUNDLE}` },
        { name: REGISTRY_SETUP_ENV.database, value: REGISTRY_DATABASE.name },
        { name: REGISTRY_SETUP_ENV.user, value: REGISTRY_DATABASE.user },
    ];
}

/** What the kit is built from besides the component's arguments: the shared data, secrets and private names. */
export interface KitParts {
    readonly buckets: GitLabBuckets;
    readonly secrets: GitLabSecrets;
    readonly namespace: aws.servicediscovery.PrivateDnsNamespace;
    readonly mail: GitLabMail;
}

/** S3 rights on some buckets: these object actions, and listing. */
export function bucketStatements(sid: string, list: aws.s3.Bucket[], objectActions: string[]): PolicyStatement[] {
    return [
        { sid: `${sid}Objects`, actions: objectActions, resources: list.map((b) => pulumi.interpolate`${b.arn}/*`) },
        { sid: `${sid}Buckets`, actions: ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"], resources: list.map((b) => b.arn) },
    ];
}

/**
 * Where each secret comes from. The OIDC client secret is a whole secret
 * created outside, and only exists with `oidc`; the database's and
 * ElastiCache's live with them (ElastiCache's is built later: `others`);
 * every other one is a key of gitlabSecrets.
 */
function secretSources(a: GitLabArgs, secrets: GitLabSecrets, mail: GitLabMail): (n: SecretName, others: LateSecrets) => SecretSource {
    const outside: Partial<Record<ExternalSecret, SecretSource>> = {
        ...mail.sources,
        databasePassword: { arn: a.database.secretArn, key: "password" },
        ...(a.oidc ? { oidcClientSecret: { arn: a.oidc.clientSecretArn } } : {}),
    };
    return (n, others) => {
        const source = others[n] ?? (isExternalSecret(n) ? outside[n] : secrets.refs[n]);
        if (!source) {
            throw new Error(`${n} has no source here (redisPassword comes from ElastiCache: pass it; oidcClientSecret needs oidc)`);
        }
        return source;
    };
}

/** GITLAB_OMNIBUS_CONFIG of a role, rendered once every resource it names exists. */
function roleConfig(a: GitLabArgs, buckets: GitLabBuckets, mail: GitLabMail): GitLabKit["config"] {
    return (role, size, extras) =>
        pulumi
            .all([
                a.network.cidrBlock,
                a.database.address,
                a.database.port,
                buckets.registry.bucket,
                buckets.backups.bucket,
                pulumi.all(OBJECT_TYPES.map((t) => buckets.objects[t].bucket)),
                pulumi.output(extras),
            ])
            .apply(([vpcCidr, dbHost, dbPort, registry, backups, objects, more]) =>
                renderOmnibusConfig({
                    role,
                    hostName: a.hostName,
                    registryHostName: a.registryHostName,
                    sshHostName: a.sshHostName,
                    vpcCidr,
                    loadBalancerIdleTimeout: a.loadBalancer.idleTimeout,
                    region: a.context.region,
                    database: { host: dbHost, port: dbPort, name: a.database.name, username: a.database.username },
                    registryDatabase: a.registryDatabase,
                    buckets: { objects: Object.fromEntries(OBJECT_TYPES.map((t, i) => [t, objects[i]])) as Record<ObjectType, string>, registry, backups },
                    cpu: size.cpu,
                    memory: size.memory,
                    oidc: a.oidc,
                    mail: mail.settings,
                    ...(more as RoleExtras),
                }),
            );
}

/** The shared parts of every task of the GitLab component `parent`, closed over its arguments. */
export function gitlabKit(parent: pulumi.Resource, name: string, physical: string, a: GitLabArgs, { buckets, secrets, namespace, mail }: KitParts): GitLabKit {
    const opts = { parent };
    const railsBuckets = [...OBJECT_TYPES.map((t) => buckets.objects[t]), buckets.registry];
    const objectRw = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
    const sourceOf = secretSources(a, secrets, mail);
    return {
        name,
        physical,
        parent: opts,
        naming: a.context.naming,
        region: a.context.region,
        buckets,
        secrets,
        namespace,
        railsBucketStatements: (sid, withBackups) => bucketStatements(sid, withBackups ? [...railsBuckets, buckets.backups] : railsBuckets, objectRw),
        discovery: (suffix, dnsName) =>
            new aws.servicediscovery.Service(
                `${name}-${suffix}`,
                {
                    name: dnsName,
                    dnsConfig: { namespaceId: namespace.id, dnsRecords: [{ type: "A", ttl: 10 }], routingPolicy: "MULTIVALUE" },
                    // ECS reports the tasks' health to Cloud Map.
                    healthCheckCustomConfig: {},
                    forceDestroy: true,
                },
                opts,
            ),
        config: roleConfig(a, buckets, mail),
        secretsOf: (names, others = {}) => secretRefs(Object.fromEntries(names.map((n) => [SECRET_ENV[n], sourceOf(n, others)]))),
        secretArnsOf: (names, others = {}) => [...new Set(names.map((n) => sourceOf(n, others).arn))],
        mailSecrets: mail.secretsOf,
        environment: (config, role) => [
            { name: "GITLAB_OMNIBUS_CONFIG", value: config },
            { name: "AWS_REGION", value: a.context.region },
            { name: "AWS_DEFAULT_REGION", value: a.context.region },
            ...(role && migratesRegistry(role) ? registryDatabaseSetup(a) : []),
        ],
        // Omnibus writes /etc/gitlab, /var/opt/gitlab, /var/log/gitlab and /run at every
        // start and runs its services as root and as git: no read-only root and no
        // non-root user are possible (Security Hub ECS.5 waiver, docs/decisions/policy.md).
        omnibus: { image: a.image.image, essential: true, privileged: false, readonlyRootFilesystem: false, linuxParameters: { initProcessEnabled: true } },
        fargateTask: (size): FargateTaskBase => ({
            cpu: String(size.cpu),
            memory: String(size.memory),
            networkMode: "awsvpc",
            requiresCompatibilities: ["FARGATE"],
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture },
            // Logs, temp files and the backup archive before upload live on the task's own disk.
            ephemeralStorage: { sizeInGib: a.ephemeralStorageGb },
        }),
        logConfig: (group, prefix) => awslogs(group.name, a.context.region, prefix),
        frontAlarms: (alarmName, serviceName, webTargetGroup, slowStart) =>
            serviceAlarms(
                alarmName,
                {
                    topicArn: a.alarms.topicArn,
                    clusterName: a.cluster.name,
                    serviceName,
                    loadBalancerArnSuffix: a.loadBalancer.arnSuffix,
                    targetGroupArnSuffixes: [webTargetGroup.arnSuffix],
                    http5xxPercent: a.alarms.http5xxPercent,
                    cpuPercent: a.alarms.cpuPercent,
                    memoryPercent: a.alarms.memoryPercent,
                    // Tasks take minutes to become ready (readiness.ts): judged by ready targets only.
                    slowStart,
                },
                opts,
            ),
    };
}
