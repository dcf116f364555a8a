import { spawnSync } from "child_process";
import { expect } from "chai";
import { prodSingle } from "./variants";
import { RDS_CA } from "../components/database";
import { BACKUP_LOG_LINES } from "../components/gitlab/backup";
import { RDS_CA_BUNDLE } from "../components/gitlab/gitlabRb";
import { documentedKeyOf, DOCUMENTED_KEYS } from "../components/gitlab/omnibusKeys";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { OBJECT_TYPES } from "../components/gitlab/storage";
import { backupTask, callArg, Container, containerOf, envValue, evaluateContainer, keyPath, mainTask, policyOf, T, valueAt } from "./gitlabHelpers";
import { inComponent, named, ofType, stackRun, STACKS } from "../sim/harness";
import { stackValues } from "./stackValues";

/** dev as it is; prod with the single topology. */
const singleRun = (stack: string) => (stack === "prod" ? prodSingle() : stackRun(stack));

describe("GitLab (single topology)", () => {
    for (const stack of STACKS) {
        const zone = stackValues(stack).zone;

        describe(stack === "prod" ? "prod as single" : stack, () => {
            it("runs exactly one task, stopped before its replacement starts, never autoscaled", async () => {
                const run = await singleRun(stack);
                const svc = named(run, T.service, "gitlab");
                expect(svc.inputs).to.include({ desiredCount: 1, deploymentMinimumHealthyPercent: 0, deploymentMaximumPercent: 100 });
                expect(svc.inputs.networkConfiguration.assignPublicIp).to.equal(false);
                expect(svc.ignoreChanges).to.deep.equal([]);
                const scaled = ofType(run, T.scalingTarget).filter((t) => String(t.inputs.resourceId).includes(String(run.outputs.gitlabServiceName)));
                expect(scaled).to.deep.equal([]);
                expect(inComponent(run, "aws:appautoscaling/policy:Policy", "gitlab")).to.deep.equal([]);
                expect(svc.inputs.capacityProviderStrategies[0].capacityProvider).to.equal(stack === "dev" ? "FARGATE_SPOT" : "FARGATE");
            });

            it("never rolls GitLab back onto a schema its new version migrated, and no alarm gates its rollout", async () => {
                const run = await singleRun(stack);
                const svc = named(run, T.service, "gitlab");
                expect(svc.inputs.deploymentCircuitBreaker).to.deep.equal({ enable: true, rollback: false });
                // A fresh task is unhealthy for minutes by design; an alarm on that would fail every deployment.
                expect(svc.inputs.alarms).to.equal(undefined);
                // The app keeps both.
                const app = named(run, T.service, "app");
                expect(app.inputs.deploymentCircuitBreaker.rollback).to.equal(true);
                expect(app.inputs.alarms.rollback).to.equal(true);
            });

            it("sizes the task at 4 vCPU / 8 GB or more, with a readiness health check and a long grace", async () => {
                const run = await singleRun(stack);
                const td = mainTask(run);
                expect(Number(td.inputs.cpu)).to.be.at.least(4096);
                expect(Number(td.inputs.memory)).to.be.at.least(8192);
                const c = containerOf(td);
                // Not the image's gitlab-healthcheck, which passes before reconfigure has finished (tests/gitlabReadiness.test.ts).
                expect(c.healthCheck.command).to.deep.equal(["CMD", "/opt/gitlab/embedded/bin/curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/-/readiness"]);
                expect(c.healthCheck.startPeriod).to.equal(300);
                expect(c.image).to.equal(run.outputs.gitlabImageRef);
                expect(c.image).to.match(/@sha256:[0-9a-f]{64}$/);
                const svc = named(run, T.service, "gitlab");
                expect(svc.inputs.healthCheckGracePeriodSeconds).to.be.at.least(600);
                expect(c.logConfiguration.options["awslogs-group"]).to.equal(run.outputs.gitlabLogGroup);
            });

            it("checks /-/readiness on the web target group and drains for at most 120 s", async () => {
                const run = await singleRun(stack);
                const web = named(run, T.tg, "gitlab-web");
                expect(web.inputs.healthCheck).to.include({ path: "/-/readiness", matcher: "200" });
                for (const tg of inComponent(run, T.tg, "gitlab")) {
                    expect(tg.inputs.deregistrationDelay, tg.name).to.be.at.most(120);
                }
                const rules = inComponent(run, T.rule, "gitlab");
                expect(rules.map((r) => r.inputs.conditions[0].hostHeader.values[0]).sort()).to.deep.equal([`gitlab.${zone}`, `registry.gitlab.${zone}`]);
                const svc = named(run, T.service, "gitlab");
                const byPort = Object.fromEntries(svc.inputs.loadBalancers.map((l: any) => [l.containerPort, l.targetGroupArn]));
                expect(byPort).to.deep.equal({ 80: web.state.arn, 5050: named(run, T.tg, "gitlab-registry").state.arn, 22: named(run, T.tg, "gitlab-ssh").state.arn });
            });

            it("serves git over SSH through an NLB on 22 with the configured allow-list", async () => {
                const run = await singleRun(stack);
                const nlb = named(run, T.lb, "gitlab-ssh");
                expect(nlb.inputs).to.include({ loadBalancerType: "network", internal: false, enableCrossZoneLoadBalancing: true });
                expect(nlb.inputs.subnets).to.deep.equal(run.outputs.publicSubnetIds);
                const listener = named(run, T.listener, "gitlab-ssh");
                expect(listener.inputs).to.include({ port: 22, protocol: "TCP" });
                expect(listener.inputs.defaultActions[0].targetGroupArn).to.equal(named(run, T.tg, "gitlab-ssh").state.arn);
                const nlbSg = named(run, T.sg, "gitlab-ssh-nlb");
                expect(nlb.inputs.securityGroups).to.deep.equal([nlbSg.id]);
                const open = ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === nlbSg.id);
                expect(open.map((r) => [r.inputs.cidrIpv4, r.inputs.fromPort, r.inputs.toPort])).to.deep.equal([["0.0.0.0/0", 22, 22]]);
                // The task admits 22 from the NLB only.
                const taskSg = named(run, T.sg, "gitlab-tasks");
                const toTask22 = ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === taskSg.id && r.inputs.fromPort === 22);
                expect(toTask22.map((r) => r.inputs.referencedSecurityGroupId)).to.deep.equal([nlbSg.id]);
                const record = named(run, T.record, `gitlab-ssh-ssh.gitlab.${zone}`);
                expect(record.inputs.aliases[0]).to.include({ name: nlb.state.dnsName, zoneId: nlb.state.zoneId });
                expect(run.outputs.gitlabSshHost).to.equal(`ssh.gitlab.${zone}`);
            });

            it("keeps repositories on an encrypted EFS reached over TLS with IAM through one access point", async () => {
                const run = await singleRun(stack);
                const fs = named(run, T.fs, "gitlab-repositories");
                expect(fs.inputs.encrypted).to.equal(true);
                expect(fs.protect).to.equal(stack === "prod");
                const ap = named(run, T.ap, "gitlab-repositories");
                expect(ap.inputs.posixUser).to.equal(undefined);
                expect(ap.inputs.rootDirectory.path).to.equal("/gitlab");
                const mounts = ofType(run, T.mount);
                expect(mounts).to.have.length(stack === "prod" ? 3 : 2);
                expect(mounts.map((m) => m.inputs.subnetId)).to.deep.equal(run.outputs.privateSubnetIds);
                // NFS only from the GitLab task.
                const nfsSg = named(run, T.sg, "gitlab-repositories-nfs");
                for (const m of mounts) {
                    expect(m.inputs.securityGroups).to.deep.equal([nfsSg.id]);
                }
                const nfs = ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === nfsSg.id);
                expect(nfs.map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId])).to.deep.equal([[2049, named(run, T.sg, "gitlab-tasks").id]]);
                const volume = mainTask(run).inputs.volumes[0].efsVolumeConfiguration;
                expect(volume).to.deep.include({ fileSystemId: fs.id, transitEncryption: "ENABLED", authorizationConfig: { accessPointId: ap.id, iam: "ENABLED" } });
                expect(containerOf(mainTask(run)).mountPoints).to.deep.equal([{ sourceVolume: "repositories", containerPath: "/var/opt/gitlab/git-data", readOnly: false }]);

                const policy = JSON.parse(named(run, T.fsPolicy, "gitlab-repositories").inputs.policy).Statement as any[];
                const deny = policy.find((s) => s.Effect === "Deny");
                expect(deny.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
                expect(deny.Principal).to.deep.equal({ AWS: "*" });
                const allows = policy.filter((s) => s.Effect === "Allow");
                const taskRole = named(run, T.role, "gitlab-task");
                expect(allows.map((s) => s.Principal)).to.deep.equal([{ AWS: taskRole.state.arn }]);
                expect(allows[0].Condition.StringEquals).to.deep.equal({ "elasticfilesystem:AccessPointArn": ap.state.arn });
                const grant = policyOf(run, "gitlab-task-policy").find((s) => s.Sid === "Repositories");
                expect(grant.Action.sort()).to.deep.equal(["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess", "elasticfilesystem:ClientWrite"]);
                expect(grant.Resource).to.deep.equal([fs.state.arn]);
            });

            it("backs the file system up daily with AWS Backup and runs gitlab-backup on a schedule", async () => {
                const run = await singleRun(stack);
                const days = stack === "prod" ? 35 : 7;
                const plan = named(run, T.plan, "gitlab-repositories");
                expect(plan.inputs.rules[0]).to.deep.include({ schedule: "cron(30 3 * * ? *)", scheduleExpressionTimezone: "UTC", lifecycle: { deleteAfter: days } });
                expect(named(run, T.selection, "gitlab-repositories-selection").inputs.resources).to.deep.equal([named(run, T.fs, "gitlab-repositories").state.arn]);
                expect(named(run, T.vault, "gitlab-repositories-vault").protect).to.equal(stack === "prod");
                const backupRole = policyOf(run, "gitlab-repositories-backup-policy");
                expect(backupRole.find((s) => s.Sid === "BackUp").Resource).to.deep.equal([named(run, T.fs, "gitlab-repositories").state.arn]);

                const schedule = named(run, T.schedule, "gitlab-backup");
                expect(schedule.inputs).to.include({ scheduleExpression: "cron(30 2 * * ? *)", scheduleExpressionTimezone: "UTC" });
                const ecs = schedule.inputs.target.ecsParameters;
                expect(ecs.taskDefinitionArn).to.equal(backupTask(run).state.arn);
                expect(ecs).to.include({ launchType: "FARGATE", taskCount: 1 });
                expect(ecs.networkConfiguration.assignPublicIp).to.equal(false);
                expect(schedule.inputs.target.arn).to.equal(run.outputs.clusterArn);
                const scheduler = policyOf(run, "gitlab-backup-scheduler-policy");
                const runTask = scheduler.find((s) => s.Sid === "RunBackupTask");
                expect(runTask.Condition).to.deep.equal({ ArnEquals: { "ecs:cluster": run.outputs.clusterArn } });
                expect(scheduler.find((s) => s.Sid === "PassTaskRoles").Resource).to.deep.equal([named(run, T.role, "gitlab-backup-task").state.arn, named(run, T.role, "gitlab-backup-execution").state.arn]);
                // The archive bucket keeps what the plan keeps.
                const lifecycle = named(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "gitlab-backups-lifecycle");
                expect(lifecycle.inputs.rules[0].expiration).to.deep.equal({ days });
            });

            it("starts no second Gitaly: the backup task disables it and reaches the one task's Gitaly by name", async () => {
                const run = await singleRun(stack);
                const c = containerOf(backupTask(run));
                expect(c.command).to.deep.equal(["backup"]);
                expect(c.mountPoints ?? []).to.deep.equal([]);
                expect(backupTask(run).inputs.volumes ?? []).to.deep.equal([]);
                const e = evaluateContainer(c);
                expect(valueAt(e, "gitaly['enable']")).to.equal(false);
                expect(valueAt(e, "gitlab_rails['auto_migrate']")).to.equal(false);
                expect(valueAt(e, "gitlab_rails['repositories_storages']")).to.deep.equal({ default: { gitaly_address: `tcp://gitlab.platform-${stack}.internal:8075` } });
                expect(named(run, T.service, "gitlab").inputs.serviceRegistries.registryArn).to.equal(named(run, "aws:servicediscovery/service:Service", "gitlab-dns").state.arn);
                const gitaly = ofType(run, T.ingress).filter((r) => r.inputs.fromPort === 8075);
                // The backup task and the migration task (migrations run beside the old task, by name).
                expect(gitaly.map((r) => r.inputs.referencedSecurityGroupId)).to.deep.equal([named(run, T.sg, "gitlab-backup-tasks").id, named(run, T.sg, "gitlab-migrate").id]);
            });

            it("reads every secret from the same Secrets Manager secrets in both tasks, and none from the environment", async () => {
                const run = await singleRun(stack);
                const main = containerOf(mainTask(run));
                const backup = containerOf(backupTask(run));
                const secretArns = new Set([...inComponent(run, T.secret, "gitlab"), ...inComponent(run, T.secret, "gitlab-db")].map((s) => s.state.arn));
                for (const c of [main, backup]) {
                    for (const s of c.secrets) {
                        expect(secretArns.has(s.valueFrom.split(":").slice(0, 7).join(":")), `${c.name} ${s.name}`).to.equal(true);
                    }
                }
                const mainRefs = Object.fromEntries(main.secrets.map((s) => [s.name, s.valueFrom]));
                for (const s of backup.secrets) {
                    expect(s.valueFrom, s.name).to.equal(mainRefs[s.name]);
                }
                // Every variable the rendered config fetches is injected by ECS (or set by ECS itself).
                for (const c of [main, backup]) {
                    const e = evaluateContainer(c);
                    expect(e.settings.length, c.name).to.be.greaterThan(40);
                }
                // No generated value appears in any environment value of any task.
                // (The database secret also names its host, port and user, which are no secrets.)
                const notSecret = ["engine", "host", "port", "dbname", "username"];
                const values = ofType(run, T.secretVersion).flatMap((v) =>
                    Object.entries(JSON.parse(v.inputs.secretString))
                        .filter(([k]) => !notSecret.includes(k))
                        .map(([, x]) => String(x)),
                );
                // Every generated value of ours (the app database's password is RDS's now, never in the program).
                expect(values.length).to.be.at.least(20);
                for (const td of ofType(run, T.taskDef)) {
                    for (const c of JSON.parse(td.inputs.containerDefinitions) as Container[]) {
                        for (const e of c.environment ?? []) {
                            for (const v of values.filter((x) => x.length >= 12)) {
                                expect(e.value.includes(v), `${td.name} ${e.name}`).to.equal(false);
                            }
                        }
                    }
                }
                // The execution roles read exactly the secrets their tasks use.
                const read = (policy: string) => new Set<string>(policyOf(run, policy).find((s) => s.Sid === "ReadSecrets").Resource);
                expect(read("gitlab-execution-policy")).to.deep.equal(new Set(main.secrets.map((s) => s.valueFrom.split(":").slice(0, 7).join(":"))));
                expect(read("gitlab-backup-execution-policy")).to.deep.equal(new Set(backup.secrets.map((s) => s.valueFrom.split(":").slice(0, 7).join(":"))));
                // Rails secrets, tokens, registry pair, SSH host keys, database password. Everything but
                // the OIDC client's (none configured), ElastiCache's (split only) and the root password
                // (only a seed reads it: the migration task's).
                const absent: string[] = [SECRET_ENV.oidcClientSecret, SECRET_ENV.redisPassword, SECRET_ENV.rootPassword];
                expect(main.secrets.map((s) => s.name).sort()).to.deep.equal(Object.values(SECRET_ENV).filter((n) => !absent.includes(n)).sort());
                for (const s of inComponent(run, T.secret, "gitlab")) {
                    expect(s.protect, s.name).to.equal(stack === "prod");
                }
            });

            it("renders a config that Ruby evaluates to the required settings, using only documented keys", async () => {
                const run = await singleRun(stack);
                const e = evaluateContainer(containerOf(mainTask(run)));
                for (const s of e.settings) {
                    expect(documentedKeyOf(keyPath(s.path)), keyPath(s.path)).to.not.equal(undefined);
                }
                for (const c of e.calls) {
                    expect(DOCUMENTED_KEYS, c.name).to.include(c.name);
                }
                expect(callArg(e, "external_url")).to.equal(`https://gitlab.${zone}`);
                expect(callArg(e, "registry_external_url")).to.equal(`https://registry.gitlab.${zone}`);
                expect(valueAt(e, "letsencrypt['enable']")).to.equal(false);
                expect(valueAt(e, "gitlab_rails['nginx']['listen_port']")).to.equal(80);
                expect(valueAt(e, "gitlab_rails['nginx']['listen_https']")).to.equal(false);
                expect(valueAt(e, "gitlab_rails['nginx']['real_ip_trusted_addresses']")).to.deep.equal([run.outputs.vpcCidr]);
                expect(valueAt(e, "gitlab_rails['nginx']['real_ip_header']")).to.equal("X-Forwarded-For");
                expect(valueAt(e, "gitlab_rails['trusted_proxies']")).to.deep.equal([run.outputs.vpcCidr]);
                expect(valueAt(e, "gitlab_rails['monitoring_whitelist']")).to.include(run.outputs.vpcCidr);
                expect(valueAt(e, "postgresql['enable']")).to.equal(false);
                expect(valueAt(e, "gitlab_rails['db_host']")).to.equal(named(run, T.db, "gitlab-db").state.address);
                expect(valueAt(e, "gitlab_rails['db_sslmode']")).to.equal("verify-full");
                expect(valueAt(e, "gitlab_rails['db_sslrootcert']")).to.equal(RDS_CA_BUNDLE);
                expect(named(run, T.db, "gitlab-db").inputs.caCertIdentifier).to.equal(RDS_CA);
                expect(valueAt(e, "gitlab_rails['db_password']")).to.equal(`dummy-${SECRET_ENV.databasePassword}`);
                // Object storage: every type, each in its own bucket of this stack, through the task role.
                expect(valueAt(e, "gitlab_rails['object_store']['connection']")).to.deep.include({ provider: "AWS", use_iam_profile: true, region: "us-east-1" });
                const buckets = new Map(inComponent(run, T.bucket, "gitlab").map((b) => [b.name, b.state.bucket]));
                for (const t of OBJECT_TYPES) {
                    expect(valueAt(e, `gitlab_rails['object_store']['objects']['${t}']['bucket']`), t).to.equal(buckets.get(`gitlab-${t.replace(/_/g, "-")}`));
                }
                expect(valueAt(e, "registry['storage']")).to.deep.equal({ s3_v2: { bucket: buckets.get("gitlab-registry"), region: "us-east-1" } });
                expect(valueAt(e, "gitlab_rails['backup_upload_remote_directory']")).to.equal(buckets.get("gitlab-backups"));
                expect(valueAt(e, "gitlab_rails['backup_upload_storage_options']")).to.deep.equal({ server_side_encryption: "aws:kms" });
                expect(valueAt(e, "gitaly['configuration']").backup.go_cloud_url).to.equal(`s3://${buckets.get("gitlab-backups")}?region=us-east-1`);
                // Secrets: from the environment, in the shapes Omnibus expects.
                expect(valueAt(e, "gitlab_rails['secret_key_base']")).to.equal(`dummy-${SECRET_ENV.secretKeyBase}`);
                expect(valueAt(e, "gitlab_rails['active_record_encryption_primary_key']")).to.deep.equal([`dummy-${SECRET_ENV.activeRecordPrimaryKey}`]);
                expect(valueAt(e, "gitlab_rails['active_record_encryption_key_derivation_salt']")).to.be.a("string");
                expect(valueAt(e, "gitlab_rails['gitaly_token']")).to.equal(valueAt(e, "gitaly['configuration']").auth.token);
                expect(valueAt(e, "gitaly['gitlab_secret']")).to.equal(valueAt(e, "gitlab_shell['secret_token']"));
                // It never migrates or seeds (the migration task does): no root password either.
                expect(valueAt(e, "gitlab_rails['auto_migrate']")).to.equal(false);
                expect(e.settings.filter((x) => keyPath(x.path).includes("root_password"))).to.deep.equal([]);
                // Metrics: no bundled Prometheus; Rails' metric files off /dev/shm.
                expect(valueAt(e, "prometheus_monitoring['enable']")).to.equal(false);
                expect(callArg(e, "runtime_dir")).to.equal("/run");
                expect(valueAt(e, "gitlab_rails['gitlab_ssh_host']")).to.equal(`ssh.gitlab.${zone}`);
                // Dev's 8 GB all-in-one task by Omnibus's memory-constrained guide (2 workers, Sidekiq at 10);
                // prod as single at GitLab's 16 GB baseline: a worker per vCPU and Sidekiq's default 20.
                const [workers, concurrency] = stack === "prod" ? [8, 20] : [2, 10];
                expect(Number(mainTask(run).inputs.memory)).to.equal(stack === "prod" ? 16384 : 8192);
                expect(valueAt(e, "puma['worker_processes']")).to.equal(workers);
                expect(valueAt(e, "puma['max_threads']")).to.equal(4);
                expect(valueAt(e, "sidekiq['concurrency']")).to.equal(concurrency);
            });

            it("passes `ruby -c` for both roles", async () => {
                const run = await singleRun(stack);
                for (const td of [mainTask(run), backupTask(run)]) {
                    const r = spawnSync("ruby", ["-c"], { input: envValue(containerOf(td), "GITLAB_OMNIBUS_CONFIG"), encoding: "utf8" });
                    expect(r.stdout.trim(), `${td.name}: ${r.stderr}`).to.equal("Syntax OK");
                }
            });

            it("grants the task role GitLab's buckets only, and the backup task the backup bucket only", async () => {
                const run = await singleRun(stack);
                const gitlabBuckets = inComponent(run, T.bucket, "gitlab").map((b) => b.state.arn);
                // Nine object types (no Pages), the registry's and the backups'.
                expect(gitlabBuckets).to.have.length(11);
                const task = policyOf(run, "gitlab-task-policy");
                expect(new Set(task.find((s) => s.Sid === "GitLabBuckets").Resource)).to.deep.equal(new Set(gitlabBuckets));
                const backups = named(run, T.bucket, "gitlab-backups").state.arn;
                const backup = policyOf(run, "gitlab-backup-task-policy");
                expect(backup.find((s) => s.Sid === "BackupsBuckets").Resource).to.deep.equal([backups]);
                expect(backup.find((s) => s.Sid === "BackupsObjects").Action).to.not.include("s3:DeleteObject");
            });

            it("hardens every GitLab bucket like the app's; versions and protects them in prod", async () => {
                const run = await singleRun(stack);
                for (const b of inComponent(run, T.bucket, "gitlab")) {
                    const pab = named(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `${b.name}-public-access`);
                    expect(pab.inputs, b.name).to.include({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
                    const sse = named(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", `${b.name}-sse`);
                    expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("aws:kms");
                    const policy = JSON.parse(named(run, "aws:s3/bucketPolicy:BucketPolicy", `${b.name}-policy`).inputs.policy);
                    expect(policy.Statement[0]).to.deep.include({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
                    const versioning = named(run, "aws:s3/bucketVersioning:BucketVersioning", `${b.name}-versioning`);
                    expect(versioning.inputs.versioningConfiguration.status, b.name).to.equal(stack === "prod" ? "Enabled" : "Suspended");
                    expect(b.protect, b.name).to.equal(stack === "prod");
                    const lifecycle = named(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${b.name}-lifecycle`);
                    expect(lifecycle.inputs.rules[0].abortIncompleteMultipartUpload).to.deep.equal({ daysAfterInitiation: 7 });
                }
            });

            it("gives GitLab its own PostgreSQL 17 with GitLab's parameters and alarms", async () => {
                const run = await singleRun(stack);
                const db = named(run, T.db, "gitlab-db");
                expect(db.inputs).to.include({ engine: "postgres", engineVersion: "17", dbName: "gitlabhq_production", username: "gitlab", storageEncrypted: true, publiclyAccessible: false });
                expect(db.inputs.instanceClass).to.equal(stack === "prod" ? "db.m7g.xlarge" : "db.t4g.medium");
                expect(db.protect).to.equal(stack === "prod");
                const params = Object.fromEntries(inComponent(run, T.params, "gitlab-db")[0].inputs.parameters.map((p: any) => [p.name, p]));
                expect(params.quote_all_identifiers.value).to.equal("0");
                expect(Number(params.max_connections.value)).to.be.at.least(400);
                expect(params.max_connections.applyMethod).to.equal("pending-reboot");
                expect(params["rds.force_ssl"].value).to.equal("1");
                const alarms = inComponent(run, T.alarm, "gitlab-db").map((a) => a.inputs.metricName).sort();
                expect(alarms).to.deep.equal(["CPUUtilization", "DatabaseConnections", "FreeStorageSpace"]);
                expect(named(run, T.db, "app-db").inputs.identifier).to.not.equal(db.inputs.identifier);
            });

            it("alarms on 5xx, too few healthy hosts, CPU, memory, EFS and failed backups, to the stack's topic", async () => {
                const run = await singleRun(stack);
                const alarms = inComponent(run, T.alarm, "gitlab");
                expect(alarms.map((a) => a.name).sort()).to.deep.equal([
                    "gitlab-5xx-rate",
                    "gitlab-backup-failed",
                    "gitlab-backup-missing",
                    "gitlab-cpu",
                    "gitlab-healthy-hosts",
                    "gitlab-memory",
                    // AWS Backup's jobs for the file system (tests/backupAlarms.test.ts).
                    "gitlab-repositories-backup-aborted",
                    "gitlab-repositories-backup-failed",
                    "gitlab-repositories-io-limit",
                ]);
                for (const a of alarms) {
                    expect(a.inputs.alarmActions, a.name).to.deep.equal([run.outputs.alarmTopicArn]);
                }
                expect(named(run, T.alarm, "gitlab-repositories-io-limit").inputs.dimensions).to.deep.equal({ FileSystemId: run.outputs.gitlabFileSystemId });
                // A day without a success line alarms, whatever kept the backup from printing one.
                const missing = named(run, T.alarm, "gitlab-backup-missing");
                expect(missing.inputs).to.include({ comparisonOperator: "LessThanThreshold", threshold: 1, treatMissingData: "breaching" });
                expect(missing.inputs.period * missing.inputs.evaluationPeriods).to.be.within(24 * 3600, 30 * 3600);
                const filter = named(run, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "gitlab-backup-succeeded");
                expect(filter.inputs.pattern).to.equal(`"${BACKUP_LOG_LINES.succeeded}"`);
                expect(missing.inputs.metricName).to.equal(filter.inputs.metricTransformation.name);
            });

            it("exports the GitLab URLs, SSH host, log groups and file system", async () => {
                const { outputs } = await singleRun(stack);
                expect(outputs.gitlabUrl).to.equal(`https://gitlab.${zone}`);
                expect(outputs.gitlabRegistryUrl).to.equal(`https://registry.gitlab.${zone}`);
                for (const k of ["gitlabLogGroup", "gitlabBackupLogGroup", "gitlabFileSystemId", "gitlabBackupBucket", "gitlabDatabaseEndpoint"]) {
                    expect(outputs[k], k).to.be.a("string").and.not.equal("");
                }
            });
        });
    }
});
