import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_MAX_CHARS } from "../components/deployIdentity/deployIdentity";
import { ADMIN_CREATES } from "../components/deployIdentity/grants";
import { packStatements, PolicyStatement } from "../aws/iam";
import { adminOnlyTypes, adminSteps } from "../ci/adminGate";
import { ofType, ROOT, stackRun, STACKS, urnName } from "../sim/harness";
import { roleStatements, T } from "./deployIdentityHelpers";

describe("CI deploy identity (platform:ci)", () => {
    describe("permissions", () => {
        for (const stack of STACKS) {
            it(`${stack}: CI writes no IAM and no KMS key: of IAM it may pass this stack's roles and create service-linked roles`, async () => {
                const run = await stackRun(stack);
                const writes = roleStatements(run, "deploy")
                    .flatMap((st) => st.Action)
                    .filter((x) => /^(iam|kms):/.test(x) && !/:(Get|List|Describe)/.test(x));
                // The kms: ones only through ECR, AWS Backup and EC2 (the Gitaly volume's key: its data key, a re-encrypted restore).
                expect([...new Set(writes)].sort()).to.deep.equal([
                    "iam:CreateServiceLinkedRole",
                    "iam:PassRole",
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:RetireGrant",
                ]);
                for (const t of [T.role, T.rolePolicy, "aws:iam/instanceProfile:InstanceProfile", T.policy, T.attachment, T.provider, "aws:kms/key:Key", "aws:kms/alias:Alias"]) {
                    expect(adminOnlyTypes().has(t), t).to.equal(true);
                }
                expect(adminOnlyTypes().has("aws:ecs/service:Service")).to.equal(false);
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

    describe("the admin gate (ci/adminGate.ts)", () => {
        const urn = (type: string, name: string) => `urn:pulumi:dev::platform::platform:app:DjangoService$${type}::${name}`;

        it("stops on any change to IAM, the CI identity, KMS keys or a new bucket; lets everything else and unchanged IAM through", () => {
            const steps = [
                { op: "update", urn: urn("aws:iam/rolePolicy:RolePolicy", "app-task-policy") },
                { op: "same", urn: urn("aws:iam/role:Role", "app-task") },
                { op: "create", urn: urn("aws:iam/role:Role", "new-role") },
                { op: "update", urn: urn("aws:ecs/service:Service", "app") },
                { op: "replace", urn: urn("aws:ecs/taskDefinition:TaskDefinition", "app") },
                { op: "update", urn: `urn:pulumi:dev::platform::platform:ci:DeployIdentity$aws:iam/policy:Policy::ci-deploy-1` },
                { op: "update", urn: urn("aws:kms/key:Key", "alerts-key") },
                { op: "create", urn: urn("aws:s3/bucket:Bucket", "new-bucket") },
                { op: "delete", urn: urn("aws:s3/bucket:Bucket", "old-bucket") },
                { op: "update", urn: urn("aws:s3/bucket:Bucket", "app-media") },
                { op: "create", urn: urn("aws:route53/record:Record", "app.example.com") },
                { op: "update", urn: urn("aws:s3/bucketPolicy:BucketPolicy", "app-media-policy") },
                { op: "delete", urn: urn("aws:iam/instanceProfile:InstanceProfile", "old") },
            ];
            expect(adminSteps(steps).map((s) => `${s.op} ${s.urn.split("::").pop()}`)).to.deep.equal([
                "update app-task-policy",
                "create new-role",
                "update ci-deploy-1",
                "update alerts-key",
                "create new-bucket",
                "delete old-bucket",
                "delete old",
            ]);
            expect(ADMIN_CREATES).to.deep.equal(["aws:s3/bucket:Bucket"]);
        });

        it("exactly IAM (GitLab's SES SMTP user among it), the CI identity, KMS and the SES identity are admin-only types", () => {
            expect([...adminOnlyTypes()].sort()).to.deep.equal([
                "aws:iam/accessKey:AccessKey",
                "aws:iam/instanceProfile:InstanceProfile",
                "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
                "aws:iam/policy:Policy",
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "aws:iam/user:User",
                "aws:iam/userPolicy:UserPolicy",
                "aws:kms/alias:Alias",
                "aws:kms/key:Key",
                "aws:sesv2/emailIdentity:EmailIdentity",
            ]);
            // DNS records are CI's to change (within the stack's names).
            expect(adminOnlyTypes().has("aws:route53/record:Record")).to.equal(false);
        });

        for (const stack of STACKS) {
            it(`${stack}: routine deploys pass the gate: no IAM or KMS input depends on a task definition or an image build (replaced by an image change)`, async () => {
                const run = await stackRun(stack);
                const volatile = new Set(run.resources.filter((r) => ["aws:ecs/taskDefinition:TaskDefinition", "docker:index/image:Image", "command:local:Command"].includes(r.type)).map((r) => r.urn));
                const admin = adminOnlyTypes();
                const coupled = run.resources
                    .filter((r) => admin.has(r.type))
                    .flatMap((r) => r.dependencies.filter((d) => volatile.has(d)).map((d) => `${r.name} <- ${urnName(d)}`));
                expect(coupled).to.deep.equal([]);
            });
        }

        it("the command fails with the resources and the administrator's command, and passes a change CI may make", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-"));
            const run = (steps: object[]) => {
                fs.writeFileSync(path.join(dir, "preview.json"), JSON.stringify({ steps, changeSummary: {} }));
                return spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", path.join(ROOT, "ci/adminGate.ts"), path.join(dir, "preview.json")], { encoding: "utf8" });
            };
            const blocked = run([{ op: "update", urn: urn("aws:iam/rolePolicy:RolePolicy", "app-task-policy") }]);
            expect(blocked.status).to.equal(1);
            expect(blocked.stderr).to.include("update urn:pulumi:dev::platform::platform:app:DjangoService$aws:iam/rolePolicy:RolePolicy::app-task-policy");
            expect(blocked.stderr).to.include("pulumi up --stack <stack>");
            const fine = run([{ op: "update", urn: urn("aws:ecs/service:Service", "app") }]);
            expect(fine.status, fine.stderr).to.equal(0);
            expect(fine.stdout).to.include("no IAM change");
            fs.rmSync(dir, { recursive: true, force: true });
        });
    });
});
