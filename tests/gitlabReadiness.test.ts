import { expect } from "chai";
import { ContainerCheckTiming, containerCheckFor, containerWindowSeconds, ECS_CONTAINER_CHECK_LIMITS } from "../facts/rollout";
import { named, ofType, Resource, StackRun, stackRun } from "../sim/harness";
import { Container, containerOf, evaluateContainer, ingressTo, serviceOf, T, taskOf, valueAt } from "./gitlabHelpers";

/*
 * Rollouts and readiness (issue 20, item 1): a GitLab task takes traffic, and
 * counts as healthy, only once Puma's /-/readiness answers; and no alarm on
 * the web target group can fire while a healthy task warms up. Everything is
 * read back from the planned graph of both stacks (dev: single, prod: split)
 * and the rendered gitlab.rb evaluated in Ruby.
 */

/** The front service of a stack, its one container, its web target group and its minimum count. */
interface Front {
    readonly run: StackRun;
    readonly service: Resource;
    readonly container: Container;
    readonly webTg: Resource;
    readonly minCount: number;
}

async function front(stack: "dev" | "prod"): Promise<Front> {
    const run = await stackRun(stack);
    const split = stack === "prod";
    const service = split ? serviceOf(run, "web") : named(run, T.service, "gitlab");
    const container = containerOf(split ? taskOf(run, "web") : named(run, T.taskDef, "gitlab"));
    const minCount = split ? named(run, T.scalingTarget, "gitlab-web-scaling").inputs.minCapacity : service.inputs.desiredCount;
    return { run, service, container, webTg: named(run, T.tg, "gitlab-web"), minCount };
}

/** The container port ECS registers in the web target group. */
const webPort = (f: Front): number => f.service.inputs.loadBalancers.find((l: any) => l.targetGroupArn === f.webTg.state.arn).containerPort;

/** A container check that curls `url` (and nothing else) and passes on 2xx, within ECS's limits. */
function expectCurlCheck(c: Container, url: string): ContainerCheckTiming {
    const h = c.healthCheck;
    expect(h.command[0], c.name).to.equal("CMD");
    expect(h.command[1], c.name).to.match(/\/curl$/);
    expect(h.command, c.name).to.include("-fsS");
    expect(h.command[h.command.length - 1], c.name).to.equal(url);
    const maxTime = Number(h.command[h.command.indexOf("--max-time") + 1]);
    const L = ECS_CONTAINER_CHECK_LIMITS;
    expect(maxTime, `${c.name}: curl gives up before ECS does`).to.be.below(h.timeout);
    expect(h.timeout, c.name).to.be.below(h.interval);
    expect(h.startPeriod, c.name).to.be.within(0, L.maxStartPeriod);
    expect(h.retries, c.name).to.be.within(1, L.maxRetries);
    expect(h.interval, c.name).to.be.within(L.minInterval, L.maxInterval);
    return h;
}

describe("GitLab readiness: what takes traffic", () => {
    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: the front container is healthy once /-/readiness answers through NGINX on the whitelisted loopback`, async () => {
            const f = await front(stack);
            const path = f.webTg.inputs.healthCheck.path;
            expect(path).to.equal("/-/readiness");
            expectCurlCheck(f.container, `http://127.0.0.1:${webPort(f)}${path}`);
            // The port the check and the target group use is the one NGINX listens on, and loopback may ask.
            const rb = evaluateContainer(f.container);
            expect(valueAt(rb, "gitlab_rails['nginx']['listen_port']")).to.equal(webPort(f));
            expect(valueAt(rb, "gitlab_rails['monitoring_whitelist']")).to.include("127.0.0.0/8");
        });
    }

    it("prod: Sidekiq is healthy once its own /readiness answers on loopback, with a window at least as long as web's", async () => {
        const f = await front("prod");
        const sidekiq = containerOf(taskOf(f.run, "sidekiq"));
        const rb = evaluateContainer(sidekiq);
        expect(valueAt(rb, "sidekiq['health_checks_enabled']")).to.equal(true);
        expect(valueAt(rb, "sidekiq['health_checks_listen_address']")).to.equal("127.0.0.1");
        const check = expectCurlCheck(sidekiq, `http://127.0.0.1:${valueAt(rb, "sidekiq['health_checks_listen_port']")}/readiness`);
        expect(containerWindowSeconds(check)).to.be.at.least(containerWindowSeconds(f.container.healthCheck));
    });

    it("prod: Gitaly's hooks and Sidekiq's registry calls go to web.<ns>, whose Cloud Map answers follow the web container's readiness", async () => {
        const f = await front("prod");
        const ns = ofType(f.run, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")[0];
        const gitaly = evaluateContainer(containerOf(taskOf(f.run, "gitaly")));
        const sidekiq = evaluateContainer(containerOf(taskOf(f.run, "sidekiq")));
        const internalApi = new URL(valueAt(gitaly, "gitlab_rails['internal_api_url']"));
        const registryApi = new URL(valueAt(sidekiq, "gitlab_rails['registry_api_url']"));
        for (const u of [internalApi, registryApi]) {
            expect(u.hostname).to.equal(`web.${ns.inputs.name}`);
        }
        // Puma answers the internal API on the web port; the registry is the web task's too.
        expect(Number(internalApi.port || 80)).to.equal(webPort(f));
        expect(f.service.inputs.loadBalancers.map((l: any) => l.containerPort)).to.include(Number(registryApi.port));
        // The name is the web service's Cloud Map service, health from ECS (the container check), and that check is readiness.
        const dns = ofType(f.run, T.discovery).find((d) => d.inputs.name === "web")!;
        expect(dns.inputs.dnsConfig.namespaceId).to.equal(ns.id);
        expect(dns.inputs.healthCheckCustomConfig).to.not.equal(undefined);
        expect(f.service.inputs.serviceRegistries.registryArn).to.equal(dns.state.arn);
        expectCurlCheck(f.container, `http://127.0.0.1:${webPort(f)}${f.webTg.inputs.healthCheck.path}`);
    });

    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: the SSH NLB's target group checks readiness over HTTP on the web port, which the NLB may reach`, async () => {
            const f = await front(stack);
            const ssh = named(f.run, T.tg, "gitlab-ssh").inputs;
            const web = f.webTg.inputs.healthCheck;
            expect(ssh.protocol).to.equal("TCP");
            expect(ssh.healthCheck).to.include({ protocol: "HTTP", port: String(webPort(f)), path: web.path, matcher: web.matcher });
            expect(ssh.healthCheck.timeout).to.be.below(ssh.healthCheck.interval);
            // The NLB's group may send to the tasks' web port, and the tasks admit it from that group.
            const nlbSg = named(f.run, T.sg, "gitlab-ssh-nlb");
            const out = ofType(f.run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === nlbSg.id);
            const taskSg = f.service.inputs.networkConfiguration.securityGroups[0];
            expect(out.filter((r) => r.inputs.referencedSecurityGroupId === taskSg).map((r) => r.inputs.fromPort)).to.include(webPort(f));
            const tasksIn = ingressTo(f.run, { id: taskSg } as Resource).filter((r) => r.inputs.referencedSecurityGroupId === nlbSg.id);
            expect(tasksIn.map((r) => r.inputs.fromPort)).to.include(webPort(f));
            // The NLB's nodes ask from the VPC, which the whitelist admits.
            expect(valueAt(evaluateContainer(f.container), "gitlab_rails['monitoring_whitelist']")).to.include(f.run.outputs.vpcCidr);
        });
    }
});

describe("GitLab readiness: timing facts", () => {
    it("container windows follow ECS's limits: 300 s start, 10 retries, the interval filling the rest", () => {
        expect(containerCheckFor(600, 10)).to.deep.equal({ interval: 30, timeout: 10, retries: 10, startPeriod: 300 });
        expect(containerWindowSeconds(containerCheckFor(900, 10))).to.equal(900);
        expect(() => containerCheckFor(310, 2)).to.throw(/no ECS container check/);
        expect(() => containerCheckFor(605, 10)).to.throw(/no ECS container check/);
        expect(() => containerCheckFor(600, 30)).to.throw(/no ECS container check/);
    });
});
