import { backendKeepAliveSeconds } from "../../facts/rollout";
import { env, envRefs, RubyValue, rubyLiteral, sym } from "./ruby";
import { GITLAB_PORTS, RDS_CA_BUNDLE, s, secret, Setting } from "./gitlabRb";
import { registry, registryMigrations } from "./registryConfig";
import { PUMA_MAX_THREADS, railsProcesses } from "./processSizing";
import { OBJECT_TYPES } from "./storage";
import { mail } from "./mailConfig";
import { MailSettings, ObjectType, OmnibusRole, RoleExtras } from "./types";

/**
 * GITLAB_OMNIBUS_CONFIG as a pure function of typed arguments. The image's
 * /assets/gitlab.rb evaluates it before /etc/gitlab/gitlab.rb (which stays
 * empty here). Secrets appear only as `ENV.fetch('...')`, filled by ECS
 * `secrets` when the task starts; nothing secret is in the rendered text.
 * Every key path is checked against omnibus-gitlab's documented keys
 * (omnibusKeys.ts) by the tests, which also evaluate the text in Ruby.
 */

/** Where Omnibus keeps repositories (its default Gitaly storage), and so where EFS is mounted. */
export const REPOSITORY_ROOT = "/var/opt/gitlab/git-data";

/** Sidekiq's health-check port (Omnibus's default), answered on loopback for the container check. */
export const SIDEKIQ_HEALTH_PORT = 8092;

/**
 * Seconds Sidekiq lets running jobs finish after SIGTERM (unfinished ones go
 * back to Redis). Sidekiq kills 5 s later, and `gitlab-ctl stop` waits 30 s
 * per service (SVWAIT): 25 + 5 fits it, and ECS's 120 s stop timeout.
 */
export const SIDEKIQ_SHUTDOWN_SECONDS = 25;

/** RoleExtras (types.ts): Gitaly's address, Redis and the web tier's URLs, where a role needs them. */
export interface OmnibusConfigArgs extends RoleExtras {
    readonly role: OmnibusRole;
    readonly hostName: string;
    readonly registryHostName: string;
    readonly sshHostName: string;
    /** The VPC CIDR: the ALB and NLB reach the task from inside it. */
    readonly vpcCidr: string;
    /** The ALB's idle timeout in seconds: NGINX keeps the ALB's idle connections open longer. */
    readonly loadBalancerIdleTimeout: number;
    readonly region: string;
    readonly database: { readonly host: string; readonly port: number; readonly name: string; readonly username: string };
    /** The registry's metadata database: used, or configured but unused (an import). */
    readonly registryDatabase: "on" | "import";
    readonly buckets: { readonly objects: Readonly<Record<ObjectType, string>>; readonly registry: string; readonly backups: string };
    /** Fargate size: Puma workers and Sidekiq threads follow it. */
    readonly cpu: number;
    readonly memory: number;
    readonly oidc?: { readonly issuer: string; readonly clientId: string; readonly label: string; readonly blockAutoCreatedUsers: boolean };
    readonly mail?: MailSettings;
}

/** Who GitLab is: its URLs and the SSH host it shows in clone URLs. */
function identity(a: OmnibusConfigArgs): Setting[] {
    return [
        { call: "external_url", value: `https://${a.hostName}` },
        s(["letsencrypt", "enable"], false),
        s(["gitlab_rails", "gitlab_ssh_host"], a.sshHostName),
        s(["gitlab_rails", "gitlab_shell_ssh_port"], GITLAB_PORTS.ssh),
        s(["gitlab_rails", "time_zone"], "UTC"),
    ];
}

/** What every Rails process needs: database, object storage, backups and the secrets every task must share. */
function rails(a: OmnibusConfigArgs): Setting[] {
    const awsConnection = { provider: "AWS", region: a.region, use_iam_profile: true };
    return [
        // External PostgreSQL, verified against the RDS CA bundle.
        s(["postgresql", "enable"], false),
        // The client tools (pg_dump for backups) must match the server's major version.
        s(["postgresql", "version"], 17),
        s(["gitlab_rails", "db_adapter"], "postgresql"),
        s(["gitlab_rails", "db_encoding"], "unicode"),
        s(["gitlab_rails", "db_host"], a.database.host),
        s(["gitlab_rails", "db_port"], a.database.port),
        s(["gitlab_rails", "db_database"], a.database.name),
        s(["gitlab_rails", "db_username"], a.database.username),
        s(["gitlab_rails", "db_password"], secret("databasePassword")),
        s(["gitlab_rails", "db_sslmode"], "verify-full"),
        s(["gitlab_rails", "db_sslrootcert"], RDS_CA_BUNDLE),

        // Every object type in its own bucket, reached with the task role. The buckets
        // encrypt by default (SSE-KMS); the option makes every upload ask for it too.
        s(["gitlab_rails", "object_store", "enabled"], true),
        s(["gitlab_rails", "object_store", "proxy_download"], false),
        s(["gitlab_rails", "object_store", "connection"], awsConnection),
        s(["gitlab_rails", "object_store", "storage_options"], { server_side_encryption: "aws:kms" }),
        ...OBJECT_TYPES.map((t) => s(["gitlab_rails", "object_store", "objects", t, "bucket"], a.buckets.objects[t])),
        // Merge request diffs in their bucket rather than PostgreSQL, where they are most of
        // the database's growth. Only outdated ones (older versions, closed and merged MRs):
        // the current diff of an open MR, read on every view, stays one query away
        // (GitLab's "merge request diffs storage" compromise).
        s(["gitlab_rails", "external_diffs_enabled"], true),
        s(["gitlab_rails", "external_diffs_when"], "outdated"),

        // Backup archives go to their bucket, encrypted.
        s(["gitlab_rails", "backup_upload_connection"], awsConnection),
        s(["gitlab_rails", "backup_upload_remote_directory"], a.buckets.backups),
        s(["gitlab_rails", "backup_upload_storage_options"], { server_side_encryption: "aws:kms" }),

        // Secrets every task must share (docs/decisions/gitlab.md).
        s(["gitlab_rails", "secret_key_base"], secret("secretKeyBase")),
        s(["gitlab_rails", "db_key_base"], secret("dbKeyBase")),
        s(["gitlab_rails", "otp_key_base"], secret("otpKeyBase")),
        s(["gitlab_rails", "encrypted_settings_key_base"], secret("encryptedSettingsKeyBase")),
        s(["gitlab_rails", "openid_connect_signing_key"], secret("openidConnectSigningKey")),
        // Arrays: the last key encrypts, all decrypt (a rotation appends).
        s(["gitlab_rails", "active_record_encryption_primary_key"], [secret("activeRecordPrimaryKey")]),
        s(["gitlab_rails", "active_record_encryption_deterministic_key"], [secret("activeRecordDeterministicKey")]),
        s(["gitlab_rails", "active_record_encryption_key_derivation_salt"], secret("activeRecordKeyDerivationSalt")),
        s(["gitlab_shell", "secret_token"], secret("shellSecretToken")),
        s(["gitlab_workhorse", "secret_token"], secret("workhorseSecretToken")),
        s(["gitaly", "gitlab_secret"], secret("shellSecretToken")),
        s(["gitlab_rails", "gitaly_token"], secret("gitalyToken")),
    ];
}

/** No bundled monitoring, and Rails' metric files off /dev/shm. */
function quiet(): Setting[] {
    return [
        // No bundled Prometheus or exporters: the metrics go to CloudWatch (Container
        // Insights, ALB, RDS) and nothing here would scrape them.
        s(["prometheus_monitoring", "enable"], false),
        s(["puma", "exporter_enabled"], false),
        s(["sidekiq", "metrics_enabled"], false),
        // Rails writes its metric files to the runtime dir. Omnibus would pick /dev/shm,
        // which is small in a container and cannot be resized on Fargate (GitLab's
        // "unmapped file" failure); /run is on the task's own disk.
        { call: "runtime_dir", value: "/run" },
        s(["gitlab_kas", "enable"], false),
        s(["gitlab_rails", "usage_ping_enabled"], false),
    ];
}

/** Everything the Rails roles share: identity, database, object storage, backups, secrets, no monitoring. */
function common(a: OmnibusConfigArgs): Setting[] {
    return [...identity(a), ...rails(a), ...quiet()];
}

/** NGINX behind the ALB and NLB: plain HTTP inside the VPC, the load balancers' X-Forwarded-For trusted; health endpoints for the VPC only. */
function behindLoadBalancer(a: OmnibusConfigArgs): Setting[] {
    const proxies = [a.vpcCidr];
    return [
        // TLS ends at the ALB; NGINX speaks plain HTTP inside the VPC and trusts the
        // load balancer's X-Forwarded-For (19.2+ keys under gitlab_rails['nginx']).
        s(["gitlab_rails", "nginx", "listen_port"], GITLAB_PORTS.http),
        s(["gitlab_rails", "nginx", "listen_https"], false),
        s(["gitlab_rails", "nginx", "real_ip_trusted_addresses"], proxies),
        s(["gitlab_rails", "nginx", "real_ip_header"], "X-Forwarded-For"),
        s(["gitlab_rails", "nginx", "real_ip_recursive"], "on"),
        s(["gitlab_rails", "trusted_proxies"], proxies),
        // Health and metrics endpoints answer loopback and the VPC (the ALB's checks) only.
        s(["gitlab_rails", "monitoring_whitelist"], ["127.0.0.0/8", "::1/128", a.vpcCidr]),
        // NGINX (GitLab's and the registry's server share nginx.conf's http block) closes
        // an idle ALB connection only after the ALB would have: no 502 from the race.
        s(["nginx", "keepalive_timeout"], backendKeepAliveSeconds(a.loadBalancerIdleTimeout)),
    ];
}

/**
 * Gitaly's own settings: TCP with the token, and server-side repository
 * backups written straight to the backup bucket. /assets/gitlab.rb hands the
 * task-role credentials to Rails, Workhorse and the registry, not Gitaly.
 */
function gitalyServer(a: OmnibusConfigArgs, storage: Record<string, RubyValue>): Setting[] {
    return [
        s(
            ["gitaly", "configuration"],
            sym({
                listen_addr: `0.0.0.0:${GITLAB_PORTS.gitaly}`,
                auth: sym({ token: secret("gitalyToken") }),
                ...storage,
                backup: sym({ go_cloud_url: `s3://${a.buckets.backups}?region=${a.region}` }),
            }),
        ),
        s(["gitaly", "env", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")),
        s(["gitaly", "env", "AWS_REGION"], a.region),
    ];
}

/** The first administrator's password, read when an empty database is seeded; never written to disk. */
function rootPassword(): Setting[] {
    return [
        s(["gitlab_rails", "initial_root_password"], secret("rootPassword")),
        // The password lives in Secrets Manager; no copy on the task's disk.
        s(["gitlab_rails", "store_initial_root_password"], false),
        s(["gitlab_rails", "display_initial_root_password"], false),
    ];
}

/** Puma sized from the task (processSizing.ts), the same figures GitLab's connection budget counts. */
function puma(a: OmnibusConfigArgs, role: "single" | "web"): Setting[] {
    return [s(["puma", "worker_processes"], railsProcesses(role, a.cpu, a.memory).pumaWorkers), s(["puma", "max_threads"], PUMA_MAX_THREADS)];
}

/**
 * single: the whole of GitLab in one task, which never migrates: the
 * migration task (migrate, below, with the single task's Gitaly by name)
 * runs them and seeds an empty database, so no reconfigure here can be cut
 * halfway through a migration by a health check or a stop (single.ts).
 */
function single(a: OmnibusConfigArgs): Setting[] {
    return [
        s(["gitlab_rails", "auto_migrate"], false),
        ...behindLoadBalancer(a),
        ...puma(a, "single"),
        s(["sidekiq", "concurrency"], railsProcesses("single", a.cpu, a.memory).sidekiqConcurrency),
        ...registry(a),
        // Gitaly also listens on TCP (token required) for the backup and migration tasks.
        ...gitalyServer(a, {}),
        ...oidc(a),
    ];
}

/** Where a split role finds what the single task had inside it: Gitaly, Redis, and (Sidekiq) the registry API. */
function required<K extends keyof OmnibusConfigArgs>(a: OmnibusConfigArgs, key: K): NonNullable<OmnibusConfigArgs[K]> {
    const v = a[key];
    if (v === undefined || v === null) {
        throw new Error(`the ${a.role} role needs ${String(key)}`);
    }
    return v as NonNullable<OmnibusConfigArgs[K]>;
}

/** A Rails process of the split topology: remote Gitaly, ElastiCache over TLS, and never a migration on start. */
function splitRails(a: OmnibusConfigArgs): Setting[] {
    return [s(["gitlab_rails", "auto_migrate"], false), remoteGitaly(a), ...elastiCache(a)];
}

/** Gitaly reached over TCP at its name. */
function remoteGitaly(a: OmnibusConfigArgs): Setting {
    return s(["gitlab_rails", "repositories_storages"], { default: { gitaly_address: `tcp://${required(a, "gitalyHost")}` } });
}

/** ElastiCache over TLS instead of the bundled Redis. */
function elastiCache(a: OmnibusConfigArgs): Setting[] {
    const redis = required(a, "redis");
    return [
        s(["redis", "enable"], false),
        s(["gitlab_rails", "redis_host"], redis.host),
        s(["gitlab_rails", "redis_port"], redis.port),
        s(["gitlab_rails", "redis_password"], secret("redisPassword")),
        s(["gitlab_rails", "redis_ssl"], true),
    ];
}

/** split, web tier: Puma, Workhorse, NGINX and the registry (the image's sshd runs beside them); no Sidekiq, Gitaly or KAS. */
function web(a: OmnibusConfigArgs): Setting[] {
    return [
        // application_role starts Sidekiq and Gitaly too; the explicit falses below win.
        { call: "roles", value: ["application_role"] },
        s(["sidekiq", "enable"], false),
        s(["gitaly", "enable"], false),
        ...splitRails(a),
        ...behindLoadBalancer(a),
        ...puma(a, "web"),
        ...registry(a),
        ...oidc(a),
    ];
}

/** split, Sidekiq tier: Sidekiq alone, its health checks on loopback for the container check, and a shutdown that fits ECS's stop timeout. */
function sidekiq(a: OmnibusConfigArgs): Setting[] {
    return [
        { call: "roles", value: ["sidekiq_role"] },
        ...splitRails(a),
        s(["sidekiq", "concurrency"], railsProcesses("sidekiq", a.cpu, a.memory).sidekiqConcurrency),
        s(["sidekiq", "health_checks_enabled"], true),
        s(["sidekiq", "health_checks_listen_address"], "127.0.0.1"),
        s(["sidekiq", "health_checks_listen_port"], SIDEKIQ_HEALTH_PORT),
        // Running jobs get this long after SIGTERM; the rest go back to Redis. Below ECS's 120 s stop timeout.
        s(["sidekiq", "shutdown_timeout"], SIDEKIQ_SHUTDOWN_SECONDS),
        // Cleanup policies and tag deletion call the registry in the web tasks. Omnibus
        // derives registry_enabled only where the registry runs, so it is set here.
        { call: "registry_external_url", value: `https://${a.registryHostName}` },
        s(["registry", "enable"], false),
        s(["gitlab_rails", "registry_enabled"], true),
        s(["gitlab_rails", "registry_api_url"], required(a, "registryApiUrl")),
        s(["registry", "internal_key"], secret("registryInternalKey")),
    ];
}

/**
 * split, the one Gitaly: nothing but Gitaly, repositories on the mounted
 * volume, hooks calling Rails in the web tier. No database, Rails secrets or
 * Redis: Gitaly needs only its token and the shell secret.
 */
function gitaly(a: OmnibusConfigArgs): Setting[] {
    return [
        ...identity(a),
        { call: "roles", value: ["gitaly_role"] },
        ...gitalyServer(a, { storage: [sym({ name: "default", path: `${REPOSITORY_ROOT}/repositories` })] }),
        s(["gitaly", "gitlab_secret"], secret("shellSecretToken")),
        s(["gitlab_shell", "secret_token"], secret("shellSecretToken")),
        // Where post-receive and access checks reach Rails: the web tier's private name.
        s(["gitlab_rails", "internal_api_url"], required(a, "internalApiUrl")),
        ...quiet(),
    ];
}

/**
 * A one-off Rails task (migrations, backup): no service of its own, Gitaly
 * over TCP, migrations only where asked. Split hands it ElastiCache; single
 * has no shared Redis, so the task runs Omnibus's bundled one and drops it
 * on exit, as the single task drops its own on every restart.
 */
function oneOff(a: OmnibusConfigArgs, migrates: boolean): Setting[] {
    return [
        s(["gitlab_rails", "auto_migrate"], migrates),
        remoteGitaly(a),
        ...(a.redis ? elastiCache(a) : []),
        ...["puma", "sidekiq", "gitaly", "gitlab_workhorse", "nginx"].map((svc) => s([svc, "enable"], false)),
        ...(migrates ? registryMigrations(a) : [s(["registry", "enable"], false)]),
    ];
}

/**
 * Migrations, in both topologies: a one-off Rails-only task, the only place
 * auto_migrate is on. entrypoint.sh runs it twice per deploy: `migrate`
 * (regular migrations, SKIP_POST_DEPLOYMENT_MIGRATIONS) before the new
 * version serves and `post-migrate` (everything left) once it does. It also
 * seeds an empty database, hence the root password.
 */
function migrate(a: OmnibusConfigArgs): Setting[] {
    return [...oneOff(a, true), ...rootPassword()];
}

/** The backup job: Rails only, Gitaly reached over TCP; never migrates. */
function backup(a: OmnibusConfigArgs): Setting[] {
    return oneOff(a, false);
}

function oidc(a: OmnibusConfigArgs): Setting[] {
    if (!a.oidc) {
        return [];
    }
    const o = a.oidc;
    return [
        s(["gitlab_rails", "omniauth_allow_single_sign_on"], ["openid_connect"]),
        s(["gitlab_rails", "omniauth_block_auto_created_users"], o.blockAutoCreatedUsers),
        s(["gitlab_rails", "omniauth_providers"], [
            sym({
                name: "openid_connect",
                label: o.label,
                args: sym({
                    name: "openid_connect",
                    scope: ["openid", "profile", "email"],
                    response_type: "code",
                    issuer: o.issuer,
                    discovery: true,
                    client_auth_method: "basic",
                    uid_field: "sub",
                    pkce: true,
                    client_options: sym({
                        identifier: o.clientId,
                        secret: secret("oidcClientSecret"),
                        redirect_uri: `https://${a.hostName}/users/auth/openid_connect/callback`,
                    }),
                }),
            }),
        ]),
    ];
}

export function omnibusSettings(a: OmnibusConfigArgs): Setting[] {
    switch (a.role) {
        case "single":
            return [...common(a), ...single(a), ...mail(a.role, a.mail)];
        case "backup":
            return [...common(a), ...backup(a)];
        case "web":
            return [...common(a), ...web(a), ...mail(a.role, a.mail)];
        case "sidekiq":
            return [...common(a), ...sidekiq(a), ...mail(a.role, a.mail)];
        case "migrate":
            return [...common(a), ...migrate(a)];
        case "gitaly":
            return gitaly(a);
    }
}

function line(x: Setting): string {
    if ("call" in x) {
        return `${x.call} ${rubyLiteral(x.value)}`;
    }
    const [head, ...keys] = x.path;
    return `${head}${keys.map((k) => `[${rubyLiteral(k)}]`).join("")} = ${rubyLiteral(x.value)}`;
}

/** The GITLAB_OMNIBUS_CONFIG text for one role. */
export function renderOmnibusConfig(a: OmnibusConfigArgs): string {
    return `${omnibusSettings(a).map(line).join("\n")}\n`;
}

/** Every environment variable the rendered config reads (each must be an ECS secret or set by ECS). */
export function configEnvNames(a: OmnibusConfigArgs): string[] {
    return [...new Set(omnibusSettings(a).flatMap((x) => envRefs(x.value)))].sort();
}
