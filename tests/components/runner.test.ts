import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { parse } from "smol-toml";
import { GitLabRunner } from "../../components/runner";
import { DEPLOY_RUNNER_NAME } from "../../components/runner/facts";
import { ECR_CREDENTIAL_HELPER } from "../../components/runner/runnerConfig";
import { inComponent, named, ofType, ROOT, runComponent, StackRun } from "../../sim/harness";
import { ACCOUNT, REGION } from "../../sim/mocks";
import { evaluate, Statement } from "../iamEval";
import { runnerArgs, STACK } from "./fixtures";

const ASG = "aws:autoscaling/group:Group";
const RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule";
const SECRET = "aws:secretsmanager/secret:Secret";

describe("component: GitLabRunner", () => {
    it("Spot workers: a mixed-instances policy with no on-demand share; the template names no type", async () => {
        const run = await runComponent(() => new GitLabRunner("runner", runnerArgs({ workers: { spot: true, instanceType: "m7i.large" } })));
        expect(run.error).to.equal(undefined);
        const g = named(run, ASG, "runner-workers").inputs;
        expect(g.mixedInstancesPolicy.instancesDistribution).to.include({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 });
        expect(g.mixedInstancesPolicy.launchTemplate.overrides).to.deep.equal([{ instanceType: "m7i.large" }]);
        expect(g).to.not.have.property("launchTemplate");
        expect(named(run, "aws:ec2/launchTemplate:LaunchTemplate", "runner-workers").inputs.instanceType).to.equal(undefined);
    });

    it("on-demand workers: the template's own type, no mixed-instances policy", async () => {
        const run = await runComponent(() => new GitLabRunner("runner", runnerArgs({ workers: { spot: false, instanceType: "m7i.large" } })));
        const g = named(run, ASG, "runner-workers").inputs;
        expect(g).to.not.have.property("mixedInstancesPolicy");
        expect(g.launchTemplate.id).to.equal(named(run, "aws:ec2/launchTemplate:LaunchTemplate", "runner-workers").id);
        expect(named(run, "aws:ec2/launchTemplate:LaunchTemplate", "runner-workers").inputs.instanceType).to.equal("m7i.large");
    });
});

describe("component: GitLabRunner, Docker Hub through ECR's pull-through cache", () => {
    const withCache = () => runComponent(() => new GitLabRunner("runner", runnerArgs({ dockerHubCache: true })));
    const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
    const PREFIX = `docker-hub/platform-${STACK}`;
    const repo = (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`;
    const taskPolicy = (run: StackRun, fleet: string) => JSON.parse(named(run, "aws:iam/rolePolicy:RolePolicy", `${fleet}-task-policy`).inputs.policy).Statement as Statement[];
    const config = (run: StackRun, fleet: string) =>
        parse(JSON.parse(named(run, "aws:ecs/taskDefinition:TaskDefinition", fleet).inputs.containerDefinitions)[0].environment.find((e: any) => e.name === "RUNNER_CONFIG_TOML").value) as any;

    it("one rule from Docker Hub under the stack's prefix, authenticated by the secret ECR requires (ecr-pullthroughcache/…), which holds no value from Pulumi", async () => {
        const run = await withCache();
        expect(run.error).to.equal(undefined);
        const [rule] = ofType(run, RULE);
        expect(ofType(run, RULE)).to.have.length(1);
        expect(rule.inputs).to.include({ ecrRepositoryPrefix: PREFIX, upstreamRegistryUrl: "registry-1.docker.io" });
        const secret = named(run, SECRET, "runner-docker-hub");
        expect(rule.inputs.credentialArn).to.equal(secret.state.arn);
        expect(secret.inputs.namePrefix).to.match(/^ecr-pullthroughcache\//);
        expect(inComponent(run, "aws:secretsmanager/secretVersion:SecretVersion", "runner")).to.deep.equal([]);
    });

    it("each manager's role pulls through the cache prefix (importing and creating its repositories) and nothing else of the account", async () => {
        const run = await withCache();
        for (const fleet of ["runner", DEPLOY_RUNNER_NAME]) {
            const statements = taskPolicy(run, fleet);
            const can = (action: string, resource: string) => evaluate(statements, { action, resource, context: {} });
            expect(can("ecr:GetAuthorizationToken", "*"), fleet).to.equal("allow");
            for (const action of ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]) {
                expect(can(action, repo(`${PREFIX}/library/node`)), `${fleet} ${action}`).to.equal("allow");
                expect(can(action, repo(`${PREFIX}/pulumi/pulumi-nodejs-22`)), `${fleet} ${action}`).to.equal("allow");
                for (const other of [`platform-${STACK}-app`, `platform-${STACK}-runner`, `platform-${STACK}-docker-hub/library/node`, "docker-hub/platform-other/library/node", `${PREFIX}-x/library/node`]) {
                    expect(can(action, repo(other)), `${fleet} ${action} ${other}`).to.equal("implicit");
                }
            }
            expect(can("ecr:PutImage", repo(`${PREFIX}/library/node`)), fleet).to.equal("implicit");
        }
    });

    it("each manager's config.toml gives gitlab-runner the ECR credential helper for the account's registry, which the manager's image installs on its PATH", async () => {
        const run = await withCache();
        for (const fleet of ["runner", DEPLOY_RUNNER_NAME]) {
            const env: string[] = config(run, fleet).runners[0].environment;
            const auth = env.filter((e) => e.startsWith("DOCKER_AUTH_CONFIG="));
            expect(auth, fleet).to.have.length(1);
            expect(JSON.parse(auth[0].slice("DOCKER_AUTH_CONFIG=".length)), fleet).to.deep.equal({ credHelpers: { [HOST]: "ecr-login" } });
        }
        const dockerfile = fs.readFileSync(path.join(ROOT, "runner/Dockerfile"), "utf8");
        const copy = /^COPY --from=\S+ \S+ (\/usr\/local\/bin\/\S+)$/m.exec(dockerfile);
        expect(copy?.[1]).to.equal(`/usr/local/bin/docker-credential-${ECR_CREDENTIAL_HELPER}`);
        // The helper's module is pinned by version and content (its go.sum h1: line).
        expect(dockerfile).to.match(/^ARG ECR_LOGIN_VERSION=v\d+\.\d+\.\d+$/m);
        expect(dockerfile).to.match(/^ARG ECR_LOGIN_SUM=h1:[A-Za-z0-9+/]{43}=$/m);
    });

    it("without dockerHubCache: the secret waits for its token, and no rule, no ECR rights, no helper exist yet", async () => {
        const run = await runComponent(() => new GitLabRunner("runner", runnerArgs()));
        expect(run.error).to.equal(undefined);
        expect(ofType(run, RULE)).to.deep.equal([]);
        expect(named(run, SECRET, "runner-docker-hub").inputs.namePrefix).to.match(/^ecr-pullthroughcache\//);
        const statements = taskPolicy(run, "runner");
        expect(evaluate(statements, { action: "ecr:BatchImportUpstreamImage", resource: repo(`${PREFIX}/library/node`), context: {} })).to.equal("implicit");
        expect(config(run, "runner").runners[0]).to.not.have.property("environment");
    });
});
