import { expect } from "chai";
import { KEY_ADMIN_ACTIONS } from "../components/alerts";
import { SERVICE_SWAPPED_FIELDS } from "../components/app/djangoService";
import { albLogDeliveryPrincipal, ELB_LOG_ACCOUNTS, WAF_MANAGED_RULE_GROUPS } from "../components/loadBalancer";
import { configWarnings, parseConfig } from "../config";
import { renderPlan } from "../tools/plan";
import { effectiveInputs } from "./engineMirror";
import { childrenOf, named, ofType, readStackConfig, Resource, runStack, stackRun, STACKS, StackRun, urnName } from "../sim/harness";

const T = {
    service: "aws:ecs/service:Service",
    rule: "aws:lb/listenerRule:ListenerRule",
    tg: "aws:lb/targetGroup:TargetGroup",
    td: "aws:ecs/taskDefinition:TaskDefinition",
    bucket: "aws:s3/bucket:Bucket",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    logging: "aws:s3/bucketLogging:BucketLogging",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    role: "aws:iam/role:Role",
} as const;

describe("hardening: updates a live stack survives", () => {
    it("the engine-mirror used below resets leaves, walks [*], and keeps new values under a parent old lacks", () => {
        const old = { a: { b: 1, c: [{ w: 1 }, { w: 2 }] } };
        expect(effectiveInputs(old, { a: { b: 9, c: [{ w: 7 }, { w: 8 }] } }, ["a.c[*].w"])).to.deep.equal({ a: { b: 9, c: [{ w: 1 }, { w: 2 }] } });
        expect(effectiveInputs(old, { a: { b: 9 } }, ["a.b"])).to.deep.equal({ a: { b: 1 } });
        expect(effectiveInputs({ a: {} }, { a: { b: 9 } }, ["a.b"])).to.deep.equal({ a: {} });
        expect(effectiveInputs({}, { a: { b: 9 } }, ["a.b"])).to.deep.equal({ a: { b: 9 } });
    });

    it("prod: the rule ignores only the weights ECS moves; the service only the two fields ECS swaps", async () => {
        const run = await stackRun("prod");
        expect(named(run, T.rule, "app").ignoreChanges).to.deep.equal(["actions[*].forward.targetGroups[*].weight"]);
        expect(named(run, T.service, "app").ignoreChanges).to.deep.equal(["desiredCount", ...SERVICE_SWAPPED_FIELDS]);
    });

    for (const stack of STACKS) {
        it(`${stack}: the service is created only after its security-group rules exist`, async () => {
            const run = await stackRun(stack);
            const svc = named(run, T.service, "app");
            for (const [type, name] of [
                ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "app-from-alb"],
                ["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "app-tasks-out"],
                ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "app-to-db"],
            ]) {
                expect(svc.dependencies, name).to.include(named(run, type, name).urn);
            }
        });
    }
});

describe("hardening: Security Hub controls", () => {
    it("prod: WAF on the ALB with AWS managed rule groups, a per-IP rate limit and retained logs; dev: off", async () => {
        const prod = await stackRun("prod");
        const [acl] = ofType(prod, "aws:wafv2/webAcl:WebAcl");
        expect(acl.inputs).to.include({ scope: "REGIONAL", name: "platform-prod-public" });
        expect(acl.inputs.defaultAction).to.deep.equal({ allow: {} });
        const groups = acl.inputs.rules.filter((r: any) => r.statement.managedRuleGroupStatement).map((r: any) => r.statement.managedRuleGroupStatement.name);
        expect(groups).to.deep.equal([...WAF_MANAGED_RULE_GROUPS]);
        const rate = acl.inputs.rules.find((r: any) => r.statement.rateBasedStatement);
        const notGitLab = {
            notStatement: {
                statement: {
                    orStatement: {
                        statements: ["gitlab.example.com", "registry.gitlab.example.com"].map((host) => ({
                            byteMatchStatement: { fieldToMatch: { singleHeader: { name: "host" } }, positionalConstraint: "EXACTLY", searchString: host, textTransformations: [{ priority: 0, type: "LOWERCASE" }] },
                        })),
                    },
                },
            },
        };
        // GitLab's hosts are out of the rate limit and the common rule set (runners poll; MRs, pushes
        // and snippets carry bodies those rules block); IP reputation and known bad inputs still apply.
        expect(rate.statement.rateBasedStatement).to.deep.equal({ limit: 2000, aggregateKeyType: "IP", evaluationWindowSec: 300, scopeDownStatement: notGitLab });
        const managed = (n: string) => acl.inputs.rules.find((r: any) => r.statement.managedRuleGroupStatement?.name === n).statement.managedRuleGroupStatement;
        expect(managed("AWSManagedRulesCommonRuleSet").scopeDownStatement).to.deep.equal(notGitLab);
        expect(managed("AWSManagedRulesKnownBadInputsRuleSet").scopeDownStatement).to.equal(undefined);
        expect(managed("AWSManagedRulesAmazonIpReputationList").scopeDownStatement).to.equal(undefined);
        expect(rate.action).to.deep.equal({ block: {} });
        expect(new Set(acl.inputs.rules.map((r: any) => r.priority)).size).to.equal(acl.inputs.rules.length);
        const [assoc] = ofType(prod, "aws:wafv2/webAclAssociation:WebAclAssociation");
        expect(assoc.inputs).to.deep.equal({ resourceArn: named(prod, "aws:lb/loadBalancer:LoadBalancer", "public").state.arn, webAclArn: acl.state.arn });
        const [logging] = ofType(prod, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration");
        const group = named(prod, T.logGroup, "public-waf-logs");
        expect(group.inputs.name).to.match(/^aws-waf-logs-/);
        expect(group.inputs.retentionInDays).to.equal(365);
        expect(logging.inputs.logDestinationConfigs).to.deep.equal([group.state.arn]);

        // The configured rate limit on a stack that turns WAF on: tests/components/loadBalancer.test.ts.
        expect(ofType(await stackRun("dev"), "aws:wafv2/webAcl:WebAcl")).to.deep.equal([]);
    });

    for (const stack of STACKS) {
        it(`${stack}: RDS Enhanced Monitoring through a role only RDS monitoring may assume; Performance Insights stays in prod`, async () => {
            const run = await stackRun(stack);
            const db = named(run, "aws:rds/instance:Instance", "app-db");
            const role = named(run, T.role, "app-db-monitoring");
            expect(db.inputs.monitoringInterval).to.equal(60);
            expect(db.inputs.monitoringRoleArn).to.equal(role.state.arn);
            expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "monitoring.rds.amazonaws.com" });
            expect(db.inputs.performanceInsightsEnabled).to.equal(stack === "prod");
        });

        it(`${stack}: every data bucket sends S3 server access logs to the log bucket under a prefix`, async () => {
            const run = await stackRun(stack);
            const logBucket = named(run, T.bucket, "public-access-logs");
            const logging = ofType(run, T.logging);
            for (const b of ofType(run, T.bucket).filter((x) => x !== logBucket)) {
                const l = logging.find((x) => x.inputs.bucket === b.id);
                expect(l, b.name).to.not.equal(undefined);
                expect(l!.inputs.targetBucket).to.equal(logBucket.state.bucket);
                // One prefix per bucket: s3/<service>/ or s3/<service>/<bucket>/.
                expect(l!.inputs.targetPrefix).to.match(/^s3\/[a-z-]+\/([a-z_-]+\/)?$/);
            }
            const policy = JSON.parse(named(run, T.bucketPolicy, "public-access-logs-policy").inputs.policy);
            const s3Logs = policy.Statement.find((s: any) => s.Principal?.Service === "logging.s3.amazonaws.com");
            expect(s3Logs.Resource).to.equal(`${logBucket.state.arn}/s3/*`);
            expect(s3Logs.Condition).to.deep.equal({ StringEquals: { "aws:SourceAccount": "123456789012" } });
        });

        it(`${stack}: the alarm topic is encrypted with a rotating key of ours that lets CloudWatch publish`, async () => {
            const run = await stackRun(stack);
            const [topic] = ofType(run, "aws:sns/topic:Topic");
            const key = named(run, "aws:kms/key:Key", "alerts-key");
            expect(topic.inputs.kmsMasterKeyId).to.equal(key.state.arn);
            expect(key.inputs.enableKeyRotation).to.equal(true);
            const statements = JSON.parse(key.inputs.policy).Statement;
            const cw = statements.find((s: any) => s.Principal.Service === "cloudwatch.amazonaws.com");
            expect(cw.Action).to.have.members(["kms:GenerateDataKey", "kms:Decrypt"]);
            for (const s of statements) {
                for (const a of [s.Action].flat()) {
                    expect(a).to.not.include("*");
                }
            }
            // The account can always manage (and so never lose) the key.
            expect(KEY_ADMIN_ACTIONS).to.include("kms:PutKeyPolicy");
        });
    }

    it("a protected stack must have an alarm subscriber; elsewhere a missing one is a plan warning", async () => {
        const config = readStackConfig("prod");
        delete config["platform:alarms"].email;
        expect(() => parseConfig(config, "prod")).to.throw(/Pulumi\.prod\.yaml: alarms\.email: required when stateful\.protect is true/);
        const dev = parseConfig(readStackConfig("dev"), "dev");
        expect(configWarnings(dev)).to.deep.equal(["Pulumi.dev.yaml: alarms.email is unset: alarms notify an SNS topic with no subscriber"]);
        expect(configWarnings(parseConfig(readStackConfig("prod"), "prod"))).to.deep.equal([]);
        expect(renderPlan(await stackRun("dev"))).to.include("warning: Pulumi.dev.yaml: alarms.email is unset");
    });

    it("the plan shows the GitLab component with its key inputs: single in dev", async () => {
        const plan = renderPlan(await stackRun("dev"));
        expect(plan).to.match(/^ {2}platform:gitlab:GitLab {2}gitlab$/m);
        expect(plan).to.match(/aws:ecs\/service:Service {2}gitlab {2}name=platform-dev-gitlab desired=1 minMax=0%\/100% grace=930/);
        expect(plan).to.match(/aws:ecs\/taskDefinition:TaskDefinition {2}gitlab {2}cpu=4096 memory=8192 disk=50 efs=true/);
        expect(plan).to.match(/aws:efs\/accessPoint:AccessPoint {2}gitlab-repositories {2}root=\/gitlab posixUser=none/);
        expect(plan).to.match(/aws:scheduler\/schedule:Schedule {2}gitlab-backup {2}schedule=cron\(30 2 \* \* \? \*\) UTC launch=FARGATE/);
        expect(plan).to.include("GitLab (single): one 4 vCPU / 8 GB Omnibus task on Spot, replaced stop-first (0 %/100 %), no autoscaling; https://gitlab.dev.example.com");
    });

    it("the plan shows the GitLab component with its key inputs: split in prod", async () => {
        const plan = renderPlan(await stackRun("prod"));
        expect(plan).to.match(/aws:ecs\/service:Service {2}gitlab-web {2}name=platform-prod-gitlab-web desired=2 minMax=100%\/200% grace=630 capacity=FARGATE publicIp=false/);
        expect(plan).to.match(/aws:ecs\/service:Service {2}gitlab-gitaly {2}name=platform-prod-gitlab-gitaly desired=1 minMax=0%\/100% capacity=platform-prod-gitaly publicIp=false/);
        expect(plan).to.match(/aws:ebs\/volume:Volume {2}gitaly-data {2}type=gp3 sizeGb=200 iops=3000 throughput=125 encrypted=true/);
        expect(plan).to.match(/aws:elasticache\/replicationGroup:ReplicationGroup {2}gitlab-redis {2}engine=valkey 7\.2 node=cache\.t4g\.medium nodes=2 multiAz=true tls=true atRest=true/);
        expect(plan).to.match(/command:local:Command {2}gitlab-migrate {2}runs=\["migrate"\]/);
        expect(plan).to.include(
            "GitLab (split): web 2..3 × 4 vCPU / 8 GB (CPU 60 %, memory 75 %), Sidekiq 1..3 × 2 vCPU / 4 GB (CPU 60 %), one Gitaly on m7i.large with a 200 GiB gp3 volume, never scaled; Valkey 7.2 cache.t4g.medium Multi-AZ; migrations once per deploy",
        );
    });

    it("ECS Exec is a switch: off in prod (no agent volumes, no SSM grants), on in dev", async () => {
        const hasExec = (run: StackRun) => {
            const policy = JSON.parse(named(run, "aws:iam/rolePolicy:RolePolicy", "app-task-policy").inputs.policy);
            return {
                service: named(run, T.service, "app").inputs.enableExecuteCommand,
                ssm: policy.Statement.some((s: any) => [s.Action].flat().some((a: string) => a.startsWith("ssmmessages:"))),
                volumes: named(run, T.td, "app").inputs.volumes.length > 1,
            };
        };
        expect(hasExec(await stackRun("prod"))).to.deep.equal({ service: false, ssm: false, volumes: false });
        expect(hasExec(await stackRun("dev"))).to.deep.equal({ service: true, ssm: true, volumes: true });
        // Read-only root either way.
        for (const c of JSON.parse(named(await stackRun("dev"), T.td, "app").inputs.containerDefinitions)) {
            expect(c.readonlyRootFilesystem).to.equal(true);
        }
    });
});

describe("hardening: two stacks in one account", () => {
    const physicalNames = (run: StackRun): string[] => {
        const pick: Record<string, (r: Resource) => unknown> = {
            [T.service]: (r) => r.inputs.name,
            [T.td]: (r) => r.inputs.family,
            [T.role]: (r) => r.inputs.name,
            "aws:ecr/repository:Repository": (r) => r.inputs.name,
            "aws:ecs/cluster:Cluster": (r) => r.inputs.name,
            [T.logGroup]: (r) => r.inputs.name ?? r.inputs.namePrefix,
            "aws:secretsmanager/secret:Secret": (r) => r.inputs.namePrefix,
            "aws:rds/instance:Instance": (r) => r.inputs.identifier,
            "aws:wafv2/webAcl:WebAcl": (r) => r.inputs.name,
            "aws:sns/topic:Topic": (r) => r.inputs.name,
            "aws:kms/alias:Alias": (r) => r.inputs.name,
        };
        return run.resources.filter((r) => pick[r.type]).map((r) => String(pick[r.type](r)));
    };

    for (const stack of STACKS) {
        it(`${stack}: every named resource carries project and stack; roles live under /platform/ (CI's under /platform-ci/)`, async () => {
            const run = await stackRun(stack);
            const names = physicalNames(run);
            expect(names.length).to.be.at.least(15);
            for (const n of names) {
                expect(n.includes(`platform-${stack}`) || n.includes(`/platform/${stack}/`), n).to.equal(true);
            }
            for (const role of ofType(run, T.role)) {
                // GitLab CI's roles live beside the program's, out of the deploy role's reach.
                const path = role.name.startsWith("ci-") ? "platform-ci" : "platform";
                expect(role.inputs.path, role.name).to.equal(`/${path}/`);
                expect(role.state.arn).to.match(new RegExp(`:role/${path}/platform-${stack}-`));
            }
        });

        it(`${stack}: every AWS resource goes through one provider whose default tags name the stack`, async () => {
            const run = await stackRun(stack);
            const provider = named(run, "pulumi:providers:aws", "aws");
            // Provider inputs reach the engine as JSON text.
            expect(JSON.parse(provider.inputs.defaultTags)).to.deep.equal({ tags: { project: "platform", stack, "managed-by": "pulumi" } });
            const ref = `${provider.urn}::${provider.id}`;
            const aws = run.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
            expect(aws.length).to.be.greaterThan(50);
            for (const r of aws) {
                expect(r.provider, `${r.type} ${r.name}`).to.equal(ref);
            }
            // awsx builds the VPC with the same provider; invokes use it too.
            expect(named(run, "awsx:ec2:Vpc", "network").providers.aws).to.equal(ref);
            // ECS has the stack's tags to propagate to tasks.
            expect(named(run, T.service, "app").inputs.propagateTags).to.equal("SERVICE");
        });
    }

    it("dev and prod share no physical name", async () => {
        const dev = new Set(physicalNames(await stackRun("dev")));
        const clash = physicalNames(await stackRun("prod")).filter((n) => dev.has(n));
        expect(clash).to.deep.equal([]);
    });
});

describe("hardening: ALB access logs in every region", () => {
    it("regions older than August 2022 use their ELB account; newer ones the log-delivery service", () => {
        expect(albLogDeliveryPrincipal("us-east-1")).to.deep.equal({ AWS: "arn:aws:iam::127311923021:root" });
        expect(albLogDeliveryPrincipal("eu-central-1")).to.deep.equal({ AWS: "arn:aws:iam::054676820928:root" });
        for (const newer of ["eu-central-2", "ap-southeast-4", "il-central-1", "me-central-1", "mx-central-1"]) {
            expect(albLogDeliveryPrincipal(newer), newer).to.deep.equal({ Service: "logdelivery.elasticloadbalancing.amazonaws.com" });
        }
        expect(Object.keys(ELB_LOG_ACCOUNTS)).to.have.length(22);
    });

    for (const [region, principal] of [
        ["us-east-1", { AWS: "arn:aws:iam::127311923021:root" }],
        ["eu-central-2", { Service: "logdelivery.elasticloadbalancing.amazonaws.com" }],
    ] as const) {
        it(`${region}: the whole program plans, and the log bucket admits the right writer`, async () => {
            const run = await runStack("dev", { patch: (c) => (c["aws:region"] = region) });
            expect(run.error, run.error?.message).to.equal(undefined);
            const policy = JSON.parse(named(run, T.bucketPolicy, "public-access-logs-policy").inputs.policy);
            const alb = policy.Statement.find((s: any) => s.Sid === "AlbLogDelivery");
            expect(alb.Principal).to.deep.equal(principal);
            expect(alb.Resource).to.match(/\/alb\/AWSLogs\/123456789012\/\*$/);
            // No lookup of the ELB account: the provider's data source fails in newer regions.
            expect(run.invokes.map((i) => i.token)).to.not.include("aws:elb/getServiceAccount:getServiceAccount");
            expect(childrenOf(run, named(run, "platform:lb:PublicLoadBalancer", "public")).length).to.be.greaterThan(5);
            expect(urnName(named(run, T.bucket, "public-access-logs").urn)).to.equal("public-access-logs");
        });
    }
});
