import { expect } from "chai";
import { GITALY_HOST_PATH, GITALY_VOLUME_ATTRIBUTE } from "../components/gitlab/gitalyHost";
import { MIGRATION_STEPS } from "../components/gitlab/migrations";
import { REPOSITORY_ROOT, SIDEKIQ_HEALTH_PORT, SIDEKIQ_SHUTDOWN_SECONDS } from "../components/gitlab/omnibusConfig";
import { REDIS_PORT } from "../components/gitlab/redis";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { ROLE_SECRETS } from "../components/gitlab/split";
import { callArg, Container, containerOf, envValue, evaluateContainer, ingressTo, policyOf, serviceOf as service, T, taskOf as task, valueAt } from "./gitlabHelpers";
import { inComponent, named, ofType, Resource, stackRun, urnName } from "../sim/harness";

const NS = "platform-prod.internal";
const TIERS = ["web", "sidekiq", "gitaly"] as const;
const prod = () => stackRun("prod");
const dependsOn = (r: Resource, other: Resource) => r.dependencies.includes(other.urn);

describe("GitLab (split topology, prod)", () => {
    it("has three tiers: web and Sidekiq on Fargate, one Gitaly on the EC2 capacity provider, and no single task", async () => {
        const run = await prod();
        expect(inComponent(run, T.service, "gitlab").map((s) => s.name).sort()).to.deep.equal(["gitlab-gitaly", "gitlab-sidekiq", "gitlab-web"]);
        expect(inComponent(run, T.taskDef, "gitlab").map((t) => t.name).sort()).to.deep.equal(["gitlab-backup", "gitlab-gitaly", "gitlab-migrate", "gitlab-sidekiq", "gitlab-web"]);
        for (const t of ["web", "sidekiq"]) {
            expect(service(run, t).inputs.capacityProviderStrategies, t).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1 }]);
            expect(task(run, t).inputs.requiresCompatibilities, t).to.deep.equal(["FARGATE"]);
        }
        // Every tier runs the same image by digest (one build, one MR bumps them all).
        const images = new Set(inComponent(run, T.taskDef, "gitlab").map((td) => containerOf(td).image));
        expect([...images]).to.deep.equal([run.outputs.gitlabImageRef]);
        expect(String(run.outputs.gitlabImageRef)).to.match(/@sha256:[0-9a-f]{64}$/);
    });

    it("scales web on CPU and memory (2..5, the connection budget's ceiling), Sidekiq on CPU (1..3), Gitaly never", async () => {
        const run = await prod();
        const target = (t: string) => named(run, T.scalingTarget, `gitlab-${t}-scaling`);
        expect(target("web").inputs).to.include({ minCapacity: 2, maxCapacity: 3 });
        expect(target("sidekiq").inputs).to.include({ minCapacity: 1, maxCapacity: 3 });
        expect(target("web").inputs.resourceId).to.equal("service/platform-prod-cluster/platform-prod-gitlab-web");
        const metrics = (t: string) =>
            ofType(run, T.scalingPolicy)
                .filter((p) => p.name.startsWith(`gitlab-${t}-scaling-`))
                .map((p) => p.inputs.targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType)
                .sort();
        expect(metrics("web")).to.deep.equal(["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"]);
        expect(metrics("sidekiq")).to.deep.equal(["ECSServiceAverageCPUUtilization"]);
        expect(ofType(run, T.scalingTarget).filter((t) => String(t.inputs.resourceId).includes("gitaly"))).to.deep.equal([]);
        // Autoscaling owns the count: updates never reset it.
        for (const t of ["web", "sidekiq"]) {
            expect(service(run, t).ignoreChanges, t).to.deep.equal(["desiredCount"]);
        }
    });

    it("web: ALB host rules and the NLB, rolling with circuit-breaker and alarm rollback, draining at most 120 s, no public IP", async () => {
        const run = await prod();
        const web = service(run, "web").inputs;
        expect(web).to.include({ desiredCount: 2, deploymentMinimumHealthyPercent: 100, deploymentMaximumPercent: 200 });
        expect(web.deploymentCircuitBreaker).to.deep.equal({ enable: true, rollback: true });
        expect(web.alarms.rollback).to.equal(true);
        // The 5xx rate only: any unhealthy target would be every booting task (tests/gitlabReadiness.test.ts).
        const alarmNames = ["gitlab-web-5xx-rate"].map((n) => named(run, T.alarm, n).state.name);
        expect(web.alarms.alarmNames).to.deep.equal(alarmNames);
        expect(web.networkConfiguration).to.deep.include({ assignPublicIp: false, subnets: ["subnet-private-1", "subnet-private-2", "subnet-private-3"] });
        const tgs = web.loadBalancers.map((l: any) => [l.containerPort, l.targetGroupArn]);
        expect(tgs).to.deep.equal([
            [80, named(run, T.tg, "gitlab-web").state.arn],
            [5050, named(run, T.tg, "gitlab-registry").state.arn],
            [22, named(run, T.tg, "gitlab-ssh").state.arn],
        ]);
        for (const tg of ["gitlab-web", "gitlab-registry", "gitlab-ssh"]) {
            expect(named(run, T.tg, tg).inputs.deregistrationDelay, tg).to.be.at.most(120);
        }
    });

    it("no web, Sidekiq or migration task mounts repository storage, and prod has no EFS at all", async () => {
        const run = await prod();
        for (const t of ["web", "sidekiq", "migrate"]) {
            expect(task(run, t).inputs.volumes ?? [], t).to.deep.equal([]);
            expect(containerOf(task(run, t)).mountPoints ?? [], t).to.deep.equal([]);
        }
        expect(ofType(run, T.fs)).to.deep.equal([]);
        expect(ofType(run, T.mount)).to.deep.equal([]);
    });

    it("one protected, encrypted gp3 volume, sized from config, kept if ever deleted, snapshotted daily for 35 days", async () => {
        const run = await prod();
        const [volume] = ofType(run, T.volume);
        expect(ofType(run, T.volume)).to.have.length(1);
        expect(volume.inputs).to.include({ type: "gp3", size: 200, iops: 3000, throughput: 125, encrypted: true, availabilityZone: "us-east-1a", finalSnapshot: true });
        expect(volume.protect).to.equal(true);
        expect(volume.retainOnDelete).to.equal(true);
        const plan = named(run, T.plan, "gitaly-data");
        expect(plan.inputs.rules[0].lifecycle.deleteAfter).to.equal(35);
        expect(plan.inputs.rules[0].schedule).to.equal("cron(30 3 * * ? *)");
        expect(named(run, T.selection, "gitaly-data-selection").inputs.resources).to.deep.equal([volume.state.arn]);
        expect(named(run, T.vault, "gitaly-data-vault").protect).to.equal(true);
    });

    it("the Gitaly host: an ASG of exactly one in the volume's AZ, ECS-optimized AMI, IMDSv2 with one hop, no SSH, terminate-before-launch", async () => {
        const run = await prod();
        const asg = named(run, T.asg, "gitaly");
        expect(asg.inputs).to.include({ minSize: 1, maxSize: 1, desiredCapacity: 1, healthCheckType: "EC2" });
        expect(asg.inputs.vpcZoneIdentifiers).to.deep.equal(["subnet-private-1"]);
        expect(asg.inputs.instanceMaintenancePolicy).to.deep.equal({ minHealthyPercentage: 0, maxHealthyPercentage: 100 });
        expect(asg.inputs.instanceRefresh.preferences).to.include({ minHealthyPercentage: 0, maxHealthyPercentage: 100 });
        expect(asg.inputs.enabledMetrics).to.include("GroupInServiceInstances");
        const lt = named(run, T.launchTemplate, "gitaly").inputs;
        expect(lt.imageId).to.equal("resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id");
        expect(lt.instanceType).to.equal("m7i.large");
        expect(lt.metadataOptions).to.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
        expect(lt).to.not.have.property("keyName");
        expect(lt.blockDeviceMappings[0].ebs).to.include({ encrypted: "true" });
        expect(lt.networkInterfaces ?? []).to.deep.equal([]);
        const userData = Buffer.from(lt.userData, "base64").toString();
        const volume = ofType(run, T.volume)[0];
        expect(userData).to.include(`VOLUME_ID='${volume.id}'`);
        expect(userData).to.include("CLUSTER='platform-prod-cluster'");
        const hostSg = named(run, T.sg, "gitaly-instance");
        expect(lt.vpcSecurityGroupIds).to.deep.equal([hostSg.id]);
        expect(ingressTo(run, hostSg), "no ingress to the host").to.deep.equal([]);
        // Session Manager yes, SSH keys or EC2 Instance Connect no.
        const actions = policyOf(run, "gitaly-instance-policy").flatMap((s) => s.Action);
        expect(actions).to.include("ssmmessages:OpenDataChannel");
        expect(actions.filter((a: string) => a.startsWith("ec2-instance-connect:"))).to.deep.equal([]);
        const attach = policyOf(run, "gitaly-instance-policy").filter((s) => s.Action.includes("ec2:AttachVolume"));
        expect(attach.map((s) => s.Resource)).to.deep.equal([[volume.state.arn], [`arn:aws:ec2:us-east-1:123456789012:instance/*`]]);
        expect(attach[1].Condition).to.deep.equal({ StringEquals: { "aws:ResourceTag/aws:autoscaling:groupName": asg.inputs.name } });
    });

    it("Gitaly: an ECS service on the EC2 capacity provider, desired 1 at 0 %/100 %, placed on the host that mounted the volume", async () => {
        const run = await prod();
        const cp = ofType(run, T.capacityProvider)[0];
        expect(cp.inputs.autoScalingGroupProvider.managedScaling).to.deep.equal({ status: "DISABLED" });
        expect(ofType(run, T.clusterCapacity)[0].inputs.capacityProviders).to.include(cp.inputs.name);
        const gitaly = service(run, "gitaly").inputs;
        expect(gitaly).to.include({ desiredCount: 1, deploymentMinimumHealthyPercent: 0, deploymentMaximumPercent: 100 });
        expect(gitaly.capacityProviderStrategies).to.deep.equal([{ capacityProvider: cp.inputs.name, weight: 1 }]);
        expect(gitaly.networkConfiguration).to.deep.equal({ subnets: ["subnet-private-1"], securityGroups: [named(run, T.sg, "gitlab-gitaly").id], assignPublicIp: false });
        expect(gitaly.serviceRegistries.registryArn).to.equal(named(run, T.discovery, "gitlab-gitaly-dns").state.arn);
        const td = task(run, "gitaly").inputs;
        expect(td.requiresCompatibilities).to.deep.equal(["EC2"]);
        expect(td.networkMode).to.equal("awsvpc");
        expect(td.volumes).to.deep.equal([{ name: "repositories", hostPath: GITALY_HOST_PATH }]);
        expect(td.placementConstraints).to.deep.equal([{ type: "memberOf", expression: `attribute:${GITALY_VOLUME_ATTRIBUTE} == ${ofType(run, T.volume)[0].id}` }]);
        const c = containerOf(task(run, "gitaly"));
        expect(c.mountPoints).to.deep.equal([{ sourceVolume: "repositories", containerPath: REPOSITORY_ROOT, readOnly: false }]);
        expect(c.logConfiguration.logDriver).to.equal("awslogs");
        expect(c.healthCheck.command.join(" ")).to.include("gitlab-ctl status gitaly");
    });

    it("Gitaly's security group admits 8075 from the web, Sidekiq, migration and backup tasks and itself, nothing else", async () => {
        const run = await prod();
        const gitaly = named(run, T.sg, "gitlab-gitaly");
        const sources = ingressTo(run, gitaly).map((r) => [r.inputs.fromPort, r.inputs.toPort, urnName(run.resources.find((x) => x.type === T.sg && x.id === r.inputs.referencedSecurityGroupId)?.urn)]);
        expect(sources.sort()).to.deep.equal(
            [
                [8075, 8075, "gitlab-backup-tasks"],
                [8075, 8075, "gitlab-gitaly"],
                [8075, 8075, "gitlab-migrate"],
                [8075, 8075, "gitlab-sidekiq"],
                [8075, 8075, "gitlab-web"],
            ].sort(),
        );
        for (const r of ingressTo(run, gitaly)) {
            expect(r.inputs.cidrIpv4, "no CIDR sources").to.equal(undefined);
        }
    });

    it("wires the Cloud Map names into the configs: Gitaly for every Rails role, the web tier for Gitaly's hooks and Sidekiq's registry calls", async () => {
        const run = await prod();
        for (const t of ["web", "sidekiq", "migrate", "backup"]) {
            const e = evaluateContainer(containerOf(task(run, t)));
            expect(valueAt(e, "gitlab_rails['repositories_storages']"), t).to.deep.equal({ default: { gitaly_address: `tcp://gitaly.${NS}:8075` } });
        }
        const gitaly = evaluateContainer(containerOf(task(run, "gitaly")));
        expect(valueAt(gitaly, "gitlab_rails['internal_api_url']")).to.equal(`http://web.${NS}`);
        const storage = valueAt(gitaly, "gitaly['configuration']");
        expect(storage.listen_addr).to.equal("0.0.0.0:8075");
        expect(storage.storage).to.deep.equal([{ name: "default", path: `${REPOSITORY_ROOT}/repositories` }]);
        expect(valueAt(evaluateContainer(containerOf(task(run, "sidekiq"))), "gitlab_rails['registry_api_url']")).to.equal(`http://web.${NS}:5050`);
        expect(named(run, T.discovery, "gitlab-web-dns").inputs.name).to.equal("web");
        expect(service(run, "web").inputs.serviceRegistries.registryArn).to.equal(named(run, T.discovery, "gitlab-web-dns").state.arn);
        // The web tier admits Gitaly's hooks on 80 and Sidekiq on the registry port.
        const web = named(run, T.sg, "gitlab-web");
        const from = (sg: string, port: number) => ingressTo(run, web).some((r) => r.inputs.referencedSecurityGroupId === named(run, T.sg, sg).id && r.inputs.fromPort === port);
        expect(from("gitlab-gitaly", 80)).to.equal(true);
        expect(from("gitlab-sidekiq", 5050)).to.equal(true);
    });

    it("exactly one role migrates: the migration task; every other Rails role has auto_migrate off", async () => {
        const run = await prod();
        const migrating: string[] = [];
        for (const td of inComponent(run, T.taskDef, "gitlab")) {
            const c = containerOf(td);
            const e = evaluateContainer(c);
            const auto = e.settings.filter((x) => x.path.join("/") === "gitlab_rails/auto_migrate").map((x) => x.value);
            if (c.name === "gitaly") {
                // gitaly_role turns Rails off altogether.
                expect(callArg(e, "roles")).to.deep.equal(["gitaly_role"]);
                continue;
            }
            expect(auto, c.name).to.have.length(1);
            if (auto[0] === true) {
                migrating.push(c.name);
            }
        }
        expect(migrating).to.deep.equal(["migrate"]);
    });

    it("runs the migrations once per deploy in GitLab's order: Gitaly, regular migrations, Sidekiq and web, post-deployment migrations", async () => {
        const run = await prod();
        // (gitlab-promote tags dev's image: the image's, no migration.)
        const commands = ofType(run, T.command).filter((c) => c.name.startsWith("gitlab-") && c.name !== "gitlab-promote");
        expect(commands.map((c) => c.name).sort()).to.deep.equal(["gitlab-migrate", "gitlab-post-migrate"]);
        const pre = named(run, T.command, "gitlab-migrate");
        const post = named(run, T.command, "gitlab-post-migrate");
        const migrateTd = task(run, "migrate");
        for (const [c, step, follows] of [
            [pre, "migrate", ["gitaly"]],
            [post, "post-migrate", ["web", "sidekiq"]],
        ] as const) {
            expect(c.inputs.environment).to.include({ TASK_DEFINITION: migrateTd.state.arn, CONTAINER: "migrate", CAPACITY_PROVIDER: "FARGATE" });
            expect(JSON.parse(c.inputs.environment.COMMAND)).to.deep.equal([step]);
            expect(MIGRATION_STEPS).to.include(step);
            // The runner refuses to start unless the services it follows run their new revisions
            // (the provider can record a service as updated although ECS rolled it back).
            expect(JSON.parse(c.inputs.environment.EXPECT_SERVICES)).to.deep.equal(follows.map((t) => ({ service: `platform-prod-gitlab-${t}`, taskDefinition: task(run, t).state.arn })));
            // Once per new revision (image or config) of the task or of what it follows, never on an unrelated update.
            expect(c.inputs.triggers).to.deep.equal([migrateTd.state.arn, ...follows.map((t) => task(run, t).state.arn)]);
            expect(c.inputs.create).to.match(/tools\/runTask\.ts$/);
        }
        expect(dependsOn(pre, service(run, "gitaly")), "Gitaly before the migration").to.equal(true);
        for (const t of ["web", "sidekiq"]) {
            expect(dependsOn(service(run, t), pre), `${t} after the migration`).to.equal(true);
            expect(dependsOn(post, service(run, t)), `post-deployment migrations after ${t}`).to.equal(true);
        }
        expect(dependsOn(service(run, "gitaly"), pre)).to.equal(false);
        // The migration task is a one-off: no service runs it.
        expect(ofType(run, T.service).filter((s) => s.inputs.taskDefinition === migrateTd.state.arn)).to.deep.equal([]);
        // Its container says which step through entrypoint.sh's modes.
        expect(containerOf(migrateTd).command).to.deep.equal(["migrate"]);
    });

    it("ElastiCache: Valkey 7.2, cluster mode off, Multi-AZ with failover, TLS required with an auth token from Secrets Manager, encrypted, noeviction", async () => {
        const run = await prod();
        const [redis] = ofType(run, T.redis);
        expect(redis.inputs).to.include({
            engine: "valkey",
            engineVersion: "7.2",
            numCacheClusters: 2,
            automaticFailoverEnabled: true,
            multiAzEnabled: true,
            transitEncryptionEnabled: true,
            transitEncryptionMode: "required",
            atRestEncryptionEnabled: true,
            port: REDIS_PORT,
        });
        expect(redis.inputs).to.not.have.property("numNodeGroups");
        expect(redis.protect).to.equal(true);
        expect(redis.secretPaths).to.include("authToken");
        const params = ofType(run, T.redisParams)[0];
        expect(params.inputs.family).to.equal("valkey7");
        expect(params.inputs.parameters).to.deep.equal([{ name: "maxmemory-policy", value: "noeviction" }]);
        expect(redis.inputs.parameterGroupName).to.equal(params.state.name);
        // The token the tasks get is the one the group was created with.
        const version = ofType(run, T.secretVersion).find((v) => JSON.parse(v.inputs.secretString).password === redis.inputs.authToken);
        expect(version, "the auth token is stored in Secrets Manager").to.not.equal(undefined);
        // Open to GitLab's Rails tasks only.
        const sg = named(run, T.sg, "gitlab-redis");
        const sources = ingressTo(run, sg).map((r) => run.resources.find((x) => x.type === T.sg && x.id === r.inputs.referencedSecurityGroupId)?.name);
        expect(sources.sort()).to.deep.equal(["gitlab-migrate", "gitlab-sidekiq", "gitlab-web"]);
        for (const r of ingressTo(run, sg)) {
            expect([r.inputs.fromPort, r.inputs.toPort]).to.deep.equal([REDIS_PORT, REDIS_PORT]);
        }
        for (const t of ["web", "sidekiq", "migrate"]) {
            const e = evaluateContainer(containerOf(task(run, t)));
            expect(valueAt(e, "gitlab_rails['redis_ssl']"), t).to.equal(true);
            expect(valueAt(e, "gitlab_rails['redis_host']"), t).to.equal(redis.state.primaryEndpointAddress);
            expect(valueAt(e, "redis['enable']"), t).to.equal(false);
            expect(valueAt(e, "gitlab_rails['redis_password']"), t).to.equal(`dummy-${SECRET_ENV.redisPassword}`);
        }
    });

    it("web runs Puma, Workhorse, NGINX and the registry with Sidekiq, Gitaly and KAS off; Sidekiq runs alone with its health check and a shutdown inside ECS's stop timeout", async () => {
        const run = await prod();
        const web = evaluateContainer(containerOf(task(run, "web")));
        expect(callArg(web, "roles")).to.deep.equal(["application_role"]);
        for (const off of ["sidekiq['enable']", "gitaly['enable']", "gitlab_kas['enable']"]) {
            expect(valueAt(web, off), off).to.equal(false);
        }
        expect(callArg(web, "registry_external_url")).to.equal("https://registry.gitlab.example.com");
        expect(containerOf(task(run, "web")).command).to.deep.equal(["serve"]);
        const sidekiqC = containerOf(task(run, "sidekiq"));
        const sidekiq = evaluateContainer(sidekiqC);
        expect(callArg(sidekiq, "roles")).to.deep.equal(["sidekiq_role"]);
        expect(valueAt(sidekiq, "sidekiq['health_checks_listen_port']")).to.equal(SIDEKIQ_HEALTH_PORT);
        expect(sidekiqC.healthCheck.command.join(" ")).to.include(`http://127.0.0.1:${SIDEKIQ_HEALTH_PORT}/readiness`);
        expect(valueAt(sidekiq, "sidekiq['shutdown_timeout']")).to.equal(SIDEKIQ_SHUTDOWN_SECONDS);
        // Sidekiq's timeout + its 5 s kill grace fit gitlab-ctl's 30 s per service and ECS's stop timeout.
        expect(SIDEKIQ_SHUTDOWN_SECONDS + 5).to.be.at.most(30);
        expect(sidekiqC.stopTimeout).to.equal(120);
        expect(valueAt(sidekiq, "registry['enable']")).to.equal(false);
        expect(containerOf(task(run, "sidekiq")).command).to.deep.equal(["worker"]);
        expect(service(run, "sidekiq").inputs.loadBalancers ?? []).to.deep.equal([]);
    });

    it("gives each role exactly the secrets its config and entrypoint read, and each execution role exactly their secrets", async () => {
        const run = await prod();
        for (const t of ["web", "sidekiq", "migrate", "gitaly"] as const) {
            const c = containerOf(task(run, t));
            const e = evaluateContainer(c);
            expect(e.settings.length, t).to.be.greaterThan(5);
            const names = c.secrets.map((s) => s.name).sort();
            // Web and Sidekiq send mail (SES by default): its user name and password too; migrate and Gitaly none.
            const mail = t === "web" || t === "sidekiq" ? [SECRET_ENV.smtpUserName, SECRET_ENV.smtpPassword] : [];
            expect(names, t).to.deep.equal([...ROLE_SECRETS[t].map((n) => SECRET_ENV[n]), ...mail].sort());
            // Nothing injected that the role does not read (the web tier's host keys are read by entrypoint.sh).
            const read = new Set([...referencedEnv(c), ...(t === "web" ? [SECRET_ENV.sshHostRsaKey, SECRET_ENV.sshHostEcdsaKey, SECRET_ENV.sshHostEd25519Key] : [])]);
            expect(names.filter((n) => !read.has(n)), `${t} gets secrets it never reads`).to.deep.equal([]);
            const arns = new Set(c.secrets.map((s) => s.valueFrom.split(":").slice(0, 7).join(":")));
            expect(new Set(policyOf(run, `gitlab-${t}-execution-policy`).find((s) => s.Sid === "ReadSecrets").Resource), t).to.deep.equal(arns);
        }
        // Gitaly holds no database password, Rails secret or Redis token.
        expect(containerOf(task(run, "gitaly")).secrets.map((s) => s.name).sort()).to.deep.equal([SECRET_ENV.gitalyToken, SECRET_ENV.shellSecretToken].sort());
    });

    it("grants the backup bucket to Gitaly (server-side repository backups) and the backup task only, not to web, Sidekiq or migrations", async () => {
        const run = await prod();
        const backups = ofType(run, T.bucket).find((b) => b.name === "gitlab-backups")!.state.arn;
        const touches = (role: string) => JSON.stringify(policyOf(run, `${role}-task-policy`)).includes(backups);
        for (const t of ["web", "sidekiq", "migrate"]) {
            expect(touches(`gitlab-${t}`), t).to.equal(false);
            expect(touches(`gitlab-${t}`) || JSON.stringify(policyOf(run, `gitlab-${t}-task-policy`)).includes("gitlab-uploads"), `${t} reaches the object buckets`).to.equal(true);
        }
        expect(touches("gitlab-gitaly")).to.equal(true);
        expect(touches("gitlab-backup")).to.equal(true);
    });

    it("alarms on Gitaly's instance and volume, Redis and every tier, to the stack's topic", async () => {
        const run = await prod();
        const topic = run.outputs.alarmTopicArn;
        const alarms = ofType(run, T.alarm);
        const want = [
            "gitaly-in-service",
            "gitaly-queue-length",
            "gitaly-iops-exceeded",
            "gitaly-throughput-exceeded",
            "gitlab-gitaly-not-running",
            "gitlab-redis-001-memory",
            "gitlab-redis-001-evictions",
            "gitlab-redis-001-engine-cpu",
            "gitlab-redis-002-memory",
            "gitlab-redis-002-evictions",
            "gitlab-redis-002-engine-cpu",
            ...TIERS.flatMap((t) => [`gitlab-${t}-cpu`, `gitlab-${t}-memory`]),
            "gitlab-web-5xx-rate",
            "gitlab-web-healthy-hosts",
            "gitlab-backup-failed",
            "gitlab-backup-missing",
        ];
        for (const n of want) {
            const a = alarms.find((x) => x.name === n);
            expect(a, n).to.not.equal(undefined);
            expect(a!.inputs.alarmActions, n).to.deep.equal([topic]);
        }
        expect(named(run, T.alarm, "gitlab-redis-001-memory").inputs.dimensions).to.deep.equal({ CacheClusterId: "platform-prod-gitlab-redis-001" });
        expect(named(run, T.alarm, "gitaly-queue-length").inputs.dimensions).to.deep.equal({ VolumeId: ofType(run, T.volume)[0].id });
        expect(named(run, T.alarm, "gitaly-in-service").inputs.treatMissingData).to.equal("breaching");
        expect(named(run, T.alarm, "gitlab-gitaly-not-running").inputs).to.include({ namespace: "ECS/ContainerInsights", metricName: "RunningTaskCount", treatMissingData: "breaching" });
        expect(named(run, T.alarm, "gitlab-gitaly-not-running").inputs.dimensions).to.deep.equal({ ClusterName: "platform-prod-cluster", ServiceName: "platform-prod-gitlab-gitaly" });
    });

    it("the backup task reaches Gitaly by its name and never migrates", async () => {
        const run = await prod();
        const e = evaluateContainer(containerOf(task(run, "backup")));
        expect(valueAt(e, "gitlab_rails['auto_migrate']")).to.equal(false);
        expect(valueAt(e, "gitaly['enable']")).to.equal(false);
        expect(named(run, T.schedule, "gitlab-backup").inputs.target.ecsParameters.networkConfiguration.securityGroups).to.deep.equal([named(run, T.sg, "gitlab-backup-tasks").id]);
    });

    it("every rendered role evaluates in Ruby with only the variables ECS gives it", async () => {
        const run = await prod();
        for (const td of inComponent(run, T.taskDef, "gitlab")) {
            const c = containerOf(td);
            // evaluateContainer throws (KeyError) if the config fetches a variable ECS does not set.
            expect(() => evaluateContainer(c), c.name).to.not.throw();
            expect(envValue(c, "GITLAB_OMNIBUS_CONFIG")).to.not.match(/generated-|-----BEGIN/);
        }
    });
});

/** The environment variables a container's rendered config fetches. */
function referencedEnv(c: Container): string[] {
    return [...envValue(c, "GITLAB_OMNIBUS_CONFIG")!.matchAll(/ENV\.fetch\('([A-Z0-9_]+)'\)/g)].map((m) => m[1]);
}
