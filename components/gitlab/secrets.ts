import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { Naming } from "../../facts/naming";
import { jsonSecret } from "../../aws/secrets";
import { ExternalSecret, GeneratedSecret, GitLabSecrets, SecretName, SecretRef } from "./types";

/**
 * The environment variables GitLab's secrets reach the container as. The
 * rendered gitlab.rb (omnibusConfig.ts) and the entrypoint (gitlab/entrypoint.sh)
 * read these names; nothing else carries a secret into the task.
 */
export const SECRET_ENV = {
    secretKeyBase: "GITLAB_SECRET_KEY_BASE",
    dbKeyBase: "GITLAB_DB_KEY_BASE",
    otpKeyBase: "GITLAB_OTP_KEY_BASE",
    encryptedSettingsKeyBase: "GITLAB_ENCRYPTED_SETTINGS_KEY_BASE",
    openidConnectSigningKey: "GITLAB_OPENID_CONNECT_SIGNING_KEY",
    activeRecordPrimaryKey: "GITLAB_AR_PRIMARY_KEY",
    activeRecordDeterministicKey: "GITLAB_AR_DETERMINISTIC_KEY",
    activeRecordKeyDerivationSalt: "GITLAB_AR_KEY_DERIVATION_SALT",
    shellSecretToken: "GITLAB_SHELL_SECRET_TOKEN",
    workhorseSecretToken: "GITLAB_WORKHORSE_SECRET_TOKEN",
    gitalyToken: "GITLAB_GITALY_TOKEN",
    registryHttpSecret: "GITLAB_REGISTRY_HTTP_SECRET",
    registryInternalKey: "GITLAB_REGISTRY_INTERNAL_KEY",
    registryInternalCertificate: "GITLAB_REGISTRY_INTERNAL_CERTIFICATE",
    registryDatabasePassword: "GITLAB_REGISTRY_DATABASE_PASSWORD",
    sshHostRsaKey: "GITLAB_SSH_HOST_RSA_KEY",
    sshHostEcdsaKey: "GITLAB_SSH_HOST_ECDSA_KEY",
    sshHostEd25519Key: "GITLAB_SSH_HOST_ED25519_KEY",
    rootPassword: "GITLAB_ROOT_PASSWORD",
    databasePassword: "GITLAB_DATABASE_PASSWORD",
    oidcClientSecret: "GITLAB_OIDC_CLIENT_SECRET",
    redisPassword: "GITLAB_REDIS_PASSWORD",
    smtpUserName: "GITLAB_SMTP_USER_NAME",
    smtpPassword: "GITLAB_SMTP_PASSWORD",
    // Every name of types.ts's SecretName, and no other.
} as const satisfies Record<SecretName, string>;

/** The secrets every Rails process of GitLab needs (Rails' own, the shell, Workhorse and Gitaly tokens), in one order. */
export const RAILS_SECRETS: readonly SecretName[] = [
    "secretKeyBase",
    "dbKeyBase",
    "otpKeyBase",
    "encryptedSettingsKeyBase",
    "openidConnectSigningKey",
    "activeRecordPrimaryKey",
    "activeRecordDeterministicKey",
    "activeRecordKeyDerivationSalt",
    "shellSecretToken",
    "workhorseSecretToken",
    "gitalyToken",
];

/** types.ts's ExternalSecret as a value, for the run-time test below. */
export const EXTERNAL_SECRETS = Object.keys({
    databasePassword: true,
    oidcClientSecret: true,
    redisPassword: true,
    smtpUserName: true,
    smtpPassword: true,
    // Keys rather than a list: the compiler wants each of types.ts's ExternalSecret here exactly once.
} satisfies Record<ExternalSecret, true>) as readonly ExternalSecret[];

export function isExternalSecret(n: SecretName): n is ExternalSecret {
    return (EXTERNAL_SECRETS as readonly SecretName[]).includes(n);
}

/**
 * Generates every secret GitLab must share between its tasks and keep across
 * restarts, once, and stores them in Secrets Manager (grouped by what
 * rotates together). Nothing here has keepers: a generated value changes only
 * if its resource is deleted, and in a protected stack the generators
 * themselves are protected. Lengths and formats are the ones Omnibus
 * generates itself (package/libraries/helpers/secrets_helper.rb).
 */
export function gitlabSecrets(name: string, args: { readonly protect: boolean; readonly naming: Naming }, opts: pulumi.CustomResourceOptions): GitLabSecrets {
    const kept = { ...opts, protect: args.protect };
    // SecureRandom.hex(64): 128 hex characters.
    const hex128 = (suffix: string) => new random.RandomBytes(`${name}-${suffix}`, { length: 64 }, kept).hex;
    // 32 alphanumerics, the form Omnibus gives Active Record encryption keys.
    const alnum32 = (suffix: string) => new random.RandomString(`${name}-${suffix}`, { length: 32, special: false }, kept).result;
    const rsa = (suffix: string, bits: number) => new tls.PrivateKey(`${name}-${suffix}`, { algorithm: "RSA", rsaBits: bits }, kept);

    const store = (suffix: string, description: string, value: Record<string, pulumi.Input<string>>) => ({
        arn: jsonSecret(`${name}-${suffix}`, { description: `GitLab: ${description}`, protect: args.protect, naming: args.naming, value }, opts),
        keys: Object.keys(value),
    });

    const rails = store("rails", "Rails secrets (losing them makes encrypted database columns unreadable)", {
        secret_key_base: hex128("secret-key-base"),
        db_key_base: hex128("db-key-base"),
        otp_key_base: hex128("otp-key-base"),
        encrypted_settings_key_base: hex128("encrypted-settings-key-base"),
        openid_connect_signing_key: rsa("openid-connect-signing-key", 4096).privateKeyPem,
        active_record_encryption_primary_key: alnum32("ar-primary-key"),
        active_record_encryption_deterministic_key: alnum32("ar-deterministic-key"),
        active_record_encryption_key_derivation_salt: alnum32("ar-key-derivation-salt"),
    });

    // Workhorse wants 32 random bytes, base64-encoded.
    const workhorse = new random.RandomBytes(`${name}-workhorse-secret`, { length: 32 }, kept).base64;
    const tokens = store("tokens", "shared tokens between Rails, GitLab Shell, Workhorse, Gitaly and the registry", {
        shell_secret_token: hex128("shell-secret-token"),
        workhorse_secret_token: workhorse,
        gitaly_token: hex128("gitaly-token"),
        registry_http_secret: hex128("registry-http-secret"),
    });

    // The registry checks the tokens Rails signs with this key against this certificate.
    const registryKey = rsa("registry-internal-key", 4096);
    const registryCert = new tls.SelfSignedCert(
        `${name}-registry-internal-certificate`,
        {
            privateKeyPem: registryKey.privateKeyPem,
            subject: { commonName: "gitlab-registry-internal" },
            // Ten years and no early renewal: a new one only replaces this on expiry (docs/decisions/gitlab.md).
            validityPeriodHours: 87600,
            earlyRenewalHours: 0,
            allowedUses: ["digital_signature", "key_encipherment"],
        },
        kept,
    );
    const registry = store("registry", "container registry token signing key and certificate", {
        internal_key: registryKey.privateKeyPem,
        internal_certificate: registryCert.certPem,
    });

    // The same host keys on every task, so `git` never warns of a changed host key.
    const ssh = store("ssh-host-keys", "SSH host keys of git over SSH", {
        rsa: rsa("ssh-host-rsa", 4096).privateKeyOpenssh,
        ecdsa: new tls.PrivateKey(`${name}-ssh-host-ecdsa`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, kept).privateKeyOpenssh,
        ed25519: new tls.PrivateKey(`${name}-ssh-host-ed25519`, { algorithm: "ED25519" }, kept).privateKeyOpenssh,
    });

    // The registry's own PostgreSQL role (omnibusConfig.ts REGISTRY_DATABASE); the migrating
    // task creates it with this password (gitlab/entrypoint.sh). A secret of its own, so
    // adding it changed no existing secret.
    const registryDatabase = store("registry-database", "container registry metadata database password", {
        password: new random.RandomPassword(`${name}-registry-database-password`, { length: 40, special: false }, kept).result,
    });

    const root = store("root", "initial root password (read only when the database is first seeded)", {
        password: new random.RandomPassword(`${name}-root-password`, { length: 32, special: false }, kept).result,
    });

    return {
        refs: generatedRefs({ rails, tokens, registry, registryDatabase, ssh, root }),
        arns: [rails.arn, tokens.arn, registry.arn, registryDatabase.arn, ssh.arn, root.arn],
    };
}

/** A Secrets Manager secret gitlabSecrets stored, by its ARN. */
type Stored = { readonly arn: pulumi.Output<string> };

/** Which JSON key of which stored secret holds each generated secret (the names gitlabSecrets wrote them under). */
function generatedRefs(s: Readonly<Record<"rails" | "tokens" | "registry" | "registryDatabase" | "ssh" | "root", Stored>>): Record<GeneratedSecret, SecretRef> {
    const ref = (stored: Stored, key: string): SecretRef => ({ arn: stored.arn, key });
    return {
        secretKeyBase: ref(s.rails, "secret_key_base"),
        dbKeyBase: ref(s.rails, "db_key_base"),
        otpKeyBase: ref(s.rails, "otp_key_base"),
        encryptedSettingsKeyBase: ref(s.rails, "encrypted_settings_key_base"),
        openidConnectSigningKey: ref(s.rails, "openid_connect_signing_key"),
        activeRecordPrimaryKey: ref(s.rails, "active_record_encryption_primary_key"),
        activeRecordDeterministicKey: ref(s.rails, "active_record_encryption_deterministic_key"),
        activeRecordKeyDerivationSalt: ref(s.rails, "active_record_encryption_key_derivation_salt"),
        shellSecretToken: ref(s.tokens, "shell_secret_token"),
        workhorseSecretToken: ref(s.tokens, "workhorse_secret_token"),
        gitalyToken: ref(s.tokens, "gitaly_token"),
        registryHttpSecret: ref(s.tokens, "registry_http_secret"),
        registryInternalKey: ref(s.registry, "internal_key"),
        registryInternalCertificate: ref(s.registry, "internal_certificate"),
        registryDatabasePassword: ref(s.registryDatabase, "password"),
        sshHostRsaKey: ref(s.ssh, "rsa"),
        sshHostEcdsaKey: ref(s.ssh, "ecdsa"),
        sshHostEd25519Key: ref(s.ssh, "ed25519"),
        rootPassword: ref(s.root, "password"),
    };
}
