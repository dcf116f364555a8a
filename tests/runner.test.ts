import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { DIND, WORKER_USER_DATA, workerAmi } from "../components/runner/runner";
import { DEPLOY_RUNNER_NAME, DEPLOY_WORKERS } from "../components/runner/facts";
import { FLEETING_PLUGIN, renderRunnerConfig, RunnerConfigArgs, RUNNER_TOKEN_ENV } from "../components/runner/runnerConfig";
import { isGraviton } from "../aws/ec2";
import { inComponent, named, ofType, ROOT, stackRun, StackRun, variantRun } from "../sim/harness";
import { ACCOUNT } from "../sim/mocks";
import { roleStatements } from "./deployIdentityHelpers";
import { evaluate } from "./iamEval";
import { estimate, loadPrices } from "../tools/planning/cost";

const T = {
    asg: "aws:autoscaling/group:Group",
    lt: "aws:ec2/launchTemplate:LaunchTemplate",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    td: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    policy: "aws:iam/rolePolicy:RolePolicy",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
};

const ARGS: RunnerConfigArgs = {
    name: "platform-prod-runner",
    gitlabUrl: "https://gitlab.example.com",
    autoScalingGroupName: "platform-prod-runner-workers",
    maxInstances: 10,
    capacityPerInstance: 2,
    maxUseCount: 10,
    idleMinutes: 5,
    cacheBucket: "runner-cache-abc",
    cachePath: "general",
    region: "us-east-1",
    defaultImage: "alpine:3.21",
    dind: true,
};

/**
 * doublestar's Match (github.com/bmatcuk/doublestar, what gitlab-runner's
 * allowed_privileged_services uses), narrowly: `*` is any run of characters
 * but `/`, `?` one such character, the rest literal, the whole name matched.
 * Anything else (classes, alternatives, escapes, `**`) is refused, not guessed.
 */
function doublestarMatch(pattern: string, name: string): boolean {
    if (/[[\]{}\\]|\*\*/.test(pattern)) {
        throw new Error(`doublestarMatch: unsupported pattern ${pattern}`);
    }
    const re = pattern.replace(/[.+^$()|]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
    return new RegExp(`^${re}$`).test(name);
}

/** Parses TOML with Python's tomllib: an independent, real parser. */
function parseToml(text: string): any {
    const r = spawnSync("python3", ["-c", "import sys, tomllib, json; print(json.dumps(tomllib.loads(sys.stdin.read())))"], { input: text, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`tomllib refused the config: ${r.stderr}`);
    }
    return JSON.parse(r.stdout);
}

const runnerContainer = (run: StackRun) => JSON.parse(named(run, T.td, "runner").inputs.containerDefinitions)[0];

describe("GitLab Runner: config.toml (rendered, parsed by Python's tomllib)", () => {
    const toml = parseToml(renderRunnerConfig(ARGS));
    const r = toml.runners[0];

    it("one docker-autoscaler runner whose concurrency is every worker slot", () => {
        expect(toml.runners).to.have.length(1);
        expect(toml.concurrent).to.equal(20);
        expect(r).to.include({ name: "platform-prod-runner", url: "https://gitlab.example.com", executor: "docker-autoscaler", limit: 20 });
    });

    it("holds no secret: the token is the environment variable gitlab-runner expands", () => {
        expect(r.token).to.equal(`\${${RUNNER_TOKEN_ENV}}`);
        expect(renderRunnerConfig(ARGS)).to.not.match(/glrt-/);
    });

    it("scales the worker group with the fleeting AWS plugin, SSH as ec2-user to private addresses, idle workers gone after the configured minutes", () => {
        expect(r.autoscaler).to.deep.include({ plugin: FLEETING_PLUGIN, capacity_per_instance: 2, max_use_count: 10, max_instances: 10, instance_ready_command: "docker info" });
        expect(r.autoscaler.plugin_config).to.deep.equal({ name: "platform-prod-runner-workers" });
        expect(r.autoscaler.connector_config).to.deep.equal({ username: "ec2-user", use_external_addr: false });
        expect(r.autoscaler.policy).to.deep.equal([{ idle_count: 0, idle_time: "5m0s" }]);
    });

    it("runs only the Docker-in-Docker service privileged, never a job's container, sharing the TLS client certificates, with an S3 cache by IAM", () => {
        const { allowed_privileged_services: allowed, ...docker } = r.docker;
        expect(docker).to.deep.equal({ image: "alpine:3.21", privileged: false, services_privileged: true, volumes: ["/certs/client", "/cache"] });
        // The pipeline's dind service matches an allowed pattern as gitlab-runner matches it, by
        // tag or pinned by digest (docs/operations/ci-setup.md, "Images and their digests"); Docker's CLI image does not.
        const privileged = (name: string) => (allowed as string[]).some((p) => doublestarMatch(p, name));
        // As .gitlab-ci.yml writes it (a literal); the ECR mirror's form is tested below.
        const dind = /^ {2}DIND_IMAGE: (?:&[\w-]+ )?(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8"))![1];
        const digest = `@sha256:${"ab".repeat(32)}`;
        for (const name of [dind, "docker:27.5.1-dind", `docker:27.5.1-dind${digest}`, `docker.io/library/docker:27.5.1-dind${digest}`]) {
            expect(privileged(name), name).to.equal(true);
        }
        for (const name of ["docker:27.5.1", `docker:27.5.1${digest}`, "docker:27.5.1-dind-rootless", "evil/docker:27.5.1-dind", `docker:27.5.1-dind${digest}/x`, `docker.io/library/docker:27.5.1${digest}`, "docker.io/evil/docker:27.5.1-dind"]) {
            expect(privileged(name), name).to.equal(false);
        }
        expect(r.cache).to.deep.equal({ Type: "s3", Path: "general", Shared: true, s3: { BucketName: "runner-cache-abc", BucketLocation: "us-east-1", AuthenticationType: "iam", ServerSideEncryption: "S3" } });
    });

    it("is stopped with SIGQUIT (running jobs may finish until ECS's 120 s stop timeout), not SIGTERM (which aborts them)", () => {
        expect(fs.readFileSync(path.join(ROOT, "runner/Dockerfile"), "utf8")).to.match(/^STOPSIGNAL SIGQUIT$/m);
    });
});

describe("GitLab Runner: the graph (prod has one, dev none)", () => {
    it("dev runs no runner", async () => {
        const dev = await stackRun("dev");
        expect(ofType(dev, "platform:runner:GitLabRunner")).to.deep.equal([]);
        expect(dev.outputs.runnerTokenSecretArn).to.equal(undefined);
    });

    it("dev with runner.enabled plans one, with Spot workers, and the deploy role covers it", async () => {
        const run = await variantRun("runner-in-dev", "dev", (c) => {
            c["platform:runner"] = { enabled: true, spot: true, maxInstances: 2 };
        });
        expect(run.error).to.equal(undefined);
        expect(ofType(run, "platform:runner:GitLabRunner")).to.have.length(1);
        const g = named(run, T.asg, "runner-workers").inputs;
        expect(g).to.include({ minSize: 0, maxSize: 2 });
        expect(g.mixedInstancesPolicy.instancesDistribution).to.include({ onDemandPercentageAboveBaseCapacity: 0 });
        expect(run.outputs.runnerWorkerGroup).to.equal("platform-dev-runner-workers");
        expect(run.outputs.ciDeployRoleArn).to.be.a("string");
    });

    it("workers: an Auto Scaling group as the plugin requires, from zero, scale-in protected, no AZ rebalancing, no desired capacity of Pulumi's", async () => {
        const run = await stackRun("prod");
        const g = named(run, T.asg, "runner-workers").inputs;
        expect(g).to.include({ minSize: 0, maxSize: 10, protectFromScaleIn: true, capacityRebalance: false, forceDelete: true });
        expect(g.suspendedProcesses).to.deep.equal(["AZRebalance"]);
        expect(g).to.not.have.property("desiredCapacity");
        expect(g.vpcZoneIdentifiers).to.deep.equal(["subnet-private-1", "subnet-private-2", "subnet-private-3"]);
        expect(ofType(run, "aws:autoscaling/policy:Policy"), "no scaling policies").to.deep.equal([]);
    });

    it("workers: ECS-optimized AL2023 from its public parameter as a plain Docker host, IMDSv2 with one hop, encrypted disk, no key pair", async () => {
        const lt = named(await stackRun("prod"), T.lt, "runner-workers").inputs;
        expect(lt.imageId).to.equal("resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id");
        expect(lt.metadataOptions).to.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
        expect(lt.blockDeviceMappings[0].ebs).to.include({ encrypted: "true", volumeSize: 50 });
        expect(lt).to.not.have.property("keyName");
        expect(Buffer.from(lt.userData, "base64").toString()).to.equal(WORKER_USER_DATA);
        expect(WORKER_USER_DATA).to.include("systemctl disable --now --no-block ecs.service");
    });

    it("network: the workers admit SSH from the manager only; nothing reaches the manager", async () => {
        const run = await stackRun("prod");
        const manager = named(run, T.sg, "runner-manager");
        const workers = named(run, T.sg, "runner-workers");
        expect(ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === manager.id)).to.deep.equal([]);
        const toWorkers = ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === workers.id);
        expect(toWorkers.map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId, r.inputs.cidrIpv4])).to.deep.equal([[22, 22, manager.id, undefined]]);
        expect(named(run, T.service, "runner").inputs.networkConfiguration).to.deep.include({ assignPublicIp: false, securityGroups: [manager.id] });
    });

    it("the manager's role: the plugin's actions on its own group and instances, the cache bucket; no access keys in the runner", async () => {
        const run = await stackRun("prod");
        const statements = JSON.parse(named(run, T.policy, "runner-task-policy").inputs.policy).Statement as any[];
        const asg = named(run, T.asg, "runner-workers");
        expect(statements.find((s) => s.Sid === "ScaleWorkers").Resource).to.deep.equal([asg.state.arn]);
        expect(statements.find((s) => s.Sid === "ScaleWorkers").Action).to.deep.equal(["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]);
        const ssh = statements.find((s) => s.Sid === "SshToWorkers");
        expect(ssh.Condition.StringEquals).to.deep.equal({ "ec2:ResourceTag/aws:autoscaling:groupName": "platform-prod-runner-workers", "ec2:osuser": "ec2-user" });
        // The stack's only IAM user and key are GitLab's SES SMTP login (components/gitlab/email.ts).
        expect(inComponent(run, "aws:iam/accessKey:AccessKey", "runner")).to.deep.equal([]);
        expect(inComponent(run, "aws:iam/user:User", "runner")).to.deep.equal([]);
        expect(ofType(run, "aws:iam/user:User").map((r) => r.name)).to.deep.equal(["gitlab-smtp"]);
    });

    it("the token: an empty Secrets Manager secret (no value in state), injected as RUNNER_TOKEN; the config in the environment names the real group and bucket", async () => {
        const run = await stackRun("prod");
        const secret = named(run, T.secret, "runner-token");
        expect(inComponent(run, T.secretVersion, "runner"), "no version: the value never passes through Pulumi").to.deep.equal([]);
        const c = runnerContainer(run);
        expect(c.secrets).to.deep.equal([{ name: RUNNER_TOKEN_ENV, valueFrom: secret.state.arn }]);
        const config = parseToml(c.environment.find((e: any) => e.name === "RUNNER_CONFIG_TOML").value);
        expect(config.runners[0].autoscaler.plugin_config.name).to.equal("platform-prod-runner-workers");
        expect(config.runners[0].cache.s3.BucketName).to.equal(named(run, "aws:s3/bucket:Bucket", "runner-cache").state.bucket);
        expect(c.environment.find((e: any) => e.name === "AWS_REGION").value).to.equal("us-east-1");
        expect(c.image).to.match(/platform-prod-runner@sha256:[0-9a-f]{64}$/);
        expect(run.outputs.runnerTokenSecretArn).to.equal(secret.state.arn);
    });

    it("one manager (0 %/100 %: two would fight over the group), not privileged, no public IP; the cache expires", async () => {
        const run = await stackRun("prod");
        expect(named(run, T.service, "runner").inputs).to.include({ desiredCount: 1, deploymentMinimumHealthyPercent: 0, deploymentMaximumPercent: 100, waitForSteadyState: false });
        expect(runnerContainer(run).privileged).to.not.equal(true);
        expect(runnerContainer(run).stopTimeout).to.equal(120);
        expect(named(run, T.lifecycle, "runner-cache-lifecycle").inputs.rules[0].expiration.days).to.equal(14);
        expect(named(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "runner-not-running").inputs.treatMissingData).to.equal("breaching");
    });

    it("Graviton worker types get the arm64 AMI", () => {
        expect(isGraviton("m7g.large")).to.equal(true);
        expect(isGraviton("c7gn.xlarge")).to.equal(true);
        expect(isGraviton("m7i.large")).to.equal(false);
        expect(workerAmi("m7g.large")).to.match(/amazon-linux-2023\/arm64\/recommended\/image_id$/);
    });
});

describe("GitLab Runner: a deploy fleet of its own (prod)", () => {
    const config = (run: StackRun, fleet: string) => parseToml(JSON.parse(named(run, T.td, fleet).inputs.containerDefinitions)[0].environment.find((e: any) => e.name === "RUNNER_CONFIG_TOML").value);

    it("two managers, each driving only its own worker group: the deploy fleet on-demand, two workers, one job per fresh host", async () => {
        const run = await stackRun("prod");
        expect(ofType(run, T.service).filter((r) => /runner/.test(r.name)).map((r) => r.inputs.name)).to.deep.equal(["platform-prod-runner", "platform-prod-runner-deploy"]);
        const g = named(run, T.asg, `${DEPLOY_RUNNER_NAME}-workers`).inputs;
        expect(g).to.include({ name: "platform-prod-runner-deploy-workers", minSize: 0, maxSize: 2, protectFromScaleIn: true });
        expect(g).to.not.have.property("mixedInstancesPolicy");
        const deploy = config(run, DEPLOY_RUNNER_NAME).runners[0];
        expect(deploy).to.include({ name: "platform-prod-runner-deploy", limit: 2 });
        expect(deploy.autoscaler).to.deep.include({ max_instances: 2, capacity_per_instance: 1, max_use_count: 1, plugin_config: { name: "platform-prod-runner-deploy-workers" } });
        expect(config(run, "runner").runners[0].autoscaler.plugin_config).to.deep.equal({ name: "platform-prod-runner-workers" });
        // Each manager holds its own token, never the other's.
        const secrets = (fleet: string) => JSON.parse(named(run, T.td, fleet).inputs.containerDefinitions)[0].secrets;
        expect(secrets(DEPLOY_RUNNER_NAME)).to.deep.equal([{ name: RUNNER_TOKEN_ENV, valueFrom: named(run, T.secret, `${DEPLOY_RUNNER_NAME}-token`).state.arn }]);
        expect(named(run, T.secret, `${DEPLOY_RUNNER_NAME}-token`).state.arn).to.not.equal(named(run, T.secret, "runner-token").state.arn);
        expect(run.outputs.deployRunnerTokenSecretArn).to.equal(named(run, T.secret, `${DEPLOY_RUNNER_NAME}-token`).state.arn);
        expect(run.outputs.deployRunnerWorkerGroup).to.equal("platform-prod-runner-deploy-workers");
    });

    it("Spot for the general fleet leaves the deploy fleet on-demand (a reclaimed worker would kill `pulumi up`)", async () => {
        const run = await variantRun("ci-spot-runner", "prod", (c) => {
            c["platform:runner"].spot = true;
        });
        expect(named(run, T.asg, "runner-workers").inputs).to.have.property("mixedInstancesPolicy");
        expect(named(run, T.asg, `${DEPLOY_RUNNER_NAME}-workers`).inputs).to.not.have.property("mixedInstancesPolicy");
        expect(named(run, T.lt, `${DEPLOY_RUNNER_NAME}-workers`).inputs.instanceType).to.equal("m7i.large");
        expect(DEPLOY_WORKERS.spot).to.equal(false);
    });

    it("network: security groups of its own; its workers admit SSH from its own manager only; no rule anywhere admits a general worker", async () => {
        const run = await stackRun("prod");
        const sg = (n: string) => named(run, T.sg, n).id;
        const ids = [sg("runner-manager"), sg("runner-workers"), sg(`${DEPLOY_RUNNER_NAME}-manager`), sg(`${DEPLOY_RUNNER_NAME}-workers`)];
        expect(new Set(ids).size).to.equal(4);
        const ingress = ofType(run, T.ingress);
        const into = (id: string) => ingress.filter((r) => r.inputs.securityGroupId === id).map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]);
        expect(into(sg(`${DEPLOY_RUNNER_NAME}-workers`))).to.deep.equal([[22, sg(`${DEPLOY_RUNNER_NAME}-manager`)]]);
        expect(into(sg(`${DEPLOY_RUNNER_NAME}-manager`))).to.deep.equal([]);
        // Whatever a job on the general fleet does, no security group of the stack lets its worker in.
        expect(ingress.filter((r) => r.inputs.referencedSecurityGroupId === sg("runner-workers"))).to.deep.equal([]);
        expect(named(run, T.lt, `${DEPLOY_RUNNER_NAME}-workers`).inputs.vpcSecurityGroupIds).to.deep.equal([sg(`${DEPLOY_RUNNER_NAME}-workers`)]);
        expect(named(run, T.service, DEPLOY_RUNNER_NAME).inputs.networkConfiguration).to.deep.include({ assignPublicIp: false, securityGroups: [sg(`${DEPLOY_RUNNER_NAME}-manager`)] });
    });

    it("roles: each manager scales, terminates and reaches only its own group, and uses only its own cache prefix", async () => {
        const run = await stackRun("prod");
        const bucket = named(run, "aws:s3/bucket:Bucket", "runner-cache").state;
        for (const [fleet, prefix] of [["runner", "general"], [DEPLOY_RUNNER_NAME, "deploy"]]) {
            const statements = JSON.parse(named(run, T.policy, `${fleet}-task-policy`).inputs.policy).Statement as any[];
            const sid = (id: string) => statements.find((st) => st.Sid === id);
            expect(sid("ScaleWorkers").Resource, fleet).to.deep.equal([named(run, T.asg, `${fleet}-workers`).state.arn]);
            expect(sid("SshToWorkers").Condition.StringEquals["ec2:ResourceTag/aws:autoscaling:groupName"], fleet).to.equal(`platform-prod-${fleet}-workers`);
            expect(sid("CacheObjects").Resource, fleet).to.deep.equal([`${bucket.arn}/${prefix}/*`]);
            expect(config(run, fleet).runners[0].cache.Path, fleet).to.equal(prefix);
        }
    });
});

describe("GitLab Runner: the Docker Hub cache in a stack (prod with runner.dockerHubCache)", () => {
    const cached = () =>
        variantRun("runner-docker-hub-cache", "prod", (c) => {
            c["platform:runner"].dockerHubCache = true;
        });

    it("the stack output DOCKER_HUB_MIRROR is set to is the rule's registry and prefix; the manager's helper is for that registry", async () => {
        const run = await cached();
        expect(run.error).to.equal(undefined);
        expect(run.outputs.dockerHubMirror).to.equal(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/docker-hub/platform-prod`);
        const env: string[] = parseToml(runnerContainer(run).environment.find((e: any) => e.name === "RUNNER_CONFIG_TOML").value).runners[0].environment;
        const host = (run.outputs.dockerHubMirror as string).split("/")[0];
        expect(env).to.deep.equal([`DOCKER_AUTH_CONFIG={"credHelpers":{"${host}":"ecr-login"}}`]);
        expect(run.outputs.dockerHubCredentialSecretArn).to.equal(named(run, T.secret, "runner-docker-hub").state.arn);
        expect((await stackRun("prod")).outputs.dockerHubMirror, "no rule, no mirror").to.equal(undefined);
        // The cached images are priced as ECR storage.
        expect(estimate(run.resources, loadPrices()).lines.filter((l) => l.resource === "runner-docker-hub").map((l) => l.item)).to.include("ECR storage (cached images)");
    });

    it("Docker's dind image pulled through the mirror may still run privileged, and nothing else of the mirror may", async () => {
        const run = await cached();
        const mirror = run.outputs.dockerHubMirror as string;
        const digest = `@sha256:${"ab".repeat(32)}`;
        for (const fleet of ["runner", DEPLOY_RUNNER_NAME]) {
            const allowed: string[] = parseToml(JSON.parse(named(run, T.td, fleet).inputs.containerDefinitions)[0].environment.find((e: any) => e.name === "RUNNER_CONFIG_TOML").value).runners[0].docker.allowed_privileged_services;
            const privileged = (name: string) => allowed.some((p) => doublestarMatch(p, name));
            for (const name of [`${mirror}/library/docker:27.5.1-dind${digest}`, `${mirror}/library/docker:27.5.1-dind`, `docker:27.5.1-dind${digest}`]) {
                expect(privileged(name), `${fleet} ${name}`).to.equal(true);
            }
            for (const name of [`${mirror}/library/docker:27.5.1${digest}`, `${mirror}/evil/docker:27.5.1-dind`, `${mirror}/library/docker:27.5.1-dind-rootless`, `evil.example/x/library/docker:27.5.1-dind`]) {
                expect(privileged(name), `${fleet} ${name}`).to.equal(false);
            }
        }
    });

    it("the deploy role may create, change and delete the rule and write its secret, not another stack's secret", async () => {
        const deploy = roleStatements(await cached(), "deploy");
        const can = (action: string, resource: string) => evaluate(deploy, { action, resource, context: {} });
        for (const action of ["ecr:CreatePullThroughCacheRule", "ecr:DescribePullThroughCacheRules", "ecr:UpdatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule"]) {
            expect(can(action, "*"), action).to.equal("allow");
        }
        const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:ecr-pullthroughcache/${name}-AbCdEf`;
        expect(can("secretsmanager:CreateSecret", secret("platform-prod-docker-hub-20261207"))).to.equal("allow");
        expect(can("secretsmanager:CreateSecret", secret("platform-dev-docker-hub-20261207"))).to.equal("implicit");
        // The images every job pulls are not the deploy's to write: its ECR grant is the stack's own repositories.
        const cacheRepo = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/${String((await cached()).outputs.dockerHubMirror).split("/").slice(1).join("/")}/library/docker`;
        for (const action of ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:DeleteRepository", "ecr:BatchDeleteImage"]) {
            expect(can(action, cacheRepo), action).to.equal("implicit");
        }
        expect(can("ecr:PutImage", `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/platform-prod-app`)).to.equal("allow");
    });
});

describe("GitLab Runner: Docker-in-Docker only where a job builds images", () => {
    it("a fleet without dind runs no service privileged and shares no certificates", () => {
        const r = parseToml(renderRunnerConfig({ ...ARGS, dind: false })).runners[0];
        expect(r.docker).to.deep.equal({ image: "alpine:3.21", privileged: false, services_privileged: false, volumes: ["/cache"] });
    });

    it("each fleet's flag is in its rendered config.toml", async () => {
        const run = await stackRun("prod");
        for (const [fleet, dind] of [["runner", DIND.general], [DEPLOY_RUNNER_NAME, DIND.deploy]] as const) {
            const docker = parseToml(JSON.parse(named(run, T.td, fleet).inputs.containerDefinitions)[0].environment.find((e: any) => e.name === "RUNNER_CONFIG_TOML").value).runners[0].docker;
            expect(docker.services_privileged, fleet).to.equal(dind);
            expect(docker.privileged, fleet).to.equal(false);
        }
    });
});

describe("runner/entrypoint.sh (fake gitlab-runner)", () => {
    function start(env: Record<string, string>) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-"));
        const bin = path.join(dir, "gitlab-runner");
        fs.writeFileSync(bin, `#!/bin/sh\necho "$$" >'${dir}/pid'\nprintf '%s\\n' "$@" >'${dir}/args'\nenv >'${dir}/env'\n`, { mode: 0o755 });
        const r = spawnSync("sh", [path.join(ROOT, "runner/entrypoint.sh")], { env: { PATH: process.env.PATH!, RUNNER_BIN: bin, RUNNER_CONFIG_DIR: path.join(dir, "etc"), ...env }, encoding: "utf8" });
        const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : undefined);
        const out = { r, args: read("args"), env: read("env"), config: read("etc/config.toml"), mode: fs.existsSync(path.join(dir, "etc/config.toml")) ? fs.statSync(path.join(dir, "etc/config.toml")).mode & 0o777 : undefined };
        fs.rmSync(dir, { recursive: true, force: true });
        return out;
    }
    const TOML = renderRunnerConfig(ARGS);

    it("writes config.toml (0600) from RUNNER_CONFIG_TOML and execs `gitlab-runner run` on it, the token left in the environment for expansion", () => {
        const s = start({ RUNNER_CONFIG_TOML: TOML, RUNNER_TOKEN: "glrt-abc123" });
        expect(s.r.status, s.r.stderr).to.equal(0);
        expect(s.config).to.equal(`${TOML}\n`);
        expect(s.mode).to.equal(0o600);
        const args = s.args!.trim().split("\n");
        expect(args).to.have.length(5);
        expect([args[0], args[1], args[3], args[4]]).to.deep.equal(["run", "--config", "--working-directory", "/home/gitlab-runner"]);
        expect(args[2]).to.match(/\/etc\/config\.toml$/);
        expect(s.env).to.include("RUNNER_TOKEN=glrt-abc123");
        expect(s.env).to.not.include("RUNNER_CONFIG_TOML=");
        expect(s.config).to.not.include("glrt-abc123");
    });

    for (const [why, env, message] of [
        ["no token", { RUNNER_CONFIG_TOML: TOML }, /RUNNER_TOKEN is empty/],
        ["a token that is not a runner authentication token", { RUNNER_CONFIG_TOML: TOML, RUNNER_TOKEN: "glpat-xyz" }, /not a runner authentication token/],
        ["no config", { RUNNER_TOKEN: "glrt-abc" }, /RUNNER_CONFIG_TOML is empty/],
    ] as const) {
        it(`refuses to start with ${why} (exit 64, gitlab-runner never runs)`, () => {
            const s = start(env as Record<string, string>);
            expect(s.r.status).to.equal(64);
            expect(s.r.stderr).to.match(message);
            expect(s.args).to.equal(undefined);
        });
    }
});
