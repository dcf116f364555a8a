import { env, EnvRef, envRefs, RubyValue, rubyLiteral, sym } from "./ruby";
import { SECRET_ENV } from "./secrets";
import { OBJECT_TYPES, ObjectType } from "./storage";

/**
 * GITLAB_OMNIBUS_CONFIG as a pure function of typed arguments. The image's
 * /assets/gitlab.rb evaluates it before /etc/gitlab/gitlab.rb (which stays
 * empty here). Secrets appear only as `ENV.fetch('...')`, filled by ECS
 * `secrets` when the task starts; nothing secret is in the rendered text.
 * Every key path is checked against omnibus-gitlab's documented keys
 * (omnibusKeys.ts) by the tests, which also evaluate the text in Ruby.
 */

/** Where the image keeps the RDS CA bundle (gitlab/Dockerfile); outside the image's volumes, so no mount hides it. */
export const RDS_CA_BUNDLE = "/opt/platform/rds-global-bundle.pem";

/** Ports inside the task. */
export const GITLAB_PORTS = { http: 80, registry: 5050, ssh: 22, gitaly: 8075 } as const;

/** Where Omnibus keeps repositories (its default Gitaly storage), and so where EFS is mounted. */
export const REPOSITORY_ROOT = "/var/opt/gitlab/git-data";

/** What a task is: the whole of GitLab, or the daily backup job that reaches the whole one's Gitaly. */
export type OmnibusRole = "single" | "backup";

export interface OmnibusConfigArgs {
    readonly role: OmnibusRole;
    readonly hostName: string;
    readonly registryHostName: string;
    readonly sshHostName: string;
    /** The VPC CIDR: the ALB and NLB reach the task from inside it. */
    readonly vpcCidr: string;
    readonly region: string;
    readonly database: { readonly host: string; readonly port: number; readonly name: string; readonly username: string };
    readonly buckets: { readonly objects: Readonly<Record<ObjectType, string>>; readonly registry: string; readonly backups: string };
    /** backup: the single task's Gitaly, `host:port`. */
    readonly gitalyHost?: string;
    /** Fargate size: Puma workers and Sidekiq threads follow it. */
    readonly cpu: number;
    readonly memory: number;
    readonly oidc?: { readonly issuer: string; readonly clientId: string; readonly label: string; readonly blockAutoCreatedUsers: boolean };
}

/** One `a['b']['c'] = value` line, or a top-level DSL call (`external_url '...'`). */
export type Setting = { readonly path: readonly string[]; readonly value: RubyValue } | { readonly call: string; readonly value: RubyValue };

/**
 * Puma workers: one per vCPU while memory allows about 1.2 GB each beside
 * 4 GB for Sidekiq, Gitaly, Redis, NGINX and the registry; at least 2. Set
 * explicitly because a Fargate task may see more CPUs than it was given.
 */
export function pumaWorkers(cpu: number, memory: number): number {
    return Math.max(2, Math.min(cpu / 1024, Math.floor((memory - 4096) / 1200)));
}

/** Sidekiq threads: 5 per vCPU up to GitLab's default of 20. */
export function sidekiqConcurrency(cpu: number): number {
    return Math.min(20, 5 * Math.max(1, Math.floor(cpu / 1024)));
}

const s = (path: string[], value: RubyValue): Setting => ({ path, value });
const secret = (name: keyof typeof SECRET_ENV): EnvRef => env(SECRET_ENV[name]);

/** Everything both roles share: identity, database, object storage, backups, secrets. */
function common(a: OmnibusConfigArgs): Setting[] {
    const awsConnection = { provider: "AWS", region: a.region, use_iam_profile: true };
    return [
        { call: "external_url", value: `https://${a.hostName}` },
        s(["letsencrypt", "enable"], false),
        s(["gitlab_rails", "gitlab_ssh_host"], a.sshHostName),
        s(["gitlab_rails", "gitlab_shell_ssh_port"], GITLAB_PORTS.ssh),
        s(["gitlab_rails", "time_zone"], "UTC"),

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

        // Backup archives go to their bucket, encrypted.
        s(["gitlab_rails", "backup_upload_connection"], awsConnection),
        s(["gitlab_rails", "backup_upload_remote_directory"], a.buckets.backups),
        s(["gitlab_rails", "backup_upload_storage_options"], { server_side_encryption: "aws:kms" }),

        // Secrets every task must share (README: "GitLab's secrets").
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

function single(a: OmnibusConfigArgs): Setting[] {
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

        s(["puma", "worker_processes"], pumaWorkers(a.cpu, a.memory)),
        s(["sidekiq", "concurrency"], sidekiqConcurrency(a.cpu)),

        // The container registry at its own host, plain HTTP behind the ALB, blobs in S3
        // through the task role (no keys: the SDK's container credentials).
        { call: "registry_external_url", value: `https://${a.registryHostName}` },
        s(["registry", "nginx", "listen_port"], GITLAB_PORTS.registry),
        s(["registry", "nginx", "listen_https"], false),
        s(["registry", "nginx", "real_ip_trusted_addresses"], proxies),
        s(["registry", "nginx", "real_ip_header"], "X-Forwarded-For"),
        s(["registry", "nginx", "real_ip_recursive"], "on"),
        s(["registry", "storage"], { s3_v2: { bucket: a.buckets.registry, region: a.region, encrypt: true } }),
        s(["registry", "http_secret"], secret("registryHttpSecret")),
        s(["registry", "internal_certificate"], secret("registryInternalCertificate")),
        s(["registry", "internal_key"], secret("registryInternalKey")),

        // Gitaly also listens on TCP (token required) for the backup task, and writes
        // server-side repository backups straight to the backup bucket. /assets/gitlab.rb
        // hands the task-role credentials to Rails, Workhorse and the registry, not Gitaly.
        s(
            ["gitaly", "configuration"],
            sym({
                listen_addr: `0.0.0.0:${GITLAB_PORTS.gitaly}`,
                auth: sym({ token: secret("gitalyToken") }),
                backup: sym({ go_cloud_url: `s3://${a.buckets.backups}?region=${a.region}` }),
            }),
        ),
        s(["gitaly", "env", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")),
        s(["gitaly", "env", "AWS_REGION"], a.region),

        s(["gitlab_rails", "initial_root_password"], secret("rootPassword")),
        // The password lives in Secrets Manager; no copy on the task's disk.
        s(["gitlab_rails", "store_initial_root_password"], false),
        s(["gitlab_rails", "display_initial_root_password"], false),
        ...oidc(a),
    ];
}

/** The backup job: Rails only, no service of its own, Gitaly reached over TCP; never migrates. */
function backup(a: OmnibusConfigArgs): Setting[] {
    if (!a.gitalyHost) {
        throw new Error("the backup role needs gitalyHost");
    }
    return [
        s(["gitlab_rails", "auto_migrate"], false),
        s(["gitlab_rails", "repositories_storages"], { default: { gitaly_address: `tcp://${a.gitalyHost}` } }),
        ...["puma", "sidekiq", "gitaly", "gitlab_workhorse", "nginx", "registry"].map((svc) => s([svc, "enable"], false)),
    ];
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
    return [...common(a), ...(a.role === "single" ? single(a) : backup(a))];
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
