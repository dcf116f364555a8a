import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { dailyTime } from "../../aws/backupPlan";
import { SECRET_ENV } from "../../components/gitlab/secrets";
import { inComponent, named } from "../../sim/harness";
import { backupTask, containerOf, evaluateContainer, generators, gitlabRun, ingressTo, keyPath, mainTask, OIDC, OIDC_ARN, policyOf, sharedRun, T, valueAt } from "../gitlabHelpers";
import { gitlabArgs } from "./fixtures";

/*
 * The GitLab component's single topology at prod's size (8 vCPU / 16 GB), which
 * neither stack runs: its updates, and OIDC sign-in, each against one run of
 * the component alone.
 */

const single = sharedRun(() => ({ topology: { kind: "single" } }));

describe("component: GitLab, single topology at prod's size", () => {
    it("never regenerates a secret: a changed size or schedule leaves every generator as it was", async () => {
        const before = await single();
        const after = await gitlabRun(() => ({
            topology: { kind: "single", cpu: 16384, memory: 32768 },
            backup: { time: dailyTime("04:00", "UTC"), fileSystemTime: dailyTime("04:00", "UTC", 60) },
        }));
        expect(after.error).to.equal(undefined);
        expect(mainTask(after).inputs.cpu).to.equal("16384");
        expect(generators(before).length).to.be.greaterThan(15);
        for (const g of generators(before)) {
            const same = generators(after).find((x) => x.type === g.type && x.name === g.name);
            expect(same?.inputs, `${g.type} ${g.name}`).to.deep.equal(g.inputs);
            expect(g.inputs.keepers, g.name).to.equal(undefined);
        }
        // GitLab's generators are protected too: deleting one would change a secret.
        const gitlabGenerators = generators(before).filter((g) => g.parentUrn?.endsWith("::gitlab"));
        expect(gitlabGenerators.length).to.equal(19);
        for (const g of gitlabGenerators) {
            expect(g.protect, g.name).to.equal(true);
        }
        for (const v of inComponent(before, T.secretVersion, "gitlab")) {
            expect(named(after, T.secretVersion, v.name).inputs.secretString).to.equal(v.inputs.secretString);
        }
    });

    it("changes the SSH allow-list without touching the load balancer", async () => {
        const cidrs = ["203.0.113.0/24", "198.51.100.0/24"];
        const run = await gitlabRun(() => ({ topology: { kind: "single" }, sshAllowedCidrs: cidrs }));
        expect(run.error).to.equal(undefined);
        const nlbSg = named(run, T.sg, "gitlab-ssh-nlb");
        expect(ingressTo(run, nlbSg).map((r) => r.inputs.cidrIpv4)).to.deep.equal(cidrs);
        expect(named(run, T.lb, "gitlab-ssh").inputs).to.deep.equal(named(await single(), T.lb, "gitlab-ssh").inputs);
    });

    it("adds OpenID Connect sign-in with its client secret from Secrets Manager", async () => {
        const run = await gitlabRun(() => ({ topology: { kind: "single" }, oidc: OIDC }));
        expect(run.error).to.equal(undefined);
        const c = containerOf(mainTask(run));
        expect(c.secrets.find((s) => s.name === SECRET_ENV.oidcClientSecret)?.valueFrom).to.equal(OIDC_ARN);
        expect(policyOf(run, "gitlab-execution-policy").find((s) => s.Sid === "ReadSecrets").Resource).to.include(OIDC_ARN);
        const e = evaluateContainer(c);
        const [provider] = valueAt(e, "gitlab_rails['omniauth_providers']");
        expect(provider.name).to.equal("openid_connect");
        expect(provider.args).to.deep.include({ issuer: "https://login.example.com/realms/staff", discovery: true, pkce: true, response_type: "code" });
        expect(provider.args.client_options).to.deep.equal({
            identifier: "gitlab",
            secret: `dummy-${SECRET_ENV.oidcClientSecret}`,
            redirect_uri: "https://gitlab.example.com/users/auth/openid_connect/callback",
        });
        expect(valueAt(e, "gitlab_rails['omniauth_block_auto_created_users']")).to.equal(true);
        // The backup task neither gets nor needs it.
        expect(containerOf(backupTask(run)).secrets.map((s) => s.name)).to.not.include(SECRET_ENV.oidcClientSecret);
    });

    it("without oidc: no provider, no client secret, and the execution role reads GitLab's and the database's secrets only", async () => {
        const run = await single();
        const c = containerOf(mainTask(run));
        expect(c.secrets.map((s) => s.name)).to.not.include(SECRET_ENV.oidcClientSecret);
        const keys = evaluateContainer(c).settings.map((s) => keyPath(s.path));
        expect(keys.filter((k) => k.startsWith("gitlab_rails['omniauth_"))).to.deep.equal([]);
        const read = policyOf(run, "gitlab-execution-policy").find((s) => s.Sid === "ReadSecrets").Resource as string[];
        // GitLab's own but the root password's, which only the migration task reads.
        const own = inComponent(run, T.secret, "gitlab")
            .filter((s) => s.name !== "gitlab-root")
            .map((s) => s.state.arn);
        const database = await new Promise((ok) => pulumi.output(gitlabArgs().database.secretArn).apply(ok));
        expect(new Set(read)).to.deep.equal(new Set([...own, database]));
    });
});
