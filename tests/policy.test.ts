import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { CONTROLS } from "../policy/controls";
import { Subject } from "../policy/model";
import { evaluate, WAIVERS } from "../policy/waivers";
import { ROOT, runStack, stackRun } from "../sim/harness";
import { renamedRun, viewOf } from "../sim/policyView";
import { enforcementOf } from "../tools/plan";
import { policyTable } from "../tools/policyTable";
import { prodRotationStep1 } from "./variants";

let n = 0;
/** A resource of a fixture: its props and, per property, the resources its value comes from. */
function res(type: string, props: Record<string, any>, from: Record<string, Subject> = {}): Subject {
    const name = `r${++n}`;
    return { type, name, urn: `urn:pulumi:prod::platform::${type}::${name}`, props, propertyDependencies: Object.fromEntries(Object.entries(from).map(([k, r]) => [k, [r.urn]])) };
}
const td = (container: Record<string, any>) => res("aws:ecs/taskDefinition:TaskDefinition", { containerDefinitions: JSON.stringify([{ name: "c", logConfiguration: { logDriver: "awslogs" }, readonlyRootFilesystem: true, ...container }]) });
const bucket = () => res("aws:s3/bucket:Bucket", {});
const alb = (props: Record<string, any>) => res("aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "application", dropInvalidHeaderFields: true, desyncMitigationMode: "defensive", accessLogs: { enabled: true, bucket: "logs" }, ...props });
const db = (props: Record<string, any>) => res("aws:rds/instance:Instance", { storageEncrypted: true, multiAz: true, monitoringInterval: 60, deletionProtection: true, enabledCloudwatchLogsExports: ["postgresql"], backupRetentionPeriod: 14, ...props });
const world = (port: number) => res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: port, toPort: port });
const policyDoc = (statement: Record<string, any>) => res("aws:iam/rolePolicy:RolePolicy", { policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", ...statement }] }) });
const repo = (props: Record<string, any>) => res("aws:ecr/repository:Repository", { imageTagMutability: "IMMUTABLE", imageScanningConfiguration: { scanOnPush: true }, ...props });
const withBucket = (type: string, props: Record<string, any>) => {
    const b = bucket();
    return [b, res(type, props, { bucket: b })];
};
const vpc = () => res("awsx:ec2:Vpc", {});

/** For each control, resources that break it: each control must fire on its own. */
const FIXTURES: Record<string, Subject[]> = {
    "ECS.2": [res("aws:ecs/service:Service", { networkConfiguration: { assignPublicIp: true } })],
    "ECS.4": [td({ privileged: true })],
    "ECS.5": [td({ readonlyRootFilesystem: false })],
    "ECS.8": [td({ environment: [{ name: "DB_PASSWORD", value: "hunter2" }] })],
    "ECS.9": [td({ logConfiguration: undefined })],
    "ECS.12": [res("aws:ecs/cluster:Cluster", { settings: [{ name: "containerInsights", value: "disabled" }] })],
    "ECR.1": [repo({ imageScanningConfiguration: { scanOnPush: false } })],
    "ECR.2": [repo({ imageTagMutability: "MUTABLE" })],
    "ECR.3": [repo({})],
    "ELB.1": [res("aws:lb/listener:Listener", { protocol: "HTTP", port: 80, defaultActions: [{ type: "forward", targetGroupArn: "tg" }] })],
    "ELB.4": [alb({ dropInvalidHeaderFields: false })],
    "ELB.5": [alb({ accessLogs: { enabled: false } })],
    "ELB.6": [alb({ enableDeletionProtection: false })],
    "ELB.12": [alb({ desyncMitigationMode: "monitor" })],
    "WAF.ALB": [alb({ internal: false })],
    "RDS.2": [db({ publiclyAccessible: true })],
    "RDS.3": [db({ storageEncrypted: false })],
    "RDS.5": [db({ multiAz: false })],
    "RDS.6": [db({ monitoringInterval: 0 })],
    "RDS.8": [db({ deletionProtection: false })],
    "RDS.9": [db({ enabledCloudwatchLogsExports: ["upgrade"] })],
    "RDS.11": [db({ backupRetentionPeriod: 1 })],
    "RDS.13": [db({ autoMinorVersionUpgrade: false })],
    "EFS.1": [res("aws:efs/fileSystem:FileSystem", { encrypted: false })],
    "EFS.2": [res("aws:efs/fileSystem:FileSystem", { encrypted: true })],
    "EFS.3": [res("aws:efs/accessPoint:AccessPoint", { rootDirectory: { path: "/" } })],
    "S3.5": withBucket("aws:s3/bucketPolicy:BucketPolicy", { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: "*" }] }) }),
    "S3.8": withBucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", { blockPublicAcls: true, blockPublicPolicy: false, ignorePublicAcls: true, restrictPublicBuckets: true }),
    "S3.9": [bucket()],
    "S3.12": withBucket("aws:s3/bucketOwnershipControls:BucketOwnershipControls", { rule: { objectOwnership: "ObjectWriter" } }),
    "EC2.2": [vpc()],
    "EC2.6": [vpc()],
    "EC2.18": [world(8443)],
    "EC2.19": [world(3389)],
    "IAM.1": [policyDoc({ Action: "*", Resource: "*" })],
    "IAM.21": [policyDoc({ Action: ["s3:*"], Resource: "arn:aws:s3:::b" })],
    "SNS.1": [res("aws:sns/topic:Topic", {})],
    "SecretsManager.1": [res("aws:secretsmanager/secret:Secret", {})],
    "Logs.Retention": [res("aws:cloudwatch/logGroup:LogGroup", { retentionInDays: 0 })],
};

describe("policy pack: AWS Security Hub controls (policy/)", () => {
    it("prod: no violations", async () => {
        const verdict = evaluate(viewOf(await stackRun("prod")));
        expect(verdict.violations.map((v) => `${v.control} ${v.name}: ${v.message}`)).to.deep.equal([]);
    });

    it("dev: no violations; only the listed waivers apply", async () => {
        const verdict = evaluate(viewOf(await stackRun("dev")));
        expect(verdict.violations.map((v) => `${v.control} ${v.name}: ${v.message}`)).to.deep.equal([]);
        expect(verdict.waived.length).to.be.greaterThan(0);
    });

    it("every waiver is used in a stack it applies to, and each has a reason", async () => {
        // Step 1 of turning rotation on (README): the one state with the app's generated master secret.
        const runs = [await stackRun("dev"), await stackRun("prod"), await prodRotationStep1()];
        const used = new Set<string>();
        for (const run of runs) {
            const view = viewOf(run);
            for (const w of evaluate(view).waived) {
                used.add(`${view.protected ? "protected" : "unprotected"} ${w.control} ${w.reason}`);
            }
        }
        for (const w of WAIVERS) {
            expect(w.reason.length, w.control).to.be.greaterThan(40);
            const wanted = w.stacks === "all" ? ["protected", "unprotected"] : ["unprotected"];
            expect(wanted.some((k) => used.has(`${k} ${w.control} ${w.reason}`)), `waiver ${w.control} ${w.names} unused`).to.equal(true);
        }
    });

    it("a stack is judged by what it is, not by its name: copies of dev and prod under new names", async () => {
        const staging = evaluate(viewOf(renamedRun(await stackRun("dev"), "staging")));
        expect(staging.violations.map((v) => `${v.control} ${v.name}`)).to.deep.equal([]);
        expect(staging.waived.map((w) => w.control)).to.include("RDS.11");
        // A protected copy of prod keeps prod's controls: a single-AZ database there is a violation.
        const singleAz = await runStack("prod", { patch: (c) => (c["platform:database"].multiAz = false) });
        const eu = evaluate(viewOf(renamedRun(singleAz, "prodeu")));
        expect(eu.violations.map((v) => `${v.control} ${v.name}`)).to.deep.equal(["RDS.5 app-db"]);
    });

    it("policy names are unique, carry their control's id, and are valid CrossGuard names", () => {
        const names = CONTROLS.map((c) => c.policy);
        expect(new Set(names).size).to.equal(names.length);
        for (const c of CONTROLS) {
            expect(c.policy.startsWith(c.id.toLowerCase().replace(/\./g, "-")) || !/^[A-Z]+\.\d+$/.test(c.id), c.policy).to.equal(true);
            expect(c.policy).to.match(/^[a-z0-9-]+$/);
        }
    });

    it("each control fires on a resource that breaks it", () => {
        const fired: string[] = [];
        for (const c of CONTROLS) {
            const bad = FIXTURES[c.id];
            expect(bad, `no failing fixture for ${c.id}`).to.not.equal(undefined);
            const findings = c.check({ stack: "prod", protected: true, resources: bad });
            expect(findings.map((f) => f.control), c.id).to.include(c.id);
            // What it fired on is a type it says it reads (the README's "nothing to check" relies on that).
            expect(findings.every((f) => c.types.includes(f.type)), c.id).to.equal(true);
            fired.push(c.id);
        }
        expect(fired.length).to.equal(CONTROLS.length);
    });

    it("near misses: each shape a control must see", () => {
        const fires = (id: string, resources: Subject[]) => CONTROLS.find((c) => c.id === id)!.check({ stack: "prod", protected: true, resources }).map((f) => f.control);
        const listener = res("aws:lb/listener:Listener", { protocol: "HTTP", port: 80, defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443" } }] });
        const cases: [string, Subject[], boolean][] = [
            // A Deny without TLS, but of PutObject only: not Security Hub's shape.
            ["S3.5", withBucket("aws:s3/bucketPolicy:BucketPolicy", { policy: JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }] }) }), true],
            ["S3.5", withBucket("aws:s3/bucketPolicy:BucketPolicy", { policy: "{not json" }), true],
            ["S3.5", withBucket("aws:s3/bucketPolicy:BucketPolicy", { policy: JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], Condition: { Bool: { "aws:SecureTransport": false } } }] }) }), false],
            ["RDS.9", [db({ enabledCloudwatchLogsExports: ["postgresql"] })], true],
            ["EC2.19", [res("aws:ec2/securityGroup:SecurityGroup", { ingress: [{ protocol: "tcp", fromPort: 3389, toPort: 3389, cidrBlocks: ["0.0.0.0/0"] }] })], true],
            ["EC2.18", [res("aws:ec2/securityGroupRule:SecurityGroupRule", { type: "ingress", protocol: "tcp", fromPort: 8443, toPort: 8443, cidrBlocks: ["0.0.0.0/0"] })], true],
            ["EC2.18", [res("aws:ec2/securityGroupRule:SecurityGroupRule", { type: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] })], false],
            ["IAM.1", [res("aws:iam/role:Role", { inlinePolicies: [{ name: "x", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }] })], true],
            ["IAM.1", [policyDoc({ NotAction: "iam:*", Resource: "*" })], true],
            ["IAM.21", [policyDoc({ NotAction: ["s3:GetObject"], Resource: "arn:aws:s3:::b/*" })], true],
            ["ELB.1", [listener, res("aws:lb/listenerRule:ListenerRule", { actions: [{ type: "forward", targetGroupArn: "tg" }] }, { listenerArn: listener })], true],
            ["ELB.1", [listener], false],
            ["EC2.2", [res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }] })], true],
            ["ECS.4", [td({ environment: [{ name: "RUNNER_CONFIG_TOML", value: "[runners.docker]\n  privileged = true" }] })], true],
            // Names about a secret, not secrets: an ARN, a file path.
            ["ECS.8", [td({ environment: [{ name: "DJANGO_SECRET_KEY_ARN", value: "arn:aws:secretsmanager:…" }, { name: "DB_PASSWORD_FILE", value: "/run/secrets/db" }] })], false],
            ["ECS.8", [td({ environment: [{ name: "AWS_SECRET_ACCESS_KEY", value: "x" }] })], true],
        ];
        const wrong = cases.filter(([id, resources, expected]) => fires(id, resources).includes(id) !== expected).map(([id, r, expected]) => `${id} on ${r.map((x) => x.type).join(", ")}: expected ${expected ? "a finding" : "none"}`);
        expect(wrong).to.deep.equal([]);
    });

    it("CI enforces it on protected stacks and advises on the others, by what the stack file says, not by the stack's name (.ci/policy-args.sh, the plan)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-args-"));
        try {
            const dev = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
            const prod = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
            // A copy of dev named staging, a copy of prod under another name, and a stack with no file.
            fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), dev);
            fs.writeFileSync(path.join(dir, "Pulumi.live.yaml"), prod);
            fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config: [unclosed\n");
            // Protection the file does not spell out where it is read: a YAML merge key, an ESC environment.
            fs.writeFileSync(path.join(dir, "Pulumi.merged.yaml"), "base: &protected\n  platform:stateful: {protect: true}\nconfig:\n  <<: *protected\n");
            fs.writeFileSync(path.join(dir, "Pulumi.esc.yaml"), "environment: [platform/prod]\nconfig:\n  platform:stateful: {protect: false}\n");
            const run = (stack: string) => spawnSync("bash", [path.join(ROOT, ".ci/policy-args.sh"), stack], { cwd: dir, encoding: "utf8", env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") } });
            const args = (stack: string) => run(stack).stdout.trim();
            const advisory = "--policy-pack policy --policy-pack-config policy/config.advisory.json";
            expect(args("staging")).to.equal(advisory);
            expect(args("live")).to.equal("--policy-pack policy");
            // Unreadable: enforced, never silently advisory (the flags are expanded inside $(...)).
            expect(args("missing")).to.equal("--policy-pack policy");
            expect(args("broken")).to.equal("--policy-pack policy");
            expect(args("merged")).to.equal("--policy-pack policy");
            expect(args("esc")).to.equal("--policy-pack policy");
            // Each answer but the plain protected one says why, on stderr: the job's log, not the flags.
            expect(run("staging").stderr).to.include("staging is unprotected (Pulumi.staging.yaml: stateful.protect is not true): the policy pack is advisory");
            expect(run("missing").stderr).to.match(/^policy-args: cannot read Pulumi\.missing\.yaml \(ENOENT[^\n]*\): mandatory\n$/);
            expect(run("live").stderr).to.equal("");
            // The plan says what CI will do, from the same file.
            expect(enforcementOf(YAML.parse(dev).config)).to.equal("advisory");
            expect(enforcementOf(YAML.parse(prod).config)).to.equal("mandatory");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("CI enforces it in prod and only advises in dev (.ci/policy-args.sh, policy/config.advisory.json)", () => {
        const args = (stack: string) => spawnSync("bash", [path.join(ROOT, ".ci/policy-args.sh"), stack], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
        expect(args("prod")).to.equal("--policy-pack policy");
        expect(args("dev")).to.equal("--policy-pack policy --policy-pack-config policy/config.advisory.json");
        expect(JSON.parse(fs.readFileSync(path.join(ROOT, "policy/config.advisory.json"), "utf8"))).to.deep.equal({ all: "advisory" });
        const ci = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
        expect(ci.match(/\$\(bash \.ci\/policy-args\.sh "\$STACK"\)/g)).to.have.length(2);
    });

    it("docs/decisions/policy.md's table is what the controls say of both stacks today (tools/policyTable.ts)", async function () {
        this.timeout(120_000);
        const doc = fs.readFileSync(path.join(ROOT, "docs/decisions/policy.md"), "utf8");
        const block = /<!-- policy-table: generated by tools\/policyTable.ts -->\n([\s\S]*?)\n<!-- \/policy-table -->/.exec(doc);
        expect(block, "docs/decisions/policy.md has no policy table block").to.not.equal(null);
        expect(block![1]).to.equal(await policyTable());
    });

    it("covers the controls the issue names", () => {
        const ids = CONTROLS.map((c) => c.id);
        const required = [
            "ECS.2", "ECS.4", "ECS.5", "ECS.8", "ECS.9", "ECS.12", "ECR.1", "ECR.2", "ECR.3", "ELB.1", "ELB.4", "ELB.5", "ELB.6", "ELB.12",
            "RDS.2", "RDS.3", "RDS.5", "RDS.6", "RDS.8", "RDS.9", "RDS.11", "RDS.13", "EFS.1", "EFS.2", "EFS.3", "S3.5", "S3.8", "S3.9", "S3.12",
            "EC2.2", "EC2.6", "EC2.18", "EC2.19", "IAM.1", "IAM.21", "SNS.1", "SecretsManager.1", "WAF.ALB", "Logs.Retention",
        ];
        expect(required.filter((id) => !ids.includes(id))).to.deep.equal([]);
        expect(CONTROLS.filter((c) => c.protectedOnly).map((c) => c.id).sort()).to.deep.equal(["EC2.6", "ELB.6", "RDS.5", "RDS.6", "RDS.8", "WAF.ALB"]);
    });
});
