import { expect } from "chai";
import { prodGitalyOnEfs, prodSingle } from "./variants";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { containerOf, generators, ingressTo, OIDC, OIDC_ARN, sameInputs, serviceOf as service, T, taskOf as task } from "./gitlabHelpers";
import { named, ofType, runStack, stackRun, StackRun } from "../sim/harness";

/*
 * GitLab's update paths and variants that need the whole stack: the Gitaly
 * host's volume and launch template, the cluster's capacity providers, the
 * image build, and the config keys index.ts hands GitLab. What concerns the
 * GitLab component alone is in tests/components/gitlab*.test.ts.
 */

const prod = () => stackRun("prod");
const CIDRS = ["203.0.113.0/24", "198.51.100.0/24"];

describe("GitLab in the stack: update paths and variants (patched runs)", () => {
    it("growing the volume and its IOPS changes only in-place fields; nothing that replaces it (AZ, encryption, snapshot) moves", async () => {
        const before = await prod();
        const after = await runStack("prod", { patch: (c) => Object.assign(c["platform:gitlab"].gitaly.volume, { sizeGb: 400, iops: 6000, throughputMibps: 250 }) });
        expect(after.error).to.equal(undefined);
        const v = named(after, T.volume, "gitaly-data").inputs;
        expect(v).to.include({ size: 400, iops: 6000, throughput: 250 });
        sameInputs(before, after, T.volume, "gitaly-data", ["availabilityZone", "encrypted", "snapshotId", "type", "kmsKeyId"]);
        // The host's launch template (and so its instance) is untouched by a resize.
        expect(named(after, T.launchTemplate, "gitaly").inputs).to.deep.equal(named(before, T.launchTemplate, "gitaly").inputs);
    });

    describe("one patched prod: a new image (arm64), scaled tiers, a bigger Redis, an SSH allow-list and OIDC", () => {
        let was: StackRun;
        let now: StackRun;
        before(async () => {
            was = await prod();
            now = await runStack("prod", {
                patch: (c) => {
                    c["platform:images"].platform = "linux/arm64";
                    // Dev builds x86_64 only (Fargate Spot), and a tag names its architecture: an arm64 prod builds its own.
                    delete c["platform:images"].promoteFrom;
                    c["platform:gitlab"].gitaly.instanceType = "m7g.large";
                    Object.assign(c["platform:gitlab"].web, { maxCount: 6, cpuTarget: 50 });
                    Object.assign(c["platform:gitlab"].sidekiq, { maxCount: 6 });
                    // Twice the tiers need twice the connections (GitLab's connection budget).
                    c["platform:gitlab"].database.instanceClass = "db.m7g.2xlarge";
                    c["platform:gitlab"].redis.nodeType = "cache.m7g.large";
                    c["platform:gitlab"].ssh = { allowedCidrs: CIDRS };
                    c["platform:gitlab"].oidc = OIDC;
                },
            });
            expect(now.error, now.error?.message).to.equal(undefined);
        });

        it("a new GitLab image reaches every GitLab task definition, and the Gitaly host its architecture's AMI", () => {
            expect(now.outputs.gitlabImageRef).to.not.equal(was.outputs.gitlabImageRef);
            for (const t of ["web", "sidekiq", "gitaly", "migrate", "backup"]) {
                expect(containerOf(task(now, t)).image, t).to.equal(now.outputs.gitlabImageRef);
                expect(containerOf(task(was, t)).image, t).to.equal(was.outputs.gitlabImageRef);
            }
            expect(named(now, T.launchTemplate, "gitaly").inputs.imageId).to.match(/amazon-linux-2023\/arm64\/recommended/);
        });

        it("scaling the tiers or resizing Redis reaches GitLab and leaves the Gitaly volume as it was", () => {
            expect(named(now, T.scalingTarget, "gitlab-web-scaling").inputs.maxCapacity).to.equal(6);
            expect(named(now, T.redis, "gitlab-redis").inputs.nodeType).to.equal("cache.m7g.large");
            expect(named(now, T.volume, "gitaly-data").inputs, "gitaly-data unchanged").to.deep.equal(named(was, T.volume, "gitaly-data").inputs);
        });

        it("gitlab.ssh.allowedCidrs and gitlab.oidc reach GitLab: the NLB's allow-list, the web tier's client secret", () => {
            expect(ingressTo(now, named(now, T.sg, "gitlab-ssh-nlb")).map((r) => r.inputs.cidrIpv4)).to.deep.equal(CIDRS);
            expect(containerOf(task(now, "web")).secrets.find((s) => s.name === SECRET_ENV.oidcClientSecret)?.valueFrom).to.equal(OIDC_ARN);
        });
    });

    it("a change outside Gitaly (the Fargate tasks' disk, autoscaling, alarm thresholds) leaves the Gitaly service and task as they were, with no forced deployment", async () => {
        const before = await prod();
        const after = await runStack("prod", {
            patch: (c) => {
                c["platform:gitlab"].ephemeralStorageGb = 150;
                Object.assign(c["platform:gitlab"].web, { cpuTarget: 50 });
                Object.assign(c["platform:alarms"], { cpuPercent: 70, memoryPercent: 75 });
            },
        });
        expect(after.error, after.error?.message).to.equal(undefined);
        // The change is real: the web tier gets a new revision.
        expect(task(after, "web").inputs.ephemeralStorage).to.deep.equal({ sizeInGib: 150 });
        expect(task(before, "web").inputs.ephemeralStorage).to.not.deep.equal({ sizeInGib: 150 });
        expect(task(after, "gitaly").inputs).to.deep.equal(task(before, "gitaly").inputs);
        expect(service(after, "gitaly").inputs).to.deep.equal(service(before, "gitaly").inputs);
        // With the flag on, any later update to the Gitaly service (alarms, exec, network) would
        // restart the only Gitaly; its capacity provider's name is fixed, so it needs none.
        expect(service(after, "gitaly").inputs.forceNewDeployment).to.equal(false);
        // The Fargate tiers keep it: their strategy follows `spot`, which the provider changes only with it.
        for (const t of ["web", "sidekiq"]) {
            expect(service(after, t).inputs.forceNewDeployment, t).to.equal(true);
        }
    });

    it("gitaly.storage efs: no Gitaly host (no ASG, volume or EC2 capacity provider), and GitLab's Gitaly on Fargate with its EFS", async () => {
        const run = await prodGitalyOnEfs();
        expect(run.error).to.equal(undefined);
        expect(ofType(run, T.asg).map((g) => g.name)).to.deep.equal(["runner-workers", "runner-deploy-workers"]);
        expect(ofType(run, T.volume)).to.deep.equal([]);
        expect(ofType(run, T.clusterCapacity)[0].inputs.capacityProviders).to.deep.equal(["FARGATE"]);
        expect(ofType(run, T.fs)).to.have.length(1);
        expect(service(run, "gitaly").inputs.capacityProviderStrategies).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1 }]);
    });

    it("dev keeps the single topology: no split resources, and the same GitLab resources as prod switched to single", async () => {
        const dev = await stackRun("dev");
        for (const type of [T.volume, T.asg, T.redis, T.capacityProvider]) {
            expect(ofType(dev, type), type).to.deep.equal([]);
        }
        // The two migration steps (images are docker.Image builds, no command): the single task never migrates in its own start-up.
        expect(ofType(dev, T.command).map((c) => c.name)).to.deep.equal(["gitlab-migrate", "gitlab-post-migrate"]);
        // The same kinds of resource under the same names; the stacks differ only in their
        // zone (record names) and AZ count (one EFS mount target per AZ).
        const shape = (run: StackRun) => [
            ...new Set(
                run.resources
                    // (Not the gitlab image's: prod promotes dev's, dev builds it.)
                    .filter((r) => (r.parentUrn?.endsWith("::gitlab") && !r.parentUrn.includes("platform:ecr:EcrImage")) || r.type === "platform:gitlab:GitLab")
                    .map((r) => `${r.type} ${r.name.replace(/\.(dev\.)?example\.com$/, "").replace(/-mount-\d+$/, "-mount-N")}`),
            ),
        ].sort();
        expect(shape(dev)).to.deep.equal(shape(await prodSingle()));
        expect(named(dev, T.service, "gitlab").inputs).to.include({ desiredCount: 1, deploymentMinimumHealthyPercent: 0, deploymentMaximumPercent: 100 });
    });

    it("GitLab's topology and size leave every generator outside GitLab (the databases' passwords, the app's key) as it was", async () => {
        const outside = (run: StackRun) => generators(run).filter((g) => !g.parentUrn?.endsWith("::gitlab"));
        const before = outside(await prod());
        expect(before.length).to.be.greaterThan(0);
        const after = outside(await prodSingle());
        for (const g of before) {
            expect(after.find((x) => x.type === g.type && x.name === g.name)?.inputs, `${g.type} ${g.name}`).to.deep.equal(g.inputs);
        }
        expect(after.length).to.equal(before.length);
    });
});
