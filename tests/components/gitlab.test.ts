import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { SECRET_ENV } from "../../components/gitlab/secrets";
import { named, ofType, Resource, StackRun } from "../../sim/harness";
import { ACCOUNT, REGION } from "../../sim/mocks";
import { containerOf, evaluateContainer, generators, gitlabRun, ingressTo, keyPath, OIDC, OIDC_ARN, policyOf, sameInputs, serviceOf as service, sharedRun, T, taskOf as task, valueAt } from "../gitlabHelpers";
import { gitlabSplit } from "./fixtures";

/*
 * The GitLab component's split topology where neither stack takes it: Gitaly on
 * EFS, an unprotected split, Spot, ECS Exec and OIDC sign-in on the tiers,
 * and updates compared between two runs of the component alone.
 */

const onEfs = () => gitlabSplit({ gitaly: { storage: { kind: "efs" } } });

/** prod's split topology as it is (Gitaly on the EC2 host's volume). */
const prod = sharedRun(() => ({}));
/** prod's, with Gitaly on EFS. */
const efs = sharedRun(() => ({ topology: onEfs() }));
/** The same with all prod leaves off: unprotected, on Spot, with ECS Exec and OIDC sign-in. */
const devLike = sharedRun(() => ({ topology: onEfs(), context: { protect: false }, spot: true, execCommand: true, oidc: OIDC }));

const TIERS = ["web", "sidekiq", "gitaly"] as const;
const hasExec = (run: StackRun, role: string) => policyOf(run, `gitlab-${role}-task-policy`).some((s) => s.Sid === "EcsExec");

describe("component: GitLab, split topology", () => {
    it("gitaly.storage efs: a Fargate Gitaly on EFS (one task, 0 %/100 %), the web tier still without a mount", async () => {
        const run = await efs();
        expect(run.error).to.equal(undefined);
        const gitaly = service(run, "gitaly").inputs;
        expect(gitaly).to.include({ desiredCount: 1, deploymentMinimumHealthyPercent: 0, deploymentMaximumPercent: 100 });
        expect(gitaly.capacityProviderStrategies).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1 }]);
        const td = task(run, "gitaly").inputs;
        expect(td.requiresCompatibilities).to.deep.equal(["FARGATE"]);
        expect(td.volumes[0].efsVolumeConfiguration).to.include({ transitEncryption: "ENABLED" });
        expect(ofType(run, T.fs)).to.have.length(1);
        // Only Gitaly's group reaches the file system.
        const mountSg = named(run, T.sg, "gitlab-repositories-nfs");
        const nfs = ingressTo(run, mountSg).map((r) => r.inputs.referencedSecurityGroupId);
        expect(nfs).to.deep.equal([named(run, T.sg, "gitlab-gitaly").id]);
        for (const t of ["web", "sidekiq", "migrate"]) {
            expect(task(run, t).inputs.volumes ?? [], t).to.deep.equal([]);
        }
        expect(ofType(run, T.scalingTarget).filter((t) => String(t.inputs.resourceId).includes("gitaly"))).to.deep.equal([]);
    });

    it("context.protect: buckets, secrets, their generators, EFS, its vault and Redis are protected and kept; without it, all disposable", async () => {
        for (const [run, kept] of [
            [await efs(), true],
            [await devLike(), false],
        ] as const) {
            const smtpKey = ofType(run, "aws:iam/accessKey:AccessKey");
            const stateful: Resource[] = [...ofType(run, T.bucket), ...ofType(run, T.secret), ...generators(run), ...smtpKey, ...ofType(run, T.fs), ...ofType(run, T.vault), ...ofType(run, T.redis)];
            // 11 buckets (no Pages); 6 secrets and 19 generators (the registry database's included), and ElastiCache's token
            // and its secret; the SES SMTP login's secret and the access key it comes from; EFS, its vault, Redis.
            expect(stateful, `protect ${kept}`).to.have.length(11 + 6 + 19 + 2 + 2 + 3);
            for (const r of stateful) {
                expect(r.protect, `${r.type} ${r.name}`).to.equal(kept);
            }
            for (const b of ofType(run, T.bucket)) {
                expect(named(run, "aws:s3/bucketVersioning:BucketVersioning", `${b.name}-versioning`).inputs.versioningConfiguration.status, b.name).to.equal(kept ? "Enabled" : "Suspended");
                expect(b.inputs.forceDestroy, b.name).to.equal(!kept);
            }
            for (const s of ofType(run, T.secret)) {
                expect(s.inputs.recoveryWindowInDays, s.name).to.equal(kept ? 30 : 0);
            }
            expect(named(run, T.fs, "gitlab-repositories").retainOnDelete).to.equal(kept);
            expect(named(run, T.vault, "gitlab-repositories-vault").retainOnDelete).to.equal(kept);
            expect(named(run, T.redis, "gitlab-redis").inputs.finalSnapshotIdentifier).to.equal(kept ? "platform-test-gitlab-redis-final" : undefined);
        }
    });

    it("spot: web, Sidekiq and a Fargate Gitaly on FARGATE_SPOT; the migrations on FARGATE whatever it says", async () => {
        for (const [run, provider] of [
            [await efs(), "FARGATE"],
            [await devLike(), "FARGATE_SPOT"],
        ] as const) {
            for (const t of TIERS) {
                expect(service(run, t).inputs.capacityProviderStrategies, t).to.deep.equal([{ capacityProvider: provider, weight: 1 }]);
            }
            const migrations = ofType(run, T.command);
            expect(migrations.map((c) => c.name)).to.deep.equal(["gitlab-migrate", "gitlab-post-migrate"]);
            for (const c of migrations) {
                expect(c.inputs.environment.CAPACITY_PROVIDER, c.name).to.equal("FARGATE");
            }
        }
    });

    it("execCommand: ECS Exec on every service and the SSM channels in their task roles; never for the migration or backup task", async () => {
        for (const [run, exec] of [
            [await efs(), false],
            [await devLike(), true],
        ] as const) {
            for (const t of TIERS) {
                expect(service(run, t).inputs.enableExecuteCommand, t).to.equal(exec);
                expect(hasExec(run, t), t).to.equal(exec);
            }
            expect(hasExec(run, "migrate")).to.equal(false);
            expect(hasExec(run, "backup")).to.equal(false);
        }
    });

    it("oidc: only the web tier gets the client secret and the provider; every role still evaluates with what ECS gives it", async () => {
        const run = await devLike();
        const web = containerOf(task(run, "web"));
        expect(web.secrets.find((s) => s.name === SECRET_ENV.oidcClientSecret)?.valueFrom).to.equal(OIDC_ARN);
        expect(policyOf(run, "gitlab-web-execution-policy").find((s) => s.Sid === "ReadSecrets").Resource).to.include(OIDC_ARN);
        const [provider] = valueAt(evaluateContainer(web), "gitlab_rails['omniauth_providers']");
        expect(provider.args.client_options.redirect_uri).to.equal("https://gitlab.example.com/users/auth/openid_connect/callback");
        for (const t of ["sidekiq", "migrate", "gitaly", "backup"]) {
            const c = containerOf(task(run, t));
            expect(c.secrets.map((s) => s.name), t).to.not.include(SECRET_ENV.oidcClientSecret);
            expect(JSON.stringify(policyOf(run, `gitlab-${t}-execution-policy`)), t).to.not.include(OIDC_ARN);
            // evaluateContainer throws (KeyError) if the config fetches a variable ECS does not set.
            expect(evaluateContainer(c).settings.map((s) => keyPath(s.path)), t).to.not.include("gitlab_rails['omniauth_providers']");
        }
        // Without it: no provider and no client secret, on the web tier either.
        const off = containerOf(task(await efs(), "web"));
        expect(off.secrets.map((s) => s.name)).to.not.include(SECRET_ENV.oidcClientSecret);
        expect(evaluateContainer(off).settings.map((s) => keyPath(s.path))).to.not.include("gitlab_rails['omniauth_providers']");
    });
});

describe("component: GitLab split topology, updates (two runs compared)", () => {
    it("scaling the tiers or resizing Redis touches neither Gitaly, the secrets nor the Redis group's identity", async () => {
        const before = await prod();
        const after = await gitlabRun(() => ({ topology: gitlabSplit({ web: { maxCount: 10, cpuTarget: 50 }, sidekiq: { maxCount: 8 }, redis: { nodeType: "cache.m7g.large" } }) }));
        expect(after.error).to.equal(undefined);
        expect(named(after, T.scalingTarget, "gitlab-web-scaling").inputs.maxCapacity).to.equal(10);
        expect(named(after, T.redis, "gitlab-redis").inputs.nodeType).to.equal("cache.m7g.large");
        sameInputs(before, after, T.redis, "gitlab-redis", ["replicationGroupId", "port", "subnetGroupName", "atRestEncryptionEnabled", "kmsKeyId", "authToken", "engine"]);
        for (const [type, name] of [
            [T.taskDef, "gitlab-gitaly"],
            [T.service, "gitlab-gitaly"],
            [T.taskDef, "gitlab-migrate"],
        ]) {
            expect(named(after, type, name).inputs, `${name} unchanged`).to.deep.equal(named(before, type, name).inputs);
        }
        for (const g of generators(before)) {
            expect(generators(after).find((x) => x.type === g.type && x.name === g.name)?.inputs, g.name).to.deep.equal(g.inputs);
        }
        // The migration runs only for a new migration task revision: same trigger, no run.
        expect(named(after, T.command, "gitlab-migrate").inputs.triggers).to.deep.equal(named(before, T.command, "gitlab-migrate").inputs.triggers);
    });

    it("a new image (here: another architecture) reaches every task definition and re-arms both migration steps", async () => {
        const image = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/platform-test-gitlab@sha256:${"d".repeat(64)}`;
        const before = await prod();
        const after = await gitlabRun(() => ({ image: { image: pulumi.output(image) }, cpuArchitecture: "ARM64" }));
        expect(after.error).to.equal(undefined);
        for (const t of ["web", "sidekiq", "gitaly", "migrate", "backup"]) {
            expect(containerOf(task(after, t)).image, t).to.equal(image);
            expect(task(after, t).inputs.runtimePlatform.cpuArchitecture, t).to.equal("ARM64");
            expect(containerOf(task(before, t)).image, t).to.match(/@sha256:c{64}$/);
        }
        // ECS task definitions are immutable: new container definitions are a new revision, whose ARN
        // is in both steps' triggers (the mocks keep ARNs at :1, so the trigger itself is not compared).
        for (const t of ["migrate", "gitaly", "web", "sidekiq"]) {
            expect(task(after, t).inputs.containerDefinitions, t).to.not.equal(task(before, t).inputs.containerDefinitions);
        }
        expect(named(after, T.command, "gitlab-migrate").inputs.triggers).to.deep.equal([task(after, "migrate").state.arn, task(after, "gitaly").state.arn]);
    });
});
