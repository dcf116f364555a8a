import { expect } from "chai";
import { spawnSync } from "child_process";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RDS_CA } from "../components/database";
import { tagOf } from "../facts/imagePins";
import { APP_RDS_CA_BUNDLE } from "../components/app/taskDefinition";
import { RDS_CA_BUNDLE } from "../components/gitlab/gitlabRb";
import { BACKUP_LOG_LINES } from "../components/gitlab/backup";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { readStackConfig, ROOT, STACKS } from "../sim/harness";

/** The GitLab image (gitlab/): what the Dockerfile builds, and its entrypoint and backup scripts run for real under bash. */

const DIR = path.join(ROOT, "gitlab");
const read = (file: string) => fs.readFileSync(path.join(DIR, file), "utf8");
// Declared by the gitlab/gitlab-ce base image: a mount there would hide whatever the image put there.
const IMAGE_VOLUMES = ["/etc/gitlab", "/var/opt/gitlab", "/var/log/gitlab"];
const HOST_KEYS = { rsa: SECRET_ENV.sshHostRsaKey, ecdsa: SECRET_ENV.sshHostEcdsaKey, ed25519: SECRET_ENV.sshHostEd25519Key } as const;
type KeyType = keyof typeof HOST_KEYS;
const KEY_TYPES = Object.keys(HOST_KEYS) as KeyType[];

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): { op: string; args: string }[] {
    return read("Dockerfile")
        .replace(/\\\n/g, " ")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => ({ op: l.split(/\s+/)[0].toUpperCase(), args: l.slice(l.indexOf(" ") + 1).trim() }));
}

/** Every COPY by destination: its source and --chmod. */
function copies(): Map<string, { src: string; chmod?: number }> {
    const out = new Map<string, { src: string; chmod?: number }>();
    for (const { args } of dockerfile().filter((i) => i.op === "COPY")) {
        const words = args.split(/\s+/);
        const chmod = words.find((w) => w.startsWith("--chmod="))?.slice("--chmod=".length);
        const [src, dest] = words.filter((w) => !w.startsWith("--"));
        out.set(dest, { src, chmod: chmod === undefined ? undefined : parseInt(chmod, 8) });
    }
    return out;
}

const cn = (c: X509Certificate) => c.subject.split("\n").find((l) => l.startsWith("CN="))!.slice(3);
/** `env -0` output as a map (NUL-separated: the key values span lines). */
const parseEnv = (dump: string) => Object.fromEntries(dump.split("\0").filter(Boolean).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
const sh = (args: string[], env: Record<string, string>) => spawnSync("bash", args, { env: { PATH: process.env.PATH!, ...env }, encoding: "utf8", timeout: 30_000 });

describe("GitLab image", () => {
    let tmp: string;
    const keys = {} as Record<KeyType, string>;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-image-"));
        for (const type of KEY_TYPES) {
            const r = spawnSync("ssh-keygen", ["-q", "-N", "", "-t", type, "-f", path.join(tmp, type)], { encoding: "utf8" });
            expect(r.status, r.stderr).to.equal(0);
            keys[type] = fs.readFileSync(path.join(tmp, type), "utf8");
        }
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const publicKey = (file: string) => spawnSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).stdout;
    const keyEnv = (): Record<string, string> => Object.fromEntries(KEY_TYPES.map((t) => [HOST_KEYS[t], keys[t]]));

    /** Runs entrypoint.sh with a fake init-container (GITLAB_INIT) that records its pid, environment and the etc dir it was handed. */
    function entrypoint(args: string[], env: Record<string, string>) {
        const dir = fs.mkdtempSync(path.join(tmp, "run-"));
        const etc = path.join(dir, "etc");
        const init = path.join(dir, "fake-init");
        fs.writeFileSync(init, `#!/bin/bash\necho $$ >'${dir}/pid'\nenv -0 >'${dir}/env'\nls -l '${etc}' >'${dir}/ls'\n`, { mode: 0o755 });
        const r = sh([path.join(DIR, "entrypoint.sh"), ...args], { GITLAB_ETC: etc, GITLAB_INIT: init, ...env });
        const ran = fs.existsSync(path.join(dir, "env"));
        const out = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
        return { r, ran, etc, env: ran ? parseEnv(out("env")) : {}, out };
    }

    describe("Dockerfile", () => {
        it("builds on the pinned CE release, never a moving tag", () => {
            const froms = dockerfile().filter((i) => i.op === "FROM");
            // By its release tag, and its digest once pinned (tools/pinImages.ts).
            expect(froms.map((f) => tagOf(f.args))).to.deep.equal(["gitlab/gitlab-ce:19.5.3-ce.0"]);
            expect(froms[0].args).to.match(/^gitlab\/gitlab-ce:\d+\.\d+\.\d+-ce\.0(@sha256:[0-9a-f]{64})?$/);
        });

        it("puts the RDS CA bundle where omnibusConfig points db_sslrootcert, outside the image's volumes", () => {
            expect(copies().get(RDS_CA_BUNDLE)?.src).to.equal("rds-global-bundle.pem");
            for (const v of [...IMAGE_VOLUMES, ...dockerfile().filter((i) => i.op === "VOLUME").map((i) => i.args)]) {
                expect(RDS_CA_BUNDLE === v || RDS_CA_BUNDLE.startsWith(`${v}/`), `${RDS_CA_BUNDLE} under volume ${v}`).to.equal(false);
            }
        });

        it("enters through /opt/platform/entrypoint.sh (exec form, so it gets the signals), with every script there executable", () => {
            const entry = dockerfile().filter((i) => i.op === "ENTRYPOINT");
            expect(entry.map((e) => JSON.parse(e.args))).to.deep.equal([["/opt/platform/entrypoint.sh"]]);
            for (const script of ["entrypoint.sh", "backup.sh", "settings.sh"]) {
                const copy = copies().get(`/opt/platform/${script}`);
                expect(copy?.src, script).to.equal(script);
                expect((copy?.chmod ?? 0) & 0o111, `${script} executable by all`).to.equal(0o111);
            }
        });
    });

    describe("RDS CA bundle", () => {
        const pem = read("rds-global-bundle.pem");
        const certs = (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
        const names = certs.map(cn);

        it("the app image carries the same bundle (its database TLS is verify-full too)", () => {
            expect(fs.readFileSync(path.join(ROOT, "app/certs/rds-global-bundle.pem"), "utf8")).to.equal(pem);
            expect(APP_RDS_CA_BUNDLE).to.equal("/app/certs/rds-global-bundle.pem");
            expect(fs.readFileSync(path.join(ROOT, "app/Dockerfile"), "utf8")).to.match(/^COPY \. \/app\/$/m);
        });

        it("parses completely: only CA certificates, none expired", () => {
            expect(certs.length).to.equal(pem.split("BEGIN CERTIFICATE").length - 1).and.be.greaterThan(0);
            for (const c of certs) {
                expect(c.ca, cn(c)).to.equal(true);
                expect(new Date(c.validTo).getTime(), `${cn(c)} expired ${c.validTo}`).to.be.greaterThan(Date.now());
            }
        });

        it("holds the CA the database is created with (RDS_CA), in every stack's region", () => {
            const [, alg] = /^rds-ca-(rsa2048|rsa4096|ecc384)-g1$/.exec(RDS_CA) ?? [];
            expect(alg, RDS_CA).to.be.a("string");
            for (const stack of STACKS) {
                expect(names).to.include(`Amazon RDS ${readStackConfig(stack)["aws:region"]} Root CA ${alg.toUpperCase()} G1`);
            }
        });

        it("holds every G1 root of us-east-1 and eu-central-1, so a CA change or region move needs no new bundle", () => {
            for (const region of ["us-east-1", "eu-central-1"]) {
                for (const alg of ["RSA2048", "RSA4096", "ECC384"]) expect(names).to.include(`Amazon RDS ${region} Root CA ${alg} G1`);
            }
        });
    });

    describe("entrypoint.sh", () => {
        it("serve: writes the host keys (0600) and their public halves, then execs init without the private keys in its environment", () => {
            // ed25519 without its final newline, as a JSON secret may hold it: the file must still end in one.
            const given: Record<string, string> = { ...keyEnv(), [HOST_KEYS.ed25519]: keys.ed25519.trimEnd(), GITLAB_OMNIBUS_CONFIG: "external_url 'https://x'" };
            const { r, ran, etc, env, out } = entrypoint(["serve"], given);
            expect(r.status, r.stderr).to.equal(0);
            expect(ran, "init ran").to.equal(true);
            expect(Number(out("pid")), "init replaced the entrypoint (exec), so it gets ECS's SIGTERM").to.equal(r.pid);
            for (const type of KEY_TYPES) {
                const file = path.join(etc, `ssh_host_${type}_key`);
                // The script writes the value plus one newline.
                expect(fs.readFileSync(file, "utf8"), type).to.equal(`${given[HOST_KEYS[type]]}\n`);
                expect(fs.statSync(file).mode & 0o777, type).to.equal(0o600);
                expect(fs.readFileSync(`${file}.pub`, "utf8"), type).to.equal(publicKey(path.join(tmp, type))).and.match(/^(ssh|ecdsa)-/);
                expect(out("ls"), "the keys exist before init starts").to.match(new RegExp(`^-rw------- .* ssh_host_${type}_key$`, "m"));
                expect(env, "no process GitLab starts inherits a private key").not.to.have.property(HOST_KEYS[type]);
            }
            expect(env.GITLAB_OMNIBUS_CONFIG).to.equal(given.GITLAB_OMNIBUS_CONFIG);
        });

        for (const type of KEY_TYPES) {
            for (const [how, value] of [["missing", undefined], ["empty", ""]] as const) {
                it(`serve with ${HOST_KEYS[type]} ${how}: exit 64 naming it, init never runs`, () => {
                    const env = keyEnv();
                    if (value === undefined) delete env[HOST_KEYS[type]];
                    else env[HOST_KEYS[type]] = value;
                    const { r, ran } = entrypoint(["serve"], env);
                    expect(r.status).to.equal(64);
                    expect(r.stderr).to.include(HOST_KEYS[type]);
                    expect(ran).to.equal(false);
                });
            }
        }

        it("serve with a value that is not a key: fails naming it, init never runs", () => {
            const { r, ran } = entrypoint(["serve"], { ...keyEnv(), [HOST_KEYS.rsa]: "not a key" });
            expect(r.status).to.equal(64);
            expect(r.stderr).to.include(HOST_KEYS.rsa);
            expect(ran).to.equal(false);
        });

        it("serve is the default mode", () => {
            expect(entrypoint([], {}).r.status, "serve without keys fails").to.equal(64);
            expect(entrypoint([], keyEnv()).r.status).to.equal(0);
        });

        it("rejects an unknown mode with 64, before init", () => {
            const { r, ran } = entrypoint(["restore"], keyEnv());
            expect(r.status).to.equal(64);
            expect(r.stderr).to.include("unknown mode restore");
            expect(ran).to.equal(false);
        });

        describe("backup", () => {
            let run: ReturnType<typeof entrypoint>;
            before(() => (run = entrypoint(["backup"], {})));

            it("needs no host keys; tells init: no sshd, no log tailing, run the Dockerfile's backup.sh after reconfigure", () => {
                expect(run.r.status, run.r.stderr).to.equal(0);
                expect(run.ran).to.equal(true);
                expect(fs.readdirSync(run.etc), "no keys written").to.deep.equal([]);
                expect(run.env).to.include({ GITLAB_DISABLE_OPENSSH: "true", GITLAB_SKIP_TAIL_LOGS: "true" });
                const backupPath = [...copies()].find(([, c]) => c.src === "backup.sh")![0];
                expect(run.env.GITLAB_POST_RECONFIGURE_SCRIPT.split(";")[0].trim()).to.equal(backupPath);
            });

            // init-container evals the script; its `exit` must end the task with the backup's status, never go on serving.
            for (const status of [5, 0]) {
                it(`the post-reconfigure script ends init with the backup's status (${status})`, () => {
                    const fake = path.join(tmp, `backup-${status}.sh`);
                    fs.writeFileSync(fake, `#!/bin/bash\nexit ${status}\n`, { mode: 0o755 });
                    const script = run.env.GITLAB_POST_RECONFIGURE_SCRIPT.replace("/opt/platform/backup.sh", fake);
                    expect(script).to.include(fake);
                    const r = sh(["-c", 'eval "$S"; echo "init went on"'], { S: script });
                    expect(r.status).to.equal(status);
                    expect(r.stdout).not.to.include("init went on");
                });
            }
        });
    });

    describe("entrypoint.sh, split topology modes", () => {
        it("worker (Sidekiq, Gitaly): no host keys needed or written, no sshd, logs tailed as usual", () => {
            const run = entrypoint(["worker"], {});
            expect(run.r.status, run.r.stderr).to.equal(0);
            expect(run.ran).to.equal(true);
            expect(fs.readdirSync(run.etc)).to.deep.equal([]);
            expect(run.env.GITLAB_DISABLE_OPENSSH).to.equal("true");
            expect(run.env).to.not.have.property("GITLAB_SKIP_TAIL_LOGS");
            expect(run.env).to.not.have.property("GITLAB_POST_RECONFIGURE_SCRIPT");
        });

        /** init-container evals the script; its `exit` must end the task with the settings script's status. */
        const endsWithSettings = (script: string) => {
            const settingsPath = [...copies()].find(([, c]) => c.src === "settings.sh")![0];
            expect(script.split(";")[0].trim()).to.equal(settingsPath);
            for (const status of [3, 0]) {
                const fake = path.join(tmp, `settings-${status}.sh`);
                fs.writeFileSync(fake, `#!/bin/bash\nexit ${status}\n`, { mode: 0o755 });
                const r = sh(["-c", 'eval "$S"; echo "init went on"'], { S: script.replace(settingsPath, fake) });
                expect(r.status).to.equal(status);
                expect(r.stdout).not.to.include("init went on");
            }
        };

        it("migrate: regular migrations only (SKIP_POST_DEPLOYMENT_MIGRATIONS), the instance settings, then init exits instead of serving", () => {
            const run = entrypoint(["migrate"], {});
            expect(run.r.status, run.r.stderr).to.equal(0);
            expect(fs.readdirSync(run.etc)).to.deep.equal([]);
            expect(run.env).to.include({ SKIP_POST_DEPLOYMENT_MIGRATIONS: "true", GITLAB_DISABLE_OPENSSH: "true", GITLAB_SKIP_TAIL_LOGS: "true" });
            endsWithSettings(run.env.GITLAB_POST_RECONFIGURE_SCRIPT);
        });

        it("post-migrate: never skips post-deployment migrations, even if the variable leaked in; then the settings script's status ends init", () => {
            // Rails skips post-deployment migrations for any non-empty value, "false" included.
            const run = entrypoint(["post-migrate"], { SKIP_POST_DEPLOYMENT_MIGRATIONS: "false" });
            expect(run.r.status, run.r.stderr).to.equal(0);
            expect(run.env).to.not.have.property("SKIP_POST_DEPLOYMENT_MIGRATIONS");
            expect(run.env).to.include({ GITLAB_DISABLE_OPENSSH: "true", GITLAB_SKIP_TAIL_LOGS: "true" });
            endsWithSettings(run.env.GITLAB_POST_RECONFIGURE_SCRIPT);
        });
    });

    describe("settings.sh", () => {
        function settings(status: number) {
            const dir = fs.mkdtempSync(path.join(tmp, "settings-"));
            const log = path.join(dir, "calls");
            const rails = path.join(dir, "gitlab-rails");
            fs.writeFileSync(rails, `#!/bin/bash\nprintf '%s\\t' "$@" >>'${log}'\necho >>'${log}'\nexit ${status}\n`, { mode: 0o755 });
            const r = sh([path.join(DIR, "settings.sh")], { GITLAB_RAILS: rails });
            return { r, calls: fs.readFileSync(log, "utf8").trim().split("\n").map((l) => l.replace(/\t$/, "").split("\t")) };
        }

        it("turns on incremental job logging through the instance setting that replaced the feature flag", () => {
            const { r, calls } = settings(0);
            expect(r.status, r.stderr).to.equal(0);
            expect(calls).to.have.length(1);
            expect(calls[0][0]).to.equal("runner");
            expect(calls[0][1]).to.match(/ApplicationSetting\.current_without_cache\.update!\(ci_job_live_trace_enabled: true\)/);
            expect(calls[0][1]).to.not.include("Feature.enable");
        });

        it("fails the post-migrate task when Rails refuses", () => {
            const { r } = settings(1);
            expect(r.status).to.equal(1);
            expect(r.stderr).to.include("failed to turn on incremental job logging");
        });
    });

    describe("backup.sh", () => {
        const OBJECT_STORAGE = ["uploads", "builds", "artifacts", "pages", "lfs", "terraform_state", "registry", "packages", "ci_secure_files", "external_diffs"];

        /** Runs backup.sh with fake gitlab-backup and gitlab-ctl first on PATH, each logging its name and arguments. */
        function backup(status: number) {
            const dir = fs.mkdtempSync(path.join(tmp, "backup-"));
            const log = path.join(dir, "calls");
            fs.mkdirSync(path.join(dir, "bin"));
            for (const name of ["gitlab-backup", "gitlab-ctl"]) {
                const exit = name === "gitlab-backup" ? status : 0;
                fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/bash\n(IFS=$'\\t'; echo "${name}\t$*") >>'${log}'\nexit ${exit}\n`, { mode: 0o755 });
            }
            const r = spawnSync("bash", [path.join(DIR, "backup.sh")], { env: { PATH: `${dir}/bin:${process.env.PATH}` }, encoding: "utf8" });
            const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((l) => l.split("\t")) : [];
            return { r, calls };
        }

        it("backs up database and repositories (server-side), skipping every object-storage type, then stops GitLab", () => {
            const { r, calls } = backup(0);
            expect(r.status, r.stderr).to.equal(0);
            expect(calls.map((c) => c[0])).to.deep.equal(["gitlab-backup", "gitlab-ctl"]);
            const [create, stop] = calls;
            expect(create.slice(1, 3)).to.deep.equal(["create", "REPOSITORIES_SERVER_SIDE=true"]);
            const skip = create.find((a) => a.startsWith("SKIP="))!.slice(5).split(",");
            expect([...skip].sort()).to.deep.equal([...OBJECT_STORAGE].sort());
            expect(skip).not.to.include("db");
            expect(skip).not.to.include("repositories");
            expect(create).to.have.length(4);
            expect(stop.slice(1)).to.deep.equal(["stop"]);
            // The line the "no success in 26 hours" alarm counts.
            expect(r.stdout.split("\n")).to.include(BACKUP_LOG_LINES.succeeded);
        });

        it("passes a failure on, printing the line the CloudWatch metric filter in gitlab.ts counts", () => {
            const { r, calls } = backup(3);
            expect(r.status).to.equal(3);
            expect(r.stderr.split("\n")).to.include("platform-backup: failed with status 3");
            expect(calls.map((c) => c.join(" "))).to.include("gitlab-ctl stop");
            const phrase = BACKUP_LOG_LINES.failed;
            expect(r.stderr).to.include(phrase);
            expect(r.stdout + r.stderr, "a failure is not counted as a success").not.to.include(BACKUP_LOG_LINES.succeeded);
            const ok = backup(0).r;
            expect(ok.stdout + ok.stderr, "a success is not counted").not.to.include(phrase);
        });
    });
});
