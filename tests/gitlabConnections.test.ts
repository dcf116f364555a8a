import { expect } from "chai";
import { parseConfig } from "../config";
import { connectionDemand, DEPLOY_MAXIMUM_PERCENT, gitlabMaxConnections } from "../components/gitlab/facts";
import { REGISTRY_SERVERS } from "../components/gitlab/processSizing";
import { gitlabFleets } from "../config/sections/gitlabBudget";
import { RESERVED_CONNECTIONS } from "../facts/rds";
import { containerOf, Evaluated, evaluateContainer, keyPath, mainTask, serviceOf, T, taskOf, valueAt } from "./gitlabHelpers";
import { inComponent, named, readStackConfig, runStack, stackRun, StackConfig, StackRun } from "../sim/harness";

/*
 * GitLab's database connection budget (issue 20, item 3): max_connections
 * follows the instance class, and what the tasks may hold (the pools GitLab's
 * code sizes, Gitlab::Runtime.max_threads + DB_POOL_HEADROOM, above the tune
 * guide's planning formula) fits it through a deployment at the autoscaling
 * ceiling.
 */

const maxConnections = (run: StackRun) => {
    const p = inComponent(run, T.params, "gitlab-db")[0].inputs.parameters.find((x: any) => x.name === "max_connections");
    return { value: Number(p.value), applyMethod: p.applyMethod };
};

/**
 * GitLab's pool per process, written out here from the rendered gitlab.rb:
 * Gitlab::Runtime.max_threads (a Puma worker: the main thread, puma's
 * max_threads and ActionCable's 4; Sidekiq: the main thread, its concurrency
 * and 2 pollers) plus DB_POOL_HEADROOM's 10, for each of the two pools (main, ci).
 */
const fromRendered = (e: Evaluated) => {
    const setting = (key: string) => Number(e.settings.find((x) => keyPath(x.path) === key)?.value ?? 0);
    const workers = setting("puma['worker_processes']");
    const threads = setting("puma['max_threads']");
    const concurrency = setting("sidekiq['concurrency']");
    return 2 * (workers * (1 + threads + 4 + 10) + (concurrency > 0 ? 1 + concurrency + 2 + 10 : 0));
};

const config = (stack: string, patch: (c: StackConfig) => void = () => undefined) => {
    const raw = readStackConfig(stack);
    patch(raw);
    return parseConfig(raw, stack);
};

describe("GitLab's database connection budget", () => {
    it("counts more than the tune guide's planning formula for web 2..6 × 4 workers and Sidekiq 1..4 (266, 532 through a deployment, 840 at the ceiling): GitLab's pools also hold the main thread, ActionCable and Sidekiq's pollers", () => {
        // prod's tiers as the issue read them (web up to 6), on a class large enough to parse.
        const cfg = config("prod", (c) => {
            c["platform:gitlab"].web.maxCount = 6;
            c["platform:gitlab"].sidekiq.maxCount = 4;
            c["platform:gitlab"].database.instanceClass = "db.m7g.2xlarge";
        });
        const d = connectionDemand(gitlabFleets(cfg.gitlab)!, DEPLOY_MAXIMUM_PERCENT.split);
        // Per web task 4 × 19 × 2 = 152 (the guide: 112), per Sidekiq task (1 + 10 + 2 + 10) × 2 = 46 (the guide: 42).
        expect([d.atMinimum, d.deployAtMinimum, d.atMaximum, d.deployAtMaximum]).to.deep.equal([350, 700, 1096, 2192]);
    });

    it("prod: what the rendered web and Sidekiq tasks hold at the ceiling, doubled by the deployment, fits the parameter group's max_connections", async () => {
        const run = await stackRun("prod");
        const web = fromRendered(evaluateContainer(containerOf(taskOf(run, "web"))));
        const sidekiq = fromRendered(evaluateContainer(containerOf(taskOf(run, "sidekiq"))));
        // 4 workers × (1 + 4 threads + 4 ActionCable + 10) × 2 and (1 + 10 + 2 + 10) × 2.
        expect([web, sidekiq]).to.deep.equal([152, 46]);
        const ceiling = (tier: string) => Number(named(run, T.scalingTarget, `gitlab-${tier}-scaling`).inputs.maxCapacity);
        const overlap = (tier: string) => Number(serviceOf(run, tier).inputs.deploymentMaximumPercent) / 100;
        const deploying = web * ceiling("web") * overlap("web") + sidekiq * ceiling("sidekiq") * overlap("sidekiq");
        // The registry's pool in every web task (doubled by the deployment too) and in the migration task.
        const pool = Number((valueAt(evaluateContainer(containerOf(taskOf(run, "web"))), "registry['database']") as { pool: { maxopen: number } }).pool.maxopen);
        const registry = pool * ceiling("web") * overlap("web") + pool;
        // The migrate and backup tasks (one rake thread and its headroom, both pools each) and the reserve.
        const need = deploying + registry + 2 * 2 * (1 + 10) + RESERVED_CONNECTIONS;
        const limit = maxConnections(run);
        expect(limit).to.deep.equal({ value: 1532, applyMethod: "pending-reboot" });
        expect(need).to.be.at.most(limit.value);
        // The schema's budget counts the same: one source for the sizes the tasks run and the sizes it weighs.
        const cfg = config("prod");
        expect(connectionDemand(gitlabFleets(cfg.gitlab)!, DEPLOY_MAXIMUM_PERCENT.split).need).to.equal(need);
        expect(gitlabMaxConnections(cfg.gitlab.database.instanceClass)).to.equal(limit.value);
        expect(overlap("web") * 100).to.equal(DEPLOY_MAXIMUM_PERCENT.split);
        expect(overlap("sidekiq") * 100).to.equal(DEPLOY_MAXIMUM_PERCENT.split);
    });

    it("dev: the single task stops before its replacement starts, and db.t4g.medium keeps GitLab's floor of 400 (its RDS default is 383)", async () => {
        const run = await stackRun("dev");
        expect(Number(named(run, T.service, "gitlab").inputs.deploymentMaximumPercent)).to.equal(DEPLOY_MAXIMUM_PERCENT.single);
        expect(maxConnections(run)).to.deep.equal({ value: 400, applyMethod: "pending-reboot" });
        const task = fromRendered(evaluateContainer(containerOf(mainTask(run))));
        // 2 × (2 × 19 + 23): Omnibus's memory-constrained sizing.
        expect(task).to.equal(122);
        expect(task + 2 * 2 * 11 + RESERVED_CONNECTIONS).to.be.at.most(400);
    });

    it("counts a registry pool for exactly the serving roles whose rendered gitlab.rb configures one (prod's, while it imports, unused)", async () => {
        const [prod, dev] = [await stackRun("prod"), await stackRun("dev")];
        const rendered = { single: mainTask(dev), web: taskOf(prod, "web"), sidekiq: taskOf(prod, "sidekiq") };
        const opensPool = Object.entries(rendered)
            .filter(([, task]) => evaluateContainer(containerOf(task)).settings.some((x) => keyPath(x.path) === "registry['database']" && x.value.pool !== undefined))
            .map(([role]) => role);
        expect(opensPool).to.deep.equal([...REGISTRY_SERVERS]);
    });

    it("a class change moves max_connections in place: the instance's and parameter group's replacement-forcing inputs stay (two runs)", async () => {
        // prod on db.m7g.2xlarge (3064), then down to its db.m7g.xlarge (1532).
        const before = await runStack("prod", { patch: (c) => (c["platform:gitlab"].database.instanceClass = "db.m7g.2xlarge") });
        expect(before.error, before.error?.message).to.equal(undefined);
        const after = await stackRun("prod");
        expect([maxConnections(before).value, maxConnections(after).value]).to.deep.equal([3064, 1532]);
        const db = (run: StackRun) => named(run, T.db, "gitlab-db").inputs;
        expect([db(before).instanceClass, db(after).instanceClass]).to.deep.equal(["db.m7g.2xlarge", "db.m7g.xlarge"]);
        // What the AWS provider replaces an RDS instance for (ForceNew in aws_db_instance).
        const replacing = ["identifier", "identifierPrefix", "engine", "dbName", "username", "storageEncrypted", "kmsKeyId", "availabilityZone", "snapshotIdentifier", "characterSetName", "timezone"];
        for (const f of replacing) {
            expect(db(after)[f], f).to.deep.equal(db(before)[f]);
        }
        expect(db(after).parameterGroupName).to.deep.equal(db(before).parameterGroupName);
        // A parameter group is replaced for its name, family or description; its parameters change in place.
        const pg = (run: StackRun) => inComponent(run, T.params, "gitlab-db")[0].inputs;
        for (const f of ["name", "namePrefix", "family", "description"]) {
            expect(pg(after)[f], f).to.deep.equal(pg(before)[f]);
        }
        const others = (run: StackRun) => pg(run).parameters.filter((p: any) => p.name !== "max_connections");
        expect(others(after)).to.deep.equal(others(before));
    });
});
