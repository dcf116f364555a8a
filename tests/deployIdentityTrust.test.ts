import { expect } from "chai";
import { branchSubjects, webIdentityTrust } from "../components/deployIdentity/deployIdentity";
import { named, ofType, stackRun, STACKS, variantRun } from "../sim/harness";
import { evaluate, Request, Statement } from "./iamEval";
import { ACCOUNT } from "../sim/mocks";
import { T } from "./deployIdentityHelpers";

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

        it("the trust policies admit this project's branches only: not tags, not other projects, not prod's preview from a feature branch", async () => {
            const trustOf = async (stack: string, role: string) => [JSON.parse(named(await stackRun(stack), T.role, role).inputs.assumeRolePolicy).Statement[0]] as Statement[];
            const assume = (sub: string, aud?: string): Request => ({
                action: "sts:AssumeRoleWithWebIdentity",
                resource: "*",
                context: { "gitlab.example.com:sub": sub, "gitlab.example.com:aud": aud ?? "" },
            });
            const main = "project_path:platform/infrastructure:ref_type:branch:ref:main";
            const feature = "project_path:platform/infrastructure:ref_type:branch:ref:feature/x";
            const cases: [string, string, Request, string][] = [
                ["prod", "ci-deploy", assume(main), "allow"],
                ["prod", "ci-deploy", assume(feature), "implicit"],
                ["prod", "ci-deploy", assume("project_path:platform/infrastructure:ref_type:tag:ref:main"), "implicit"],
                ["prod", "ci-deploy", assume("project_path:other/project:ref_type:branch:ref:main"), "implicit"],
                ["prod", "ci-deploy", assume(main, "sts.amazonaws.com"), "implicit"],
                ["prod", "ci-deploy", assume(main, "https://gitlab.example.com"), "implicit"],
                ["prod", "ci-preview", assume(main), "allow"],
                ["prod", "ci-preview", assume(feature), "implicit"],
                ["dev", "ci-preview", assume(feature), "allow"],
                ["dev", "ci-preview", assume("project_path:platform/infrastructure-fork:ref_type:branch:ref:x"), "implicit"],
                ["dev", "ci-deploy", assume(feature), "implicit"],
            ];
            for (const [stack, role, request, expected] of cases) {
                // Unless a case names another, the token carries the role's own audience: its name.
                const own = { ...request, context: { ...request.context, "gitlab.example.com:aud": request.context["gitlab.example.com:aud"] || `platform-${stack}-${role}` } };
                expect(evaluate(await trustOf(stack, role), own), `${stack} ${role} ${request.context["gitlab.example.com:sub"]}`).to.equal(expected);
            }
        });

        for (const stack of STACKS) {
            it(`${stack}: roles under /platform-ci/ trusting GitLab's provider, each its own audience (its name); prod owns the provider`, async () => {
                const run = await stackRun(stack);
                const providerArn = `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.example.com`;
                // One per URL per account: prod creates it, dev (same account) trusts it.
                expect(ofType(run, T.provider).map((p) => [p.inputs.url, p.state.arn])).to.deep.equal(stack === "prod" ? [["https://gitlab.example.com", providerArn]] : []);
                const [provider] = ofType(await stackRun("prod"), T.provider);
                for (const role of ["ci-deploy", "ci-preview"]) {
                    const r = named(run, T.role, role);
                    expect(r.inputs.path).to.equal("/platform-ci/");
                    const st = JSON.parse(r.inputs.assumeRolePolicy).Statement;
                    expect(st).to.have.length(1);
                    expect(st[0].Principal).to.deep.equal({ Federated: providerArn });
                    expect(st[0].Action).to.equal("sts:AssumeRoleWithWebIdentity");
                    expect(st[0].Condition.StringEquals["gitlab.example.com:aud"], role).to.equal(r.inputs.name);
                    // IAM refuses a token whose audience is not one of the provider's client IDs.
                    expect(provider.inputs.clientIdLists, role).to.include(r.inputs.name);
                }
                expect(run.outputs.ciDeployRoleArn).to.equal(named(run, T.role, "ci-deploy").state.arn);
                expect(run.outputs.ciPreviewRoleArn).to.equal(named(run, T.role, "ci-preview").state.arn);
            });
        }

        it("a stack that creates the provider creates one; ref_protected joins the deploy subject when the project's sub claim carries it", async () => {
            const run = await variantRun("ci-create-provider", "dev", (c) => {
                c["platform:ci"].oidcProvider = "create";
                c["platform:ci"].refProtectedInSub = true;
            });
            expect(run.error).to.equal(undefined);
            const [provider] = ofType(run, T.provider);
            expect(provider.inputs.url).to.equal("https://gitlab.example.com");
            // Its own roles' audiences only: no other stack shares it.
            expect(provider.inputs.clientIdLists).to.deep.equal(["platform-dev-ci-preview", "platform-dev-ci-deploy"]);
            const deploy = JSON.parse(named(run, T.role, "ci-deploy").inputs.assumeRolePolicy).Statement[0];
            expect(deploy.Principal.Federated).to.equal(provider.state.arn);
            expect(deploy.Condition.StringEquals["gitlab.example.com:sub"]).to.deep.equal(["project_path:platform/infrastructure:ref_type:branch:ref:main:ref_protected:true"]);
        });

        it("the four roles trust four audiences; prod's provider lists exactly them", async () => {
            const runs = await Promise.all(STACKS.map((s) => stackRun(s)));
            const audiences = runs.flatMap((run) => ["ci-preview", "ci-deploy"].map((role) => JSON.parse(named(run, T.role, role).inputs.assumeRolePolicy).Statement[0].Condition.StringEquals["gitlab.example.com:aud"]));
            expect(new Set(audiences).size).to.equal(4);
            const [provider] = ofType(await stackRun("prod"), T.provider);
            expect([...provider.inputs.clientIdLists].sort()).to.deep.equal([...audiences].sort());
        });

        it("only the stack that creates the provider lists the stacks sharing it", async () => {
            const run = await variantRun("ci-shared-existing", "dev", (c) => {
                c["platform:ci"].oidcProviderSharedWith = ["prod"];
            });
            expect(String(run.error)).to.match(/Pulumi\.dev\.yaml.*ci\.oidcProviderSharedWith.*oidcProvider: create/);
        });

        it("ci.enabled without the GitLab URL and project fails before anything is registered", async () => {
            const run = await variantRun("ci-incomplete", "dev", (c) => {
                c["platform:ci"] = { enabled: true };
            });
            expect(String(run.error)).to.match(/ci\.gitlabUrl/).and.to.match(/ci\.projectPath/);
            expect(run.resources).to.deep.equal([]);
        });
    });
});
