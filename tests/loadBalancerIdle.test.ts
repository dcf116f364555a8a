import { expect } from "chai";
import { containerOf, evaluateContainer, mainTask, T, taskOf, valueAt } from "./gitlabHelpers";
import { named, runStack, stackRun, STACKS, StackRun } from "../sim/harness";

/*
 * The ALB's idle timeout against the two things it must agree with: the
 * NGINX GitLab proxies through (which waits `proxy_read_timeout` 3600 s for
 * Workhorse, Omnibus's default, left as it is), and every backend's
 * keep-alive, which must outlast it or the ALB's reuse of a connection the
 * backend just closed becomes a 502.
 */

/** Omnibus's default `gitlab_rails['nginx']['proxy_read_timeout']` (gitlab.rb.template 19.3), which this program does not set. */
const OMNIBUS_PROXY_READ_TIMEOUT = 3600;

const idleOf = (run: StackRun): number => named(run, T.lb, "public").inputs.idleTimeout;
/** The GitLab containers that sit behind the ALB: the single task, or the split web tier. */
const gitlabBehindAlb = (stack: string, run: StackRun) => containerOf(stack === "dev" ? mainTask(run) : taskOf(run, "web"));
const appWeb = (run: StackRun) => (JSON.parse(named(run, "aws:ecs/taskDefinition:TaskDefinition", "app").inputs.containerDefinitions) as any[]).find((c) => c.name === "web");

describe("ALB idle timeout: long git and registry requests, and backends that outlast it", () => {
    for (const stack of STACKS) {
        it(`${stack}: the ALB waits as long as GitLab's NGINX does, and GitLab's NGINX and the app keep idle connections longer than the ALB`, async () => {
            const run = await stackRun(stack);
            const idle = idleOf(run);
            expect(idle).to.be.at.least(OMNIBUS_PROXY_READ_TIMEOUT);
            expect(idle).to.be.at.most(4000);
            const gitlab = evaluateContainer(gitlabBehindAlb(stack, run));
            expect(valueAt(gitlab, "nginx['keepalive_timeout']")).to.be.greaterThan(idle);
            const keepAlive = appWeb(run).environment.find((e: any) => e.name === "GUNICORN_KEEPALIVE")?.value;
            expect(Number(keepAlive)).to.be.greaterThan(idle);
        });
    }

    it("loadBalancer.idleTimeout reaches the ALB in place (nothing that replaces it moves) and the backends follow it", async () => {
        const before = await stackRun("prod");
        const after = await runStack("prod", { patch: (c) => (c["platform:loadBalancer"] = { ...c["platform:loadBalancer"], idleTimeout: 900 }) });
        expect(after.error).to.equal(undefined);
        expect(idleOf(after)).to.equal(900);
        const b = named(before, T.lb, "public");
        const a = named(after, T.lb, "public");
        // The ALB's name, scheme and type force a new one; idleTimeout is an attribute ELB modifies in place.
        const others = (inputs: Record<string, unknown>) => Object.fromEntries(Object.entries(inputs).filter(([k]) => k !== "idleTimeout"));
        expect(others(a.inputs)).to.deep.equal(others(b.inputs));
        expect(a.urn).to.equal(b.urn);
        expect(a.replaceOnChanges).to.deep.equal([]);
        expect(valueAt(evaluateContainer(containerOf(taskOf(after, "web"))), "nginx['keepalive_timeout']")).to.be.greaterThan(900);
        expect(Number(appWeb(after).environment.find((e: any) => e.name === "GUNICORN_KEEPALIVE")?.value)).to.be.greaterThan(900);
    });
});
