import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { taskRoles } from "../../aws/ecsTask";
import { logGroup } from "../../aws/logs";
import { allowAllEgress, allowPortFrom } from "../../aws/securityGroups";
import { allowDatabaseClient } from "../database";
import { GITLAB_PORTS } from "./gitlabRb";
import { gitlabRedis } from "./redis";
import { RAILS_SECRETS } from "./secrets";
import { splitGitaly } from "./splitGitaly";
import { sidekiqTier, splitMigrations, webTier } from "./splitTiers";
import { Entry, GitLabArgs, GitLabKit, LateSecrets, RoleExtras, SecretName, SplitArgs, SplitNetwork, SplitRole, SplitTiers, Topology } from "./types";

/** Each role's secrets: exactly what its rendered config and the entrypoint read. */
const SPLIT_RAILS_SECRETS: readonly SecretName[] = [...RAILS_SECRETS, "databasePassword", "redisPassword"];
export const ROLE_SECRETS = {
    web: [
        ...SPLIT_RAILS_SECRETS,
        "registryHttpSecret",
        "registryInternalKey",
        "registryInternalCertificate",
        "registryDatabasePassword",
        "sshHostRsaKey",
        "sshHostEcdsaKey",
        "sshHostEd25519Key",
    ],
    sidekiq: [...SPLIT_RAILS_SECRETS, "registryInternalKey"],
    // The registry's database password: the migration task creates its role and migrates it.
    migrate: [...SPLIT_RAILS_SECRETS, "rootPassword", "registryDatabasePassword"],
    gitaly: ["gitalyToken", "shellSecretToken"],
} as const satisfies Record<SplitRole, readonly SecretName[]>;

/** A split resource's name: `<name>-<tier>`. */
function tierName(name: string): (t: string) => string {
    return (t) => `${name}-${t}`;
}

/**
 * The split topology: web and Sidekiq tiers on Fargate that autoscale, one
 * Gitaly (an EC2 instance with an EBS volume, or a Fargate task on EFS),
 * ElastiCache, and migrations run once per deploy between them.
 *
 * What `pulumi up` does on a new image (dependsOn below): Gitaly rolls first
 * (servers before clients); then the migration task runs the regular
 * migrations (SKIP_POST_DEPLOYMENT_MIGRATIONS); only if it exits 0 do Sidekiq
 * and web roll, and once both are steady on the new version the
 * post-deployment migrations run. A failed migration fails the update there:
 * the old web and Sidekiq tasks keep serving (GitLab's regular migrations are
 * written to work with the previous version), nothing new takes traffic, and
 * the next `pulumi up` runs the migration again.
 */
export function splitTopology(kit: GitLabKit, a: GitLabArgs, s: SplitArgs, entry: Entry): Topology {
    const { name, parent } = kit;
    const tier = tierName(name);
    const webSg = entry.frontSecurityGroup;
    const net = splitNetwork(kit, a, entry);

    const redis = gitlabRedis(
        tier("redis"),
        {
            vpcId: a.network.vpcId,
            subnetIds: a.network.subnetIds.isolated,
            clients: [
                { name: "web", securityGroupId: webSg.id },
                { name: "sidekiq", securityGroupId: net.sidekiqSg.id },
                { name: "migrate", securityGroupId: net.migrateSg.id },
            ],
            ...s.redis,
            logRetentionDays: a.context.logRetentionDays,
            alarmTopicArn: a.alarms.topicArn,
            protect: a.context.protect,
            naming: a.context.naming,
        },
        parent,
    );
    const others: LateSecrets = { redisPassword: redis.password };

    // --- private names: Gitaly for every Rails task (and Gitaly itself), the web tier for Gitaly's hooks and Sidekiq.
    const gitalyDns = kit.discovery("gitaly-dns", "gitaly");
    const webDns = kit.discovery("web-dns", "web");
    const gitalyAddress = pulumi.interpolate`gitaly.${kit.namespace.name}:${GITLAB_PORTS.gitaly}`;
    const webHost = pulumi.interpolate`web.${kit.namespace.name}`;
    const extras: pulumi.Output<RoleExtras> = pulumi.all([gitalyAddress, redis.host, webHost]).apply(([gitalyHost, redisHost, web]) => ({
        gitalyHost,
        redis: { host: redisHost, port: redis.port },
        internalApiUrl: `http://${web}`,
        registryApiUrl: `http://${web}:${GITLAB_PORTS.registry}`,
    }));
    const tiers = splitTiers(kit, a, s, extras, others);

    const gitaly = splitGitaly(tiers, net, gitalyDns);
    const migration = splitMigrations(tiers, net.migrateSg);
    // Gitaly first (servers before clients), and whatever the migration task reaches.
    const migrate = migration("migrate", [gitaly], [redis.group, ...net.migrateRules]);
    const web = webTier(tiers, entry, webDns, [migrate, ...entry.listeners, ...entry.frontRules, ...net.webRules]);
    const sidekiq = sidekiqTier(tiers, net.sidekiqSg, [migrate, ...net.sidekiqRules]);
    // --- post-deployment migrations, once every tier runs the new version
    migration("post-migrate", [web, sidekiq]);

    return { frontService: web.service, logGroupName: web.logGroupName, gitalyAddress, fileSystemId: gitaly.fileSystemId, backupVaultName: gitaly.backupVaultName, sidekiqService: sidekiq.service, redisGroup: redis.group };
}

/**
 * Who reaches whom: Gitaly from every Rails task and itself; the web tier from
 * Gitaly (its hooks call the internal API) and from Sidekiq (the registry's API).
 */
function splitNetwork(kit: GitLabKit, a: GitLabArgs, entry: Entry): SplitNetwork {
    const { name, parent } = kit;
    const tier = tierName(name);
    const webSg = entry.frontSecurityGroup;
    const group = (t: string, what: string) => new aws.ec2.SecurityGroup(tier(t), { vpcId: a.network.vpcId, description: `${name}: ${what}` }, parent);
    const gitalySg = group("gitaly", "Gitaly (8075 from GitLab's tasks only)");
    const sidekiqSg = group("sidekiq", "the Sidekiq tier");
    const migrateSg = group("migrate", "the migration task");

    const gitalyClients = { web: webSg, sidekiq: sidekiqSg, migrate: migrateSg, backup: entry.backupSecurityGroup, gitaly: gitalySg };
    const gitalyRules = Object.entries(gitalyClients).map(([client, sg]) =>
        allowPortFrom(`${tier("gitaly")}-from-${client}`, { securityGroupId: gitalySg.id, sourceSecurityGroupId: sg.id, port: GITLAB_PORTS.gitaly, description: `${client} to Gitaly` }, parent),
    );
    const webRules = [
        allowPortFrom(`${tier("web")}-from-gitaly`, { securityGroupId: webSg.id, sourceSecurityGroupId: gitalySg.id, port: GITLAB_PORTS.http, description: "Gitaly hooks to the internal API" }, parent),
        allowPortFrom(`${tier("web")}-registry-from-sidekiq`, { securityGroupId: webSg.id, sourceSecurityGroupId: sidekiqSg.id, port: GITLAB_PORTS.registry, description: "Sidekiq to the registry API" }, parent),
    ];
    const outOf = (t: string, sg: aws.ec2.SecurityGroup) => allowAllEgress(`${tier(t)}-out`, sg.id, parent);
    const sidekiqRules = [outOf("sidekiq", sidekiqSg), allowDatabaseClient(`${tier("sidekiq")}-to-db`, a.database.securityGroupId, sidekiqSg.id, parent)];
    const migrateRules = [outOf("migrate", migrateSg), allowDatabaseClient(`${tier("migrate")}-to-db`, a.database.securityGroupId, migrateSg.id, parent)];
    const gitalyOut = outOf("gitaly", gitalySg);
    return { gitalySg, sidekiqSg, migrateSg, gitalyRules: [...gitalyRules, gitalyOut], webRules, sidekiqRules, migrateRules };
}

/** Logs, roles, containers and Fargate task definitions, one set per tier. */
function splitTiers(kit: GitLabKit, a: GitLabArgs, s: SplitArgs, extras: pulumi.Output<RoleExtras>, others: LateSecrets): SplitTiers {
    const { name, parent, physical } = kit;
    const tier = tierName(name);
    const secretsFor = (t: SplitRole): SecretName[] => [...ROLE_SECRETS[t], ...(t === "web" && a.oidc ? (["oidcClientSecret"] as const) : []), ...kit.mailSecrets(t)];
    const logs = (t: SplitRole) => logGroup(tier(t), { retentionInDays: a.context.logRetentionDays, naming: a.context.naming }, parent);
    const rolesFor: SplitTiers["rolesFor"] = (t, log, taskStatements, execCommand = a.execCommand) =>
        taskRoles(
            tier(t),
            {
                repositoryArns: a.image.repositoryArns,
                secretArns: kit.secretArnsOf(secretsFor(t), others),
                logGroupArn: log.arn,
                execCommand,
                accountId: a.context.accountId,
                naming: a.context.naming,
                taskStatements,
            },
            parent,
        );
    const container: SplitTiers["container"] = (t, size, log, rest) => ({
        ...kit.omnibus,
        name: t,
        environment: kit.environment(kit.config(t, size, extras), t),
        secrets: kit.secretsOf(secretsFor(t), others),
        // gitlab-ctl stop gets ECS's longest stop timeout.
        stopTimeout: 120,
        logConfiguration: kit.logConfig(log, t),
        ...rest,
    });
    const fargateTier: SplitTiers["fargateTier"] = (t, size, rest, execCommand = a.execCommand) => {
        const log = logs(t);
        const roles = rolesFor(t, log, kit.railsBucketStatements("GitLab", false), execCommand);
        const task = new aws.ecs.TaskDefinition(
            tier(t),
            {
                ...kit.fargateTask(size),
                family: `${physical}-${t}`,
                executionRoleArn: roles.executionRole.arn,
                taskRoleArn: roles.taskRole.arn,
                containerDefinitions: pulumi.jsonStringify([container(t, size, log, rest)]),
            },
            parent,
        );
        return { log, task };
    };
    return { kit, args: a, split: s, tier, logs, rolesFor, container, fargateTier };
}
