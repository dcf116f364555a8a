import { expect } from "chai";
import { prodSingle } from "./variants";
import { RAILS_SECRETS, SECRET_ENV } from "../components/gitlab/secrets";
import { containerOf, envValue, evaluateContainer, keyPath, mainTask, policyOf, T, taskOf, valueAt } from "./gitlabHelpers";
import { inComponent, named, ofType, Resource, stackRun, STACKS } from "../sim/harness";

/*
 * Where GitLab migrates, in both topologies. The timeline of the steps inside
 * `pulumi up` against the CI job that runs it: tests/deployTimeline.test.ts.
 */

const singleRun = (stack: string) => (stack === "prod" ? prodSingle() : stackRun(stack));
const dependsOn = (r: Resource, other: Resource) => r.dependencies.includes(other.urn);

describe("GitLab migrations: one migration task in both topologies", () => {
    for (const stack of STACKS) {
        describe(stack === "prod" ? "single topology (prod as single)" : "single topology (dev)", () => {
            it("the one task never migrates or seeds; the migration task alone has auto_migrate on, seeds with the root password, and runs none of GitLab's services", async () => {
                const run = await singleRun(stack);
                const main = evaluateContainer(containerOf(mainTask(run)));
                expect(valueAt(main, "gitlab_rails['auto_migrate']")).to.equal(false);
                const migrate = containerOf(taskOf(run, "migrate"));
                expect(migrate.command).to.deep.equal(["migrate"]);
                const e = evaluateContainer(migrate);
                expect(valueAt(e, "gitlab_rails['auto_migrate']")).to.equal(true);
                expect(valueAt(e, "gitlab_rails['initial_root_password']")).to.equal(`dummy-${SECRET_ENV.rootPassword}`);
                for (const svc of ["puma", "sidekiq", "gitaly", "gitlab_workhorse", "nginx"]) {
                    expect(valueAt(e, `${svc}['enable']`), svc).to.equal(false);
                }
                // The registry runs only for its own schema migrations (its recipe migrates it).
                expect([valueAt(e, "registry['enable']"), valueAt(e, "registry['auto_migrate']")]).to.deep.equal([true, true]);
                // The single topology has no shared Redis: the task runs Omnibus's own, as the one task does.
                expect(e.settings.filter((x) => keyPath(x.path).startsWith("redis[") || keyPath(x.path).startsWith("gitlab_rails['redis_"))).to.deep.equal([]);
                // The one task's Gitaly, by its Cloud Map name (migrations and seeds may call it).
                expect(valueAt(e, "gitlab_rails['repositories_storages']")).to.deep.equal(valueAt(evaluateContainer(containerOf(named(run, T.taskDef, "gitlab-backup"))), "gitlab_rails['repositories_storages']"));
                // Exactly one task definition of GitLab migrates.
                const migrating = inComponent(run, T.taskDef, "gitlab").filter((td) => evaluateContainer(containerOf(td)).settings.some((x) => keyPath(x.path) === "gitlab_rails['auto_migrate']" && x.value === true));
                expect(migrating.map((td) => td.name)).to.deep.equal(["gitlab-migrate"]);
            });

            it("gets exactly the secrets its config reads, its execution role exactly those, and the task role no backup bucket", async () => {
                const run = await singleRun(stack);
                const c = containerOf(taskOf(run, "migrate"));
                const fetched = [...envValue(c, "GITLAB_OMNIBUS_CONFIG")!.matchAll(/ENV\.fetch\('([A-Z0-9_]+)'\)/g)].map((m) => m[1]);
                expect(c.secrets.map((s) => s.name).sort()).to.deep.equal([...new Set(fetched)].sort());
                expect(c.secrets.map((s) => s.name).sort()).to.deep.equal([...RAILS_SECRETS, "databasePassword", "rootPassword", "registryDatabasePassword"].map((n) => SECRET_ENV[n as keyof typeof SECRET_ENV]).sort());
                const read = new Set<string>(policyOf(run, "gitlab-migrate-execution-policy").find((s) => s.Sid === "ReadSecrets").Resource);
                expect(read).to.deep.equal(new Set(c.secrets.map((s) => s.valueFrom.split(":").slice(0, 7).join(":"))));
                const buckets = policyOf(run, "gitlab-migrate-task-policy").flatMap((s) => [s.Resource].flat());
                expect(buckets.filter((r: string) => r.includes("backups"))).to.deep.equal([]);
            });

            it("runs the regular migrations before the task rolls (beside the old one's Gitaly) and the post-deployment ones once it runs the new revision, on regular FARGATE", async () => {
                const run = await singleRun(stack);
                const pre = named(run, T.command, "gitlab-migrate");
                const post = named(run, T.command, "gitlab-post-migrate");
                const svc = named(run, T.service, "gitlab");
                const migrateTd = taskOf(run, "migrate");
                expect(dependsOn(svc, pre), "the task after the regular migrations").to.equal(true);
                expect(dependsOn(post, svc), "post-deployment migrations after the task").to.equal(true);
                expect(dependsOn(pre, svc)).to.equal(false);
                expect(JSON.parse(pre.inputs.environment.EXPECT_SERVICES)).to.deep.equal([]);
                expect(JSON.parse(post.inputs.environment.EXPECT_SERVICES)).to.deep.equal([{ service: svc.inputs.name, taskDefinition: mainTask(run).state.arn }]);
                for (const [c, step] of [
                    [pre, "migrate"],
                    [post, "post-migrate"],
                ] as const) {
                    expect(c.inputs.environment).to.include({ TASK_DEFINITION: migrateTd.state.arn, CONTAINER: "migrate", CAPACITY_PROVIDER: "FARGATE" });
                    expect(JSON.parse(c.inputs.environment.COMMAND)).to.deep.equal([step]);
                    expect(JSON.parse(c.inputs.environment.SECURITY_GROUPS)).to.deep.equal([named(run, T.sg, "gitlab-migrate").id]);
                    expect(c.inputs.create).to.match(/tools\/runTask\.ts$/);
                }
                // A one-off: no service runs the migration task.
                expect(ofType(run, T.service).filter((s) => s.inputs.taskDefinition === migrateTd.state.arn)).to.deep.equal([]);
                // The migration task reaches the database and the one task's Gitaly.
                const gitaly = ofType(run, T.ingress).filter((r) => r.inputs.fromPort === 8075 && r.inputs.referencedSecurityGroupId === named(run, T.sg, "gitlab-migrate").id);
                expect(gitaly.map((r) => r.inputs.securityGroupId)).to.deep.equal([named(run, T.sg, "gitlab-tasks").id]);
            });
        });
    }
});
