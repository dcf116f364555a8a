import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REGISTRY_SETUP_ENV } from "../components/gitlab/kit";
import { documentedKeyOf, DOCUMENTED_KEYS } from "../components/gitlab/omnibusKeys";
import { RDS_CA_BUNDLE } from "../components/gitlab/gitlabRb";
import { REGISTRY_DB_MAX_OPEN } from "../components/gitlab/processSizing";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { Container, containerOf, envValue, evaluateContainer, generators, keyPath, mainTask, policyOf, T, taskOf, valueAt } from "./gitlabHelpers";
import { inComponent, named, ROOT, runStack, StackRun, stackRun } from "../sim/harness";
import { prodRegistryImport } from "./variants";

/** The container registry: its blobs in S3 under the bucket's own encryption, its metadata in PostgreSQL. */

const SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";

/** Each stack's task that runs the registry (dev: the single task; prod: the web tier), and its task role's policy name. */
const REGISTRY_TASKS = [
    { stack: "dev", task: (run: StackRun) => mainTask(run), policy: "gitlab-task-policy" },
    { stack: "prod", task: (run: StackRun) => taskOf(run, "web"), policy: "gitlab-web-task-policy" },
] as const;

describe("GitLab's container registry", () => {
    for (const r of REGISTRY_TASKS) {
        it(`${r.stack}: blobs take the bucket's SSE-KMS default (no encrypt override), with a key the task role can use`, async () => {
            const run = await stackRun(r.stack);
            const storage = valueAt(evaluateContainer(containerOf(r.task(run))), "registry['storage']");
            const bucket = named(run, T.bucket, "gitlab-registry");
            expect(storage.s3_v2.bucket).to.equal(bucket.state.bucket);
            // encrypt without keyid makes the driver send AES256 (SSE-S3) on every PUT, overriding the bucket's default.
            expect(storage.s3_v2, "no encrypt or keyid").to.not.have.any.keys("encrypt", "keyid");
            const rule = named(run, SSE, "gitlab-registry-sse").inputs.rules[0];
            expect(rule.applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("aws:kms");
            const key = rule.applyServerSideEncryptionByDefault.kmsMasterKeyId;
            if (key !== undefined) {
                // A customer-managed key: the task role must be allowed to use it.
                const kms = policyOf(run, r.policy).filter((s) => [s.Resource].flat().includes(key));
                expect(kms.flatMap((s) => s.Action)).to.include.members(["kms:GenerateDataKey", "kms:Decrypt"]);
            }
        });
    }
});

const setupEnv = (c: Container) => Object.values(REGISTRY_SETUP_ENV).filter((n) => envValue(c, n) !== undefined);
const registryDatabaseOf = (c: Container) => evaluateContainer(c).settings.find((x) => keyPath(x.path) === "registry['database']")?.value;

describe("GitLab's container registry metadata database", () => {
    it("prod (registryDatabase on, the default): web and the migration task use their own database on GitLab's instance, TLS verify-full, with online GC at its default (on)", async () => {
        const run = await stackRun("prod");
        expect(run.error).to.equal(undefined);
        const db = named(run, T.db, "gitlab-db");
        for (const t of ["web", "migrate"]) {
            const c = containerOf(taskOf(run, t));
            const e = evaluateContainer(c);
            const d = valueAt(e, "registry['database']");
            expect(d, t).to.include({ enabled: true, host: db.state.address, port: db.state.port, sslmode: "verify-full", sslrootcert: RDS_CA_BUNDLE });
            // Its own role and database, not GitLab's.
            expect([d.user, d.dbname], t).to.not.include.members([db.inputs.username, db.inputs.dbName]);
            expect(d.password, t).to.equal(`dummy-${SECRET_ENV.registryDatabasePassword}`);
            expect(c.secrets.map((x) => x.name), t).to.include(SECRET_ENV.registryDatabasePassword);
            // A bounded pool (the registry's default has none), so the connection budget can count it.
            expect(d.pool.maxopen, t).to.equal(REGISTRY_DB_MAX_OPEN).and.be.greaterThan(0);
            // Nothing turns online garbage collection off.
            expect(e.settings.filter((x) => keyPath(x.path).startsWith("registry['gc']")), t).to.deep.equal([]);
            for (const x of e.settings) {
                expect(documentedKeyOf(keyPath(x.path)), `${t}: ${keyPath(x.path)}`).to.not.equal(undefined);
            }
            for (const call of e.calls) {
                expect(DOCUMENTED_KEYS, call.name).to.include(call.name);
            }
        }
        expect(valueAt(evaluateContainer(containerOf(taskOf(run, "migrate"))), "registry['enable']")).to.equal(true);
    });

    it("prod: only the migration task migrates the registry, and it alone is told how to create its role and database, as what the registry connects with", async () => {
        const run = await stackRun("prod");
        const db = named(run, T.db, "gitlab-db");
        const migrating: string[] = [];
        for (const td of inComponent(run, T.taskDef, "gitlab")) {
            const c = containerOf(td);
            const auto = evaluateContainer(c).settings.find((x) => keyPath(x.path) === "registry['auto_migrate']")?.value;
            if (auto === true) {
                migrating.push(c.name);
            }
            expect(setupEnv(c), c.name).to.deep.equal(auto === true ? Object.values(REGISTRY_SETUP_ENV) : []);
        }
        expect(migrating).to.deep.equal(["migrate"]);
        expect(valueAt(evaluateContainer(containerOf(taskOf(run, "web"))), "registry['auto_migrate']"), "web tasks never migrate it").to.equal(false);
        const c = containerOf(taskOf(run, "migrate"));
        const d = registryDatabaseOf(c);
        // The entrypoint creates exactly the database and role the registry connects as ...
        expect(envValue(c, REGISTRY_SETUP_ENV.database)).to.equal(d.dbname);
        expect(envValue(c, REGISTRY_SETUP_ENV.user)).to.equal(d.user);
        // ... as GitLab's master user on the same instance, verifying its certificate; the password is the task's database secret.
        const admin = Object.fromEntries(envValue(c, REGISTRY_SETUP_ENV.admin)!.split(" ").map((kv) => kv.split("=")));
        expect(admin).to.deep.equal({ host: db.state.address, port: String(db.state.port), dbname: db.inputs.dbName, user: db.inputs.username, sslmode: "verify-full", sslrootcert: RDS_CA_BUNDLE });
        expect(c.secrets.map((x) => x.name)).to.include.members([SECRET_ENV.databasePassword, SECRET_ENV.registryDatabasePassword]);
        // Sidekiq, Gitaly and the backup never see the registry's database.
        for (const t of ["sidekiq", "gitaly", "backup"]) {
            const other = containerOf(taskOf(run, t));
            expect(registryDatabaseOf(other), t).to.equal(undefined);
            expect(other.secrets.map((x) => x.name), t).to.not.include(SECRET_ENV.registryDatabasePassword);
        }
    });

    it("dev: the single task uses the database without migrating it; its migration task creates and migrates it", async () => {
        const run = await stackRun("dev");
        const c = containerOf(mainTask(run));
        const e = evaluateContainer(c);
        expect(valueAt(e, "registry['database']")).to.include({ enabled: true, sslmode: "verify-full", host: named(run, T.db, "gitlab-db").state.address });
        expect(valueAt(e, "registry['auto_migrate']")).to.equal(false);
        expect(setupEnv(c)).to.deep.equal([]);
        expect(c.secrets.map((x) => x.name)).to.include(SECRET_ENV.registryDatabasePassword);
        const migrate = containerOf(taskOf(run, "migrate"));
        const m = evaluateContainer(migrate);
        expect(valueAt(m, "registry['database']")).to.include({ enabled: true, sslmode: "verify-full", host: named(run, T.db, "gitlab-db").state.address });
        expect(valueAt(m, "registry['auto_migrate']")).to.equal(true);
        expect(setupEnv(migrate)).to.deep.equal(Object.values(REGISTRY_SETUP_ENV));
        expect(migrate.secrets.map((x) => x.name)).to.include(SECRET_ENV.registryDatabasePassword);
        expect(containerOf(named(run, T.taskDef, "gitlab-backup")).secrets.map((x) => x.name)).to.not.include(SECRET_ENV.registryDatabasePassword);
    });

    it("the password is a generated secret of its own, protected with its generator in prod, in no other secret", async () => {
        for (const stack of ["dev", "prod"]) {
            const run = await stackRun(stack);
            const version = named(run, T.secretVersion, "gitlab-registry-database");
            const value = JSON.parse(version.inputs.secretString);
            expect(Object.keys(value), stack).to.deep.equal(["password"]);
            const generator = generators(run).find((g) => g.name === "gitlab-registry-database-password")!;
            expect(generator.protect, stack).to.equal(stack === "prod");
            expect(named(run, T.secret, "gitlab-registry-database").protect, stack).to.equal(stack === "prod");
            const others = inComponent(run, T.secretVersion, "gitlab").filter((v) => v.name !== version.name);
            expect(others.filter((v) => String(v.inputs.secretString).includes(value.password)), stack).to.deep.equal([]);
        }
    });

    it("update path, import -> on: the registry switches to its database; GitLab's database, every secret and generator stay as they were", async () => {
        // prod as a stack deployed before would be while imported (import), then switched on (Pulumi.prod.yaml: the default) once imported.
        const before = await prodRegistryImport();
        const after = await stackRun("prod");
        expect(before.error).to.equal(undefined);
        expect(after.error).to.equal(undefined);
        for (const t of ["web", "migrate"]) {
            const was = registryDatabaseOf(containerOf(taskOf(before, t)));
            const now = registryDatabaseOf(containerOf(taskOf(after, t)));
            expect(was.enabled, t).to.equal(false);
            expect({ ...was, enabled: true }, `${t}: only enabled changes`).to.deep.equal(now);
            // The role and database exist already in import mode (the import needs them).
            expect(setupEnv(containerOf(taskOf(before, t))), t).to.deep.equal(setupEnv(containerOf(taskOf(after, t))));
        }
        expect(named(after, T.db, "gitlab-db").inputs).to.deep.equal(named(before, T.db, "gitlab-db").inputs);
        for (const type of [T.secret, T.secretVersion]) {
            const was = before.resources.filter((r) => r.type === type);
            expect(after.resources.filter((r) => r.type === type).map((r) => [r.name, r.inputs]), type).to.deep.equal(was.map((r) => [r.name, r.inputs]));
        }
        expect(generators(after).map((g) => [g.type, g.name, g.inputs])).to.deep.equal(generators(before).map((g) => [g.type, g.name, g.inputs]));
    });

    it("refuses another mode, naming the stack file and the key", async () => {
        const run = await runStack("dev", { patch: (c) => (c["platform:gitlab"].registryDatabase = "off") });
        expect(run.error?.message).to.match(/Pulumi\.dev\.yaml: gitlab\.registryDatabase: .*off.*on, import/);
    });
});

/**
 * gitlab/entrypoint.sh's step before reconfigure: the registry's role and
 * database, run under bash with a fake init, against a fake psql (what it is
 * handed) and a real PostgreSQL (what the SQL does, twice).
 */
describe("entrypoint.sh: the registry's role and database", function () {
    this.timeout(120_000);
    const PORT = 55494;
    const DATADIR = `/tmp/platform-test-pg-${PORT}`;
    const pgEnv = { ...process.env, PGPORT: String(PORT), PGDATA_DIR: DATADIR };
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "registry-db-"))));
    after(() => {
        execFileSync("bash", [path.join(ROOT, "app/scripts/pg-stop.sh")], { env: pgEnv, stdio: "ignore" });
        fs.rmSync(DATADIR, { recursive: true, force: true });
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    const SETUP = { [REGISTRY_SETUP_ENV.database]: "registry", [REGISTRY_SETUP_ENV.user]: "registry" };
    const PASSWORDS = { [SECRET_ENV.databasePassword]: "master-pw", [SECRET_ENV.registryDatabasePassword]: "registry-pw" };
    /** What PostgreSQL stores for a SCRAM password: iterations, a 16-byte salt, StoredKey and ServerKey (32 bytes each), base64. */
    const SCRAM_VERIFIER = /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/;

    /** Runs the entrypoint in `mode` with a fake init (records that it ran) and `psql` as its client. */
    function entrypoint(mode: string, psql: string, env: Record<string, string>) {
        const dir = fs.mkdtempSync(path.join(tmp, "run-"));
        const init = path.join(dir, "init");
        fs.writeFileSync(init, `#!/bin/bash\ntouch '${dir}/init-ran'\n`, { mode: 0o755 });
        const r = spawnSync("bash", [path.join(ROOT, "gitlab/entrypoint.sh"), mode], {
            env: { PATH: process.env.PATH!, GITLAB_ETC: path.join(dir, "etc"), GITLAB_INIT: init, GITLAB_PSQL: psql, GITLAB_RUBY: "ruby", ...env },
            encoding: "utf8",
        });
        return { r, initRan: fs.existsSync(path.join(dir, "init-ran")) };
    }

    /** A psql that records its arguments, PGPASSWORD, the verifier it is handed and stdin, and exits with `status`. */
    function fakePsql(status: number) {
        const dir = fs.mkdtempSync(path.join(tmp, "psql-"));
        const bin = path.join(dir, "psql");
        const record = `printf '%s\\n' "$@" >'${dir}/args'\nprintf '%s' "$PGPASSWORD" >'${dir}/pgpassword'\nprintf '%s' "$PLATFORM_REGISTRY_DB_VERIFIER" >'${dir}/verifier'`;
        fs.writeFileSync(bin, `#!/bin/bash\n${record}\ncat >'${dir}/stdin'\nexit ${status}\n`, { mode: 0o755 });
        const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : undefined);
        return { bin, read };
    }

    it("migrate: runs psql once before init, as the master user with its password; of the registry's password only a SCRAM verifier, through the environment", () => {
        const psql = fakePsql(0);
        const admin = "host=db.internal port=5432 dbname=gitlabhq_production user=gitlab sslmode=verify-full sslrootcert=/x.pem";
        const { r, initRan } = entrypoint("migrate", psql.bin, { ...SETUP, [REGISTRY_SETUP_ENV.admin]: admin, ...PASSWORDS });
        expect(r.status, r.stderr).to.equal(0);
        expect(initRan).to.equal(true);
        const args = psql.read("args")!.trim().split("\n");
        expect(args[0]).to.equal(admin);
        expect(args).to.include.members(["ON_ERROR_STOP=1", "db=registry", "user=registry"]);
        expect(psql.read("pgpassword")).to.equal(PASSWORDS[SECRET_ENV.databasePassword]);
        expect(psql.read("args")).to.not.include(PASSWORDS[SECRET_ENV.registryDatabasePassword]);
        // The SQL reads the verifier, never the password's variable: PostgreSQL stores a verifier as it is.
        expect(psql.read("stdin")).to.include("\\getenv verifier PLATFORM_REGISTRY_DB_VERIFIER");
        expect(psql.read("stdin")).to.not.include(SECRET_ENV.registryDatabasePassword);
        expect(psql.read("verifier")).to.match(SCRAM_VERIFIER);
        expect(psql.read("verifier")).to.not.include(PASSWORDS[SECRET_ENV.registryDatabasePassword]);
    });

    it("without the setup variables (web, Sidekiq, Gitaly, backup): psql never runs", () => {
        const psql = fakePsql(0);
        for (const mode of ["worker", "backup", "post-migrate"]) {
            const { r, initRan } = entrypoint(mode, psql.bin, PASSWORDS);
            expect(r.status, `${mode}: ${r.stderr}`).to.equal(0);
            expect(initRan, mode).to.equal(true);
        }
        expect(psql.read("args")).to.equal(undefined);
    });

    for (const missing of [SECRET_ENV.registryDatabasePassword, SECRET_ENV.databasePassword, REGISTRY_SETUP_ENV.admin]) {
        it(`with ${missing} empty: exit 64 naming it; neither psql nor init runs`, () => {
            const psql = fakePsql(0);
            const { r, initRan } = entrypoint("migrate", psql.bin, { ...SETUP, [REGISTRY_SETUP_ENV.admin]: "host=x", ...PASSWORDS, [missing]: "" });
            expect(r.status).to.equal(64);
            expect(r.stderr).to.include(missing);
            expect(initRan).to.equal(false);
            expect(psql.read("args")).to.equal(undefined);
        });
    }

    it("when psql fails: exits non-zero and never starts init (no migration against a missing database)", () => {
        const { r, initRan } = entrypoint("migrate", fakePsql(3).bin, { ...SETUP, [REGISTRY_SETUP_ENV.admin]: "host=x", ...PASSWORDS });
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.include("could not create the registry's role and database");
        expect(initRan).to.equal(false);
    });

    it("on PostgreSQL, as a non-superuser master: creates the role and its database, again without error, and a new secret becomes the password", () => {
        // pg-start.sh's `app` is, like RDS's master, no superuser: it may create roles and databases.
        const url = new URL(execFileSync("bash", [path.join(ROOT, "app/scripts/pg-start.sh")], { env: pgEnv, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n").pop()!);
        const admin = `host=${url.hostname} port=${url.port} dbname=${url.pathname.slice(1)} user=${url.username} sslmode=disable`;
        // The real psql, echoing every statement it sends to the server (\\gexec's too) into `sent`.
        const sent = path.join(fs.mkdtempSync(path.join(tmp, "sent-")), "sent");
        const client = path.join(path.dirname(sent), "psql");
        fs.writeFileSync(client, `#!/bin/bash\npsql --echo-queries "$@" >>'${sent}'\n`, { mode: 0o755 });
        const run = (password: string) =>
            entrypoint("serve-less", client, { ...SETUP, [REGISTRY_SETUP_ENV.admin]: admin, [SECRET_ENV.databasePassword]: url.password, [SECRET_ENV.registryDatabasePassword]: password });
        const asRegistry = (password: string) =>
            spawnSync("psql", [`host=${url.hostname} port=${url.port} dbname=registry user=registry`, "-XAtc", "SELECT current_user, pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"], {
                env: { ...process.env, PGPASSWORD: password },
                encoding: "utf8",
            });
        for (const password of ["first-secret", "first-secret", "second-secret"]) {
            const { r } = run(password);
            // The mode is unknown on purpose: the step runs before the mode is read, so nothing else happens.
            expect(r.stderr, password).to.include("unknown mode serve-less");
            expect(r.stdout, password).to.include("database registry and role registry ready");
            const login = asRegistry(password);
            expect(login.stdout.trim(), `${password}: ${login.stderr}`).to.equal("registry|registry");
        }
        expect(asRegistry("first-secret").status, "the old password no longer works").to.not.equal(0);
        // The server was told verifiers only: no statement it could log holds a password.
        const statements = fs.readFileSync(sent, "utf8");
        expect(statements.match(/ALTER ROLE registry WITH LOGIN PASSWORD '[^']*'/g)?.map((a) => a.split("'")[1])).to.have.lengthOf(3).and.to.satisfy((v: string[]) => v.every((x) => SCRAM_VERIFIER.test(x)));
        for (const password of ["first-secret", "second-secret"]) expect(statements).to.not.include(password);
    });

    it("a registry password outside printable ASCII (which PostgreSQL would SASLprep): exit 64, neither psql nor init runs", () => {
        const psql = fakePsql(0);
        const { r, initRan } = entrypoint("migrate", psql.bin, { ...SETUP, [REGISTRY_SETUP_ENV.admin]: "host=x", ...PASSWORDS, [SECRET_ENV.registryDatabasePassword]: "pässwort" });
        expect(r.status).to.equal(64);
        expect(r.stderr).to.include("could not compute its SCRAM verifier");
        expect([initRan, psql.read("args")]).to.deep.equal([false, undefined]);
    });
});
