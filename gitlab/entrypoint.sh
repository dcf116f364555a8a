#!/bin/bash
# Entrypoint of the GitLab image on ECS. ECS puts every secret into the
# environment (task definition `secrets`); Omnibus reads most of them from
# there itself (ENV.fetch in GITLAB_OMNIBUS_CONFIG). The SSH host keys must be
# files, and must exist before /assets/init-container runs: it generates new
# ones only where none exist, and new keys on every start would make every
# git client warn of a changed host key.
#
#   entrypoint.sh serve         GitLab with git over SSH: the single task, the web tier (the default)
#   entrypoint.sh worker        a tier without sshd or host keys: Sidekiq, Gitaly
#   entrypoint.sh migrate       reconfigure with the regular migrations only, then exit
#   entrypoint.sh post-migrate  reconfigure with every migration left, apply the
#                               instance settings the topology needs, then exit
#   entrypoint.sh backup        reconfigure, run gitlab-backup once, exit with its status
#
# In any mode, a task that migrates the container registry (PLATFORM_REGISTRY_DB
# set: the single task, the migration task) first creates the registry's role
# and database on GitLab's PostgreSQL, so reconfigure can migrate them.
#
# GITLAB_ETC, GITLAB_INIT, GITLAB_PSQL and GITLAB_RUBY exist for the tests; ECS sets none.
set -euo pipefail

etc=${GITLAB_ETC:-/etc/gitlab}
init=${GITLAB_INIT:-/assets/init-container}
psql=${GITLAB_PSQL:-/opt/gitlab/embedded/bin/psql}
ruby=${GITLAB_RUBY:-/opt/gitlab/embedded/bin/ruby}
mode=${1:-serve}

fail() {
    echo "entrypoint: $*" >&2
    exit 64
}

# Writes one host key (mode 0600) and its public half, then drops the variable
# so no process GitLab starts inherits the private key.
write_host_key() {
    local type=$1 var=$2
    local key=$etc/ssh_host_${type}_key
    [ -n "${!var:-}" ] || fail "$var is empty: the task definition must inject it from Secrets Manager"
    (umask 077 && printf '%s\n' "${!var}" >"$key")
    chmod 0600 "$key"
    ssh-keygen -y -f "$key" >"$key.pub" || fail "$var does not hold a valid $type private key"
    chmod 0644 "$key.pub"
    unset "$var"
}

# The SCRAM-SHA-256 verifier of the registry's password, as PostgreSQL stores
# it (RFC 5802/7677; PostgreSQL's scram_build_secret): 16 random salt bytes,
# 4096 PBKDF2-HMAC-SHA-256 iterations (PostgreSQL's defaults), then
# SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64. Given a
# verifier, ALTER ROLE stores it as it is, so the password itself never
# reaches the server: nothing that logs statements (log_statement = ddl, or
# log_min_error_statement on a failed one, which RDS ships to CloudWatch) can
# log it. The verifier lets nobody log in. PostgreSQL SASLpreps a password
# first, which leaves printable ASCII as it is; anything else is refused here
# rather than hashed differently (the generator makes letters and digits).
scram_verifier() {
    "$ruby" -ropenssl -e '
        pw = ENV.fetch("GITLAB_REGISTRY_DATABASE_PASSWORD")
        abort("not printable ASCII") unless pw.match?(/\A[\x20-\x7e]+\z/)
        salt = OpenSSL::Random.random_bytes(16)
        iterations = 4096
        salted = OpenSSL::KDF.pbkdf2_hmac(pw, salt: salt, iterations: iterations, length: 32, hash: "sha256")
        hmac = ->(msg) { OpenSSL::HMAC.digest("SHA256", salted, msg) }
        b64 = ->(bytes) { [bytes].pack("m0") }
        print "SCRAM-SHA-256$#{iterations}:#{b64.(salt)}$#{b64.(OpenSSL::Digest.digest("SHA256", hmac.("Client Key")))}:#{b64.(hmac.("Server Key"))}"
    '
}

# The registry's role (its password set to the secret's, so a new secret takes
# effect) and its database owned by it, as GitLab's own user (RDS's master:
# CREATEROLE, CREATEDB). Idempotent: it runs on every migration. Only the
# password's verifier reaches psql, through its environment, never its command
# line; GRANT lets the master create a database owned by the role (PostgreSQL
# 16+ requires it).
registry_database() {
    [ -n "${PLATFORM_REGISTRY_DB:-}" ] || return 0
    local var verifier
    for var in PLATFORM_DB_ADMIN PLATFORM_REGISTRY_DB_USER GITLAB_DATABASE_PASSWORD GITLAB_REGISTRY_DATABASE_PASSWORD; do
        [ -n "${!var:-}" ] || fail "$var is empty: the registry's database cannot be created"
    done
    verifier=$(scram_verifier) || fail "GITLAB_REGISTRY_DATABASE_PASSWORD: could not compute its SCRAM verifier"
    PLATFORM_REGISTRY_DB_VERIFIER=$verifier PGPASSWORD=$GITLAB_DATABASE_PASSWORD "$psql" "$PLATFORM_DB_ADMIN" -X -q -v ON_ERROR_STOP=1 \
        -v db="$PLATFORM_REGISTRY_DB" -v user="$PLATFORM_REGISTRY_DB_USER" <<'SQL' || fail "could not create the registry's role and database"
\getenv verifier PLATFORM_REGISTRY_DB_VERIFIER
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'user', :'verifier') \gexec
SELECT format('GRANT %I TO CURRENT_USER', :'user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
    echo "entrypoint: database $PLATFORM_REGISTRY_DB and role $PLATFORM_REGISTRY_DB_USER ready"
}

mkdir -p "$etc"
registry_database
case "$mode" in
serve)
    write_host_key rsa GITLAB_SSH_HOST_RSA_KEY
    write_host_key ecdsa GITLAB_SSH_HOST_ECDSA_KEY
    write_host_key ed25519 GITLAB_SSH_HOST_ED25519_KEY
    ;;
worker)
    # Nobody logs in here: no sshd, so no host keys.
    export GITLAB_DISABLE_OPENSSH=true
    ;;
migrate)
    # One-off jobs: no sshd, no log tailing. init-container runs reconfigure
    # (which migrates: only this role has auto_migrate on) under `set -e`, so a
    # failed migration ends the task non-zero; otherwise the eval'd script's
    # exit ends it (init-container would wait for its services forever), with
    # the status of the instance settings, applied before any tier rolls.
    # Rails skips post-deployment migrations for any non-empty value of the
    # variable, so only this mode sets it.
    export GITLAB_DISABLE_OPENSSH=true GITLAB_SKIP_TAIL_LOGS=true
    export SKIP_POST_DEPLOYMENT_MIGRATIONS=true
    export GITLAB_POST_RECONFIGURE_SCRIPT="/opt/platform/settings.sh; exit \$?"
    ;;
post-migrate)
    unset SKIP_POST_DEPLOYMENT_MIGRATIONS
    export GITLAB_DISABLE_OPENSSH=true GITLAB_SKIP_TAIL_LOGS=true
    export GITLAB_POST_RECONFIGURE_SCRIPT="/opt/platform/settings.sh; exit \$?"
    ;;
backup)
    # A one-off job: no sshd, no log tailing; after reconfigure the image runs
    # the backup (GITLAB_POST_RECONFIGURE_SCRIPT is eval'd by init-container,
    # so the script's exit ends the task with the backup's status).
    export GITLAB_DISABLE_OPENSSH=true GITLAB_SKIP_TAIL_LOGS=true
    export GITLAB_POST_RECONFIGURE_SCRIPT="/opt/platform/backup.sh; exit \$?"
    ;;
*)
    fail "unknown mode $mode (serve, worker, migrate, post-migrate, backup)"
    ;;
esac

# exec: init-container becomes PID 1's child of ECS's init and gets SIGTERM,
# which it turns into `gitlab-ctl stop`.
exec "$init"
