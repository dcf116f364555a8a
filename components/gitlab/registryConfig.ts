import { GITLAB_PORTS, RDS_CA_BUNDLE, s, secret, Setting } from "./gitlabRb";
import type { OmnibusConfigArgs } from "./omnibusConfig";
import { REGISTRY_DB_MAX_OPEN, REGISTRY_SERVERS } from "./processSizing";
import { OmnibusRole } from "./types";

/**
 * The container registry's metadata database and its own role, on GitLab's
 * RDS instance. The task that migrates it creates both (gitlab/entrypoint.sh,
 * from the environment kit.ts gives that task only).
 */
export const REGISTRY_DATABASE = { name: "registry", user: "registry" } as const;

/** The role whose reconfigure runs the registry's schema migrations: the migration task, in both topologies (the single task never migrates). */
export function migratesRegistry(role: OmnibusRole): boolean {
    return role === "migrate";
}

/** The container registry at its own host, plain HTTP behind the ALB, blobs in S3 through the task role (no keys: the SDK's container credentials). */
export function registry(a: OmnibusConfigArgs): Setting[] {
    if (!(REGISTRY_SERVERS as readonly string[]).includes(a.role)) {
        throw new Error(`the ${a.role} role does not serve the registry (REGISTRY_SERVERS)`);
    }
    const proxies = [a.vpcCidr];
    return [
        { call: "registry_external_url", value: `https://${a.registryHostName}` },
        s(["registry", "nginx", "listen_port"], GITLAB_PORTS.registry),
        s(["registry", "nginx", "listen_https"], false),
        s(["registry", "nginx", "real_ip_trusted_addresses"], proxies),
        s(["registry", "nginx", "real_ip_header"], "X-Forwarded-For"),
        s(["registry", "nginx", "real_ip_recursive"], "on"),
        // No `encrypt`: the driver sends SSE-S3 (AES256) for `encrypt: true` without a
        // `keyid`, overriding the bucket's default. Without it S3 applies the bucket's
        // SSE-KMS default (aws/s3, whose key policy admits the account's principals
        // through S3, so the task role needs no KMS grant).
        s(["registry", "storage"], { s3_v2: { bucket: a.buckets.registry, region: a.region } }),
        ...registryDatabase(a),
        s(["registry", "http_secret"], secret("registryHttpSecret")),
        s(["registry", "internal_certificate"], secret("registryInternalCertificate")),
        s(["registry", "internal_key"], secret("registryInternalKey")),
    ];
}

/**
 * The registry's metadata in PostgreSQL, which turns on online garbage
 * collection (the registry's default with a database: unreferenced blobs and
 * manifests are deleted from S3 in the background). Omnibus turns its
 * "prefer" default off without a bundled PostgreSQL, hence `enabled: true`;
 * TLS verified against the RDS CA like Rails. Only a migrating role runs the
 * registry's migrations (its reconfigure runs `registry database migrate up`,
 * `-s` under SKIP_POST_DEPLOYMENT_MIGRATIONS); web tasks never do.
 */
function registryDatabase(a: OmnibusConfigArgs): Setting[] {
    return [
        s(["registry", "database"], {
            enabled: a.registryDatabase === "on",
            host: a.database.host,
            port: a.database.port,
            user: REGISTRY_DATABASE.user,
            password: secret("registryDatabasePassword"),
            dbname: REGISTRY_DATABASE.name,
            sslmode: "verify-full",
            sslrootcert: RDS_CA_BUNDLE,
            pool: { maxopen: REGISTRY_DB_MAX_OPEN, maxidle: REGISTRY_DB_MAX_OPEN, maxlifetime: "5m" },
        }),
        s(["registry", "auto_migrate"], migratesRegistry(a.role)),
    ];
}

/**
 * The registry's schema migrations run in its own recipe, so a migrating task
 * enables it, on Omnibus's default local storage and without NGINX: it never
 * serves, and the task exits after reconfigure.
 */
export function registryMigrations(a: OmnibusConfigArgs): Setting[] {
    return [{ call: "registry_external_url", value: `https://${a.registryHostName}` }, s(["registry", "enable"], true), ...registryDatabase(a)];
}
