import { expect } from "chai";
import { AWS_DEFAULT_HEALTH, rolloutFloorSeconds, SERVICE_HEALTH } from "../facts/rollout";
import { rolloutTimeoutMinutes } from "../components/app/djangoService";
import { webConcurrency } from "../components/app/facts";
import { inComponent, named, ofType, stackRun, STACKS, StackRun } from "../sim/harness";
import { stackValues } from "./stackValues";

/** The app's task, service, autoscaling, media bucket and alarms as both stacks build them (config → index.ts → DjangoService); updates a live service must survive: tests/components/djangoService.test.ts. */

const T = {
    db: "aws:rds/instance:Instance",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    lb: "aws:lb/loadBalancer:LoadBalancer",
    tg: "aws:lb/targetGroup:TargetGroup",
    td: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    role: "aws:iam/role:Role",
    policy: "aws:iam/rolePolicy:RolePolicy",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    rotation: "aws:secretsmanager/secretRotation:SecretRotation",
    bucket: "aws:s3/bucket:Bucket",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    scalingTarget: "aws:appautoscaling/target:Target",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
} as const;

const containers = (run: StackRun): any[] => JSON.parse(named(run, T.td, "app").inputs.containerDefinitions);
const container = (run: StackRun, name: string): any => containers(run).find((c) => c.name === name);
const policyOf = (run: StackRun, role: string): any[] => JSON.parse(named(run, T.policy, `${role}-policy`).inputs.policy).Statement;
const sgId = (run: StackRun, name: string): string => named(run, T.sg, name).id;

describe("Django app service", () => {
    describe("task definition", () => {
        for (const stack of STACKS) {
            it(`${stack}: Fargate size from config, platform from the image, non-root, read-only root with a tmp volume`, async () => {
                const run = await stackRun(stack);
                const td = named(run, T.td, "app");
                const size = stack === "prod" ? ["1024", "2048"] : ["256", "512"];
                expect([td.inputs.cpu, td.inputs.memory]).to.deep.equal(size);
                expect(td.inputs.requiresCompatibilities).to.deep.equal(["FARGATE"]);
                expect(td.inputs.networkMode).to.equal("awsvpc");
                expect(td.inputs.runtimePlatform).to.deep.equal({ operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" });
                // ECS Exec's agent volumes only where Exec is on (dev).
                expect(td.inputs.volumes).to.deep.equal(stack === "dev" ? [{ name: "tmp" }, { name: "ssm-state" }, { name: "ssm-logs" }] : [{ name: "tmp" }]);
                for (const c of containers(run)) {
                    expect(c.image, c.name).to.equal(run.outputs.appImageRef);
                    expect(c.readonlyRootFilesystem, c.name).to.equal(true);
                    expect(c.privileged, c.name).to.equal(false);
                    expect(c.user, c.name).to.match(/^[1-9]\d*:[1-9]\d*$/);
                    expect(c.mountPoints[0], c.name).to.deep.equal({ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false });
                    expect(c.logConfiguration.logDriver).to.equal("awslogs");
                    expect(c.logConfiguration.options["awslogs-group"]).to.equal(run.outputs.appLogGroup);
                }
                expect(named(run, T.logGroup, "app").inputs.retentionInDays).to.equal(stack === "prod" ? 365 : 14);
            });

            it(`${stack}: web waits for the migration init container's SUCCESS`, async () => {
                const run = await stackRun(stack);
                const migrate = container(run, "migrate");
                const web = container(run, "web");
                expect(migrate.essential).to.equal(false);
                expect(migrate.command).to.deep.equal(["migrate"]);
                expect(web.essential).to.equal(true);
                expect(web.command).to.deep.equal(["web"]);
                expect(web.dependsOn).to.deep.equal([{ containerName: "migrate", condition: "SUCCESS" }]);
                expect(web.portMappings).to.deep.equal([{ containerPort: 8000, protocol: "tcp" }]);
                expect(web.healthCheck.command.join(" ")).to.include("/healthz");
                // ECS Exec targets web: its agent needs writable state/log dirs under the read-only root.
                expect(web.linuxParameters).to.deep.equal({ initProcessEnabled: true });
                expect(migrate.linuxParameters).to.deep.equal({ initProcessEnabled: true });
                expect(web.mountPoints.map((m: any) => m.containerPath)).to.deep.equal(stack === "dev" ? ["/tmp", "/var/lib/amazon", "/var/log/amazon"] : ["/tmp"]);
                expect(migrate.mountPoints.map((m: any) => m.containerPath)).to.deep.equal(["/tmp"]);
            });

            it(`${stack}: secrets come from Secrets Manager, never as environment values; only migrate gets the master password and the first admin's`, async () => {
                const run = await stackRun(stack);
                // RDS's own secret (a stack at step 1 of turning rotation on has ours: tests/appDatabase.test.ts).
                const masterSecret = named(run, T.db, "app-db").state.masterUserSecrets[0].secretArn;
                const secretArns = [...ofType(run, T.secret).map((s) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${s.name}-`), masterSecret];
                const envOf = (c: any) => Object.fromEntries(c.environment.map((e: any) => [e.name, e.value]));
                const [migrate, web] = [container(run, "migrate"), container(run, "web")];
                // The first superuser's too (ensure_admin): tests/appAdminPassword.test.ts.
                expect(migrate.secrets.map((s: any) => s.name).sort()).to.deep.equal(["DB_PASSWORD", "DB_USER", "DJANGO_SECRET_KEY", "DJANGO_SUPERUSER_PASSWORD", "DJANGO_SUPERUSER_USERNAME"]);
                expect(migrate.secrets.filter((s: any) => s.name.startsWith("DB_")).map((s: any) => s.valueFrom)).to.deep.equal([`${masterSecret}:username::`, `${masterSecret}:password::`]);
                expect(envOf(migrate).DB_APP_USER).to.equal("app_web");
                // The web process: no database password at all, an IAM login of its own.
                expect(web.secrets.map((s: any) => s.name)).to.deep.equal(["DJANGO_SECRET_KEY"]);
                expect(envOf(web)).to.include({ DB_USER: "app_web", DB_IAM_AUTH: "1", DB_REGION: "us-east-1", DB_SSLMODE: "verify-full", DB_SSLROOTCERT: "/app/certs/rds-global-bundle.pem" });
                expect(envOf(web).DB_APP_USER).to.equal(undefined);
                for (const c of containers(run)) {
                    for (const s of c.secrets) {
                        expect(secretArns.some((arn) => s.valueFrom.startsWith(arn)), s.valueFrom).to.equal(true);
                        expect(s.valueFrom).to.match(/:(password|username|key)::$/);
                    }
                    const envText = JSON.stringify(c.environment);
                    expect(envText).to.not.match(/generated-/);
                    for (const e of c.environment) {
                        expect(e.name).to.not.match(/SECRET|PASSWORD/);
                    }
                    const env = Object.fromEntries(c.environment.map((e: any) => [e.name, e.value]));
                    expect(env.DJANGO_ALLOWED_HOSTS).to.equal(stackValues(stack).appHost);
                    expect(env.AWS_STORAGE_BUCKET_NAME).to.equal(run.outputs.appMediaBucket);
                    // The commit the app image was built from: its tag starts with it.
                    expect(String(run.outputs.appImageTag).startsWith(`${env.GIT_COMMIT_SHA}-`)).to.equal(true);
                    expect(env.GIT_COMMIT_SHA).to.match(/^[0-9a-f]{8}$/);
                    expect(env.DB_HOST).to.match(/\.rds\.amazonaws\.com$/);
                    expect(env.WEB_CONCURRENCY).to.equal(stack === "prod" ? "3" : "2");
                }
            });

            it(`${stack}: execution role pulls only the repository of the image it runs and reads only these secrets`, async () => {
                const run = await stackRun(stack);
                const statements = policyOf(run, "app-execution");
                const pull = statements.find((s) => s.Sid === "PullImages");
                // Prod runs dev's image (images.promoteFrom: dev), so dev's repository, and its own
                // (an older revision's image, a rollback).
                const repo = (r: typeof run) => named(r, "aws:ecr/repository:Repository", "app").state.arn;
                expect(pull.Resource).to.deep.equal(stack === "prod" ? [repo(await stackRun("dev")), repo(run)] : [repo(run)]);
                expect(new Set(pull.Resource).size).to.equal(pull.Resource.length);
                const read = statements.find((s) => s.Sid === "ReadSecrets");
                expect(read.Action).to.deep.equal(["secretsmanager:GetSecretValue"]);
                expect(read.Resource).to.have.length(3);
                for (const arn of read.Resource) {
                    expect(arn).to.match(/:secret:(rds!db-|app-secret-key-|app-admin-)/);
                }
                const logs = statements.find((s) => s.Sid === "WriteLogs");
                expect(logs.Resource[0]).to.match(new RegExp(`log-group:/platform/${stack}/app-.*:\\*$`));
            });

            it(`${stack}: nothing uses a role, secret or cluster before its policy, value or capacity exists`, async () => {
                const run = await stackRun(stack);
                const urnOf = (type: string, name: string) => named(run, type, name).urn;
                const td = named(run, T.td, "app");
                for (const [type, dep] of [
                    [T.policy, "app-execution-policy"],
                    [T.policy, "app-task-policy"],
                    [T.secretVersion, "app-secret-key"],
                    [T.secretVersion, "app-admin"],
                    [T.rotation, "app-db-master-rotation"],
                ]) {
                    expect(td.dependencies, dep).to.include(urnOf(type, dep));
                }
                const svc = named(run, T.service, "app");
                expect(svc.dependencies).to.include(urnOf("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "cluster-capacity"));
                if (stack === "prod") {
                    expect(svc.dependencies).to.include(urnOf(T.policy, "app-ecs-lb-policy"));
                    const flow = named(run, "aws:ec2/flowLog:FlowLog", "network-flow-log");
                    expect(flow.dependencies).to.include(urnOf(T.policy, "network-flow-logs-policy"));
                }
            });

            it(`${stack}: task role reaches only this app's bucket, its own database login and ECS Exec's channels`, async () => {
                const run = await stackRun(stack);
                const statements = policyOf(run, "app-task");
                const bucketArn = `arn:aws:s3:::${run.outputs.appMediaBucket}`;
                const resources = statements.flatMap((s) => s.Resource);
                const login = `arn:aws:rds-db:us-east-1:123456789012:dbuser:${named(run, T.db, "app-db").state.resourceId}/app_web`;
                expect(resources.filter((r: string) => r !== "*").sort()).to.deep.equal([login, bucketArn, `${bucketArn}/*`].sort());
                expect(statements.find((s) => s.Sid === "DatabaseLogin").Action).to.deep.equal(["rds-db:connect"]);
                const star = statements.filter((s) => s.Resource.includes("*")).flatMap((s) => s.Action);
                expect(star.every((a: string) => a.startsWith("ssmmessages:"))).to.equal(true);
                const trust = JSON.parse(named(run, T.role, "app-task").inputs.assumeRolePolicy).Statement[0];
                expect(trust.Principal.Service).to.equal("ecs-tasks.amazonaws.com");
                expect(trust.Condition.StringEquals["aws:SourceAccount"]).to.equal("123456789012");
            });
        }
    });

    describe("service", () => {
        for (const stack of STACKS) {
            it(`${stack}: private subnets, no public IP, port open only to the ALB, circuit breaker with rollback, 100/200 %, ECS Exec`, async () => {
                const run = await stackRun(stack);
                const svc = named(run, T.service, "app");
                expect(svc.inputs.networkConfiguration).to.deep.equal({ subnets: run.outputs.privateSubnetIds, securityGroups: [sgId(run, "app-tasks")], assignPublicIp: false });
                expect(svc.inputs.deploymentCircuitBreaker).to.deep.equal({ enable: true, rollback: true });
                expect([svc.inputs.deploymentMinimumHealthyPercent, svc.inputs.deploymentMaximumPercent]).to.deep.equal([100, 200]);
                expect(svc.inputs.healthCheckGracePeriodSeconds).to.be.greaterThan(0);
                // ECS Exec is a way into production: on in dev only (app.execCommand).
                expect(svc.inputs.enableExecuteCommand).to.equal(stack === "dev");
                expect(svc.inputs.platformVersion).to.equal("LATEST");
                expect(svc.inputs.cluster).to.equal(run.outputs.clusterArn);
                const appRules = ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === sgId(run, "app-tasks"));
                expect(appRules.map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId])).to.deep.equal([[8000, run.outputs.loadBalancerSecurityGroupId]]);
                // Rolls back on the deployment alarms in every stack.
                expect(svc.inputs.alarms.enable).to.equal(true);
                expect(svc.inputs.alarms.rollback).to.equal(true);
                const alarmNames = ofType(run, T.alarm).filter((a) => /5xx-rate|unhealthy-hosts/.test(a.name)).map((a) => `${a.name}-`);
                expect(svc.inputs.alarms.alarmNames).to.have.length(2);
                for (const n of svc.inputs.alarms.alarmNames) {
                    expect(alarmNames.some((p) => n.startsWith(p)), n).to.equal(true);
                }
                expect(svc.ignoreChanges).to.include("desiredCount");
            });
        }

        it("dev: rolling deploys on Fargate Spot", async () => {
            const svc = named(await stackRun("dev"), T.service, "app");
            expect(svc.inputs.capacityProviderStrategies).to.deep.equal([{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
            expect(svc.inputs.deploymentConfiguration).to.deep.equal({ strategy: "ROLLING" });
            expect(svc.inputs.loadBalancers[0].advancedConfiguration).to.equal(undefined);
        });

        it("prod: ECS-native canary with bake times, shifting between two target groups through a scoped role", async () => {
            const run = await stackRun("prod");
            const svc = named(run, T.service, "app");
            expect(svc.inputs.capacityProviderStrategies).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1 }]);
            expect(svc.inputs.deploymentConfiguration).to.deep.equal({
                strategy: "CANARY",
                bakeTimeInMinutes: "10",
                canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: "5" },
            });
            const [lbCfg] = svc.inputs.loadBalancers;
            expect(lbCfg).to.include({ containerName: "web", containerPort: 8000 });
            expect(lbCfg.targetGroupArn).to.match(/targetgroup\/app\//);
            expect(lbCfg.advancedConfiguration.alternateTargetGroupArn).to.match(/targetgroup\/app-green\//);
            expect(lbCfg.advancedConfiguration.productionListenerRule).to.match(/listener-rule\//);
            const role = JSON.parse(named(run, T.role, "app-ecs-lb").inputs.assumeRolePolicy).Statement[0];
            expect(role.Principal.Service).to.equal("ecs.amazonaws.com");
            // ECS owns the live target group after each shift; Pulumi must not send it back.
            expect(svc.ignoreChanges).to.deep.equal(["desiredCount", "loadBalancers[0].targetGroupArn", "loadBalancers[0].advancedConfiguration.alternateTargetGroupArn"]);
            // `pulumi up` waits through both bakes: the 20-minute provider default would not.
            expect(svc.customTimeouts.update).to.equal(`${rolloutTimeoutMinutes({ strategy: "CANARY", bakeTimeMinutes: 10, canaryBakeTimeMinutes: 5 })}m`);
            expect(rolloutTimeoutMinutes({ strategy: "CANARY", bakeTimeMinutes: 10, canaryBakeTimeMinutes: 5 })).to.equal(46);
            expect(svc.inputs.waitForSteadyState).to.equal(true);
            const modify = policyOf(run, "app-ecs-lb").find((s) => s.Sid === "ShiftTraffic");
            expect(modify.Resource).to.deep.equal([lbCfg.advancedConfiguration.productionListenerRule]);
            expect(modify.Resource[0]).to.match(/:listener-rule\/app\/public\/[0-9a-f]+\/[0-9a-f]+\/[0-9a-f]+$/);
            expect(role.Condition).to.equal(undefined);
        });
    });

    describe("autoscaling", () => {
        for (const stack of STACKS) {
            it(`${stack}: min/max from config, CPU and request-count target tracking on this service, slow scale-in`, async () => {
                const run = await stackRun(stack);
                const target = named(run, T.scalingTarget, "app-scaling");
                const [min, max] = stack === "prod" ? [3, 12] : [1, 2];
                expect(target.inputs).to.include({ minCapacity: min, maxCapacity: max, serviceNamespace: "ecs", scalableDimension: "ecs:service:DesiredCount" });
                expect(target.inputs.resourceId).to.equal(`service/${run.outputs.clusterName}/${run.outputs.appServiceName}`);
                const policies = ofType(run, T.scalingPolicy).filter((p) => p.name.startsWith("app-"));
                for (const p of policies) {
                    expect(p.inputs.resourceId).to.equal(target.inputs.resourceId);
                    const c = p.inputs.targetTrackingScalingPolicyConfiguration;
                    expect(c.scaleInCooldown).to.be.greaterThan(c.scaleOutCooldown);
                }
                expect(policies.map((p) => p.name).sort()).to.deep.equal(["app-scaling-cpu", "app-scaling-requests"]);
                const cpu = named(run, T.scalingPolicy, "app-scaling-cpu").inputs.targetTrackingScalingPolicyConfiguration;
                expect(cpu.predefinedMetricSpecification.predefinedMetricType).to.equal("ECSServiceAverageCPUUtilization");
                expect(cpu.targetValue).to.equal(60);
                const requests = named(run, T.scalingPolicy, "app-scaling-requests").inputs.targetTrackingScalingPolicyConfiguration;
                expect(requests.targetValue).to.equal(1000);
                const lbSuffix = named(run, T.lb, "public").state.arnSuffix;
                const tgSuffixes = inComponent(run, T.tg, "app").map((g) => g.state.arnSuffix);
                if (stack === "dev") {
                    // One target group: the predefined metric, labelled with the ALB and the group.
                    expect(requests.predefinedMetricSpecification).to.deep.equal({
                        predefinedMetricType: "ALBRequestCountPerTarget",
                        resourceLabel: `${lbSuffix}/${tgSuffixes[0]}`,
                    });
                    expect(requests.predefinedMetricSpecification.resourceLabel).to.match(/^app\/public\/[0-9a-f]+\/targetgroup\/app\/[0-9a-f]+$/);
                } else {
                    // Two groups: requests per healthy target summed over both, so the idle one never blocks scale-in.
                    const metrics = requests.customizedMetricSpecification.metrics;
                    const expr = metrics.find((m: any) => m.returnData);
                    expect(expr.expression).to.equal("(FILL(r0,0)+FILL(r1,0))/(FILL(h0,0)+FILL(h1,0))");
                    const stats = metrics.filter((m: any) => m.metricStat);
                    expect(stats.map((m: any) => m.metricStat.metric.metricName).sort()).to.deep.equal(["HealthyHostCount", "HealthyHostCount", "RequestCount", "RequestCount"]);
                    for (const m of stats) {
                        const dims = Object.fromEntries(m.metricStat.metric.dimensions.map((d: any) => [d.name, d.value]));
                        expect(dims.LoadBalancer).to.equal(lbSuffix);
                        expect(tgSuffixes).to.include(dims.TargetGroup);
                    }
                    expect(new Set(stats.map((m: any) => m.metricStat.metric.dimensions[1].value))).to.deep.equal(new Set(tgSuffixes));
                }
            });
        }
    });

    describe("media bucket", () => {
        for (const stack of STACKS) {
            it(`${stack}: all public access blocked, SSE-KMS, TLS only, no ACLs, versioned and protected in prod`, async () => {
                const run = await stackRun(stack);
                const pab = named(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "app-media-public-access");
                expect(pab.inputs).to.include({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
                const sse = named(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "app-media-sse");
                expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("aws:kms");
                const own = named(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "app-media-ownership");
                expect(own.inputs.rule.objectOwnership).to.equal("BucketOwnerEnforced");
                const policy = JSON.parse(named(run, "aws:s3/bucketPolicy:BucketPolicy", "app-media-policy").inputs.policy);
                expect(policy.Statement[0]).to.deep.include({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
                const versioning = named(run, "aws:s3/bucketVersioning:BucketVersioning", "app-media-versioning");
                expect(versioning.inputs.versioningConfiguration.status).to.equal(stack === "prod" ? "Enabled" : "Suspended");
                const bucket = named(run, T.bucket, "app-media");
                expect(bucket.protect).to.equal(stack === "prod");
                expect(bucket.inputs.forceDestroy).to.equal(stack !== "prod");
            });
        }
    });

    describe("alarms", () => {
        for (const stack of STACKS) {
            it(`${stack}: 5xx rate, p99 latency, unhealthy hosts, CPU and memory, all to the stack's topic`, async () => {
                const run = await stackRun(stack);
                const alarms = inComponent(run, T.alarm, "app");
                expect(alarms.map((a) => a.name).sort()).to.deep.equal(["app-5xx-rate", "app-cpu", "app-memory", "app-p99-latency", "app-unhealthy-hosts"]);
                for (const a of alarms) {
                    expect(a.inputs.alarmActions, a.name).to.deep.equal([run.outputs.alarmTopicArn]);
                }
                const tgCount = inComponent(run, T.tg, "app").length;
                const rate = alarms.find((a) => a.name === "app-5xx-rate")!;
                const tgMetrics = rate.inputs.metricQueries.filter((q: any) => q.metric);
                expect(tgMetrics).to.have.length(2 * tgCount);
                expect(rate.inputs.threshold).to.equal(stack === "prod" ? 2 : 5);
                const p99 = alarms.find((a) => a.name === "app-p99-latency")!;
                expect(p99.inputs.metricQueries.filter((q: any) => q.metric).every((q: any) => q.metric.stat === "p99")).to.equal(true);
                const cpu = alarms.find((a) => a.name === "app-cpu")!;
                expect(cpu.inputs.dimensions).to.deep.equal({ ClusterName: run.outputs.clusterName, ServiceName: run.outputs.appServiceName });
            });
        }
    });

    it("exports the URL, ALB, cluster and service names, log group and database endpoint", async () => {
        for (const stack of STACKS) {
            const { outputs } = await stackRun(stack);
            for (const k of ["appUrl", "albDnsName", "clusterName", "appServiceName", "appLogGroup", "appDatabaseEndpoint", "alarmTopicArn"]) {
                expect(outputs[k], `${stack} ${k}`).to.be.a("string").and.not.equal("");
            }
        }
    });

    it("sizes gunicorn from the task's CPU units, not the host's CPU count", () => {
        expect([256, 512, 1024, 2048, 4096].map(webConcurrency)).to.deep.equal([2, 2, 3, 5, 9]);
    });

    describe("rollout floor", () => {
        it("is health interval × healthy threshold + deregistration delay, plus bake times for canary", () => {
            expect(rolloutFloorSeconds(AWS_DEFAULT_HEALTH, { strategy: "ROLLING", bakeTimeMinutes: 0, canaryBakeTimeMinutes: 0 })).to.equal(450);
            expect(rolloutFloorSeconds(SERVICE_HEALTH, { strategy: "ROLLING", bakeTimeMinutes: 10, canaryBakeTimeMinutes: 5 })).to.equal(40);
            expect(rolloutFloorSeconds(SERVICE_HEALTH, { strategy: "CANARY", bakeTimeMinutes: 10, canaryBakeTimeMinutes: 5 })).to.equal(40 + 900);
            expect(rolloutFloorSeconds(SERVICE_HEALTH, { strategy: "BLUE_GREEN", bakeTimeMinutes: 10, canaryBakeTimeMinutes: 5 })).to.equal(40 + 600);
        });
    });
});
