import { expect } from "chai";
import { PROVISION_SECONDS } from "../components/gitlab/readiness";
import { belowMinimumSeconds, ContainerCheckTiming, containerCheckFor, containerWindowSeconds, ECS_CONTAINER_CHECK_LIMITS, periodsBeyond, warmupSeconds } from "../facts/rollout";
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

type Query = { id: string; expression?: string; returnData?: boolean; metric?: { metricName: string; stat: string; period: number; dimensions: Record<string, string> } };

/** Does the alarm read the target group? */
const watches = (alarm: Resource, tg: string): boolean => ((alarm.inputs.metricQueries ?? []) as Query[]).some((q) => q.metric?.dimensions.TargetGroup === tg) || alarm.inputs.dimensions?.TargetGroup === tg;

/**
 * Whether an alarm on the web target group can fire while a healthy task
 * replaces another, which leaves the group short of healthy targets (and
 * with an unhealthy one) for at most `dipSeconds`. Safe if the alarm counts
 * only minutes in which a target was healthy all minute (the ALB then sends
 * a booting target nothing), or if it needs more breaching periods than the
 * dip can produce: a dip of L seconds touches at most ceil(L/p) + 1 periods,
 * and fills at most floor(L/p) whole ones (what a Maximum below a floor sees).
 */
function canFireInside(alarm: Resource, tg: string, dipSeconds: number): string | undefined {
    const i = alarm.inputs;
    const plain: Query[] = [{ id: "m", returnData: true, metric: { metricName: i.metricName, stat: i.statistic, period: i.period, dimensions: i.dimensions } }];
    const queries = (i.metricQueries ?? plain) as Query[];
    const metricOf = (id: string) => queries.find((q) => q.id === id)?.metric;
    const periods = [...new Set(queries.filter((q) => q.metric).map((q) => q.metric!.period))];
    expect(periods, alarm.name).to.have.length(1);
    const p = periods[0];
    const result = queries.find((q) => q.returnData)!;
    const gate = /^IF\(FILL\((\w+),0\)>=1,/.exec(result.expression ?? "");
    const gated = gate ? metricOf(gate[1]) : undefined;
    if (gated && gated.metricName === "HealthyHostCount" && gated.stat === "Minimum" && gated.dimensions.TargetGroup === tg) {
        return undefined;
    }
    const floor = queries.filter((q) => q.metric).every((q) => q.metric!.metricName === "HealthyHostCount" && q.metric!.stat === "Maximum") && String(alarm.inputs.comparisonOperator).startsWith("LessThan");
    const need = floor ? Math.floor(dipSeconds / p) + 1 : Math.ceil(dipSeconds / p) + 2;
    const have = alarm.inputs.datapointsToAlarm ?? alarm.inputs.evaluationPeriods;
    return have >= need ? undefined : `${alarm.name}: ${have} breaching periods of ${p} s, a ${dipSeconds} s dip can fill ${need - 1}`;
}

describe("GitLab readiness: rollouts that do not trip their own alarms", () => {
    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: no alarm on the web target group, rollback or not, can fire inside a healthy task's warm-up; ECS never stops a task inside it`, async () => {
            const f = await front(stack);
            const h = f.webTg.inputs.healthCheck;
            const container = f.container.healthCheck as ContainerCheckTiming;
            const warmup = { provisionSeconds: PROVISION_SECONDS, container, target: { intervalSeconds: h.interval, healthyThreshold: h.healthyThreshold } };
            const dip = belowMinimumSeconds(warmup, {
                minimumHealthyPercent: f.service.inputs.deploymentMinimumHealthyPercent,
                deregistrationDelaySeconds: f.webTg.inputs.deregistrationDelay,
                stopTimeoutSeconds: f.container.stopTimeout,
            });
            expect(dip).to.be.at.least(warmupSeconds(warmup));

            const tg = f.webTg.state.arnSuffix;
            const alarms = ofType(f.run, T.alarm).filter((a) => watches(a, tg));
            expect(alarms.map((a) => canFireInside(a, tg, dip)).filter((x) => x !== undefined)).to.deep.equal([]);
            expect(alarms.map((a) => a.name).sort()).to.include.members([`${f.service.name}-5xx-rate`, `${f.service.name}-healthy-hosts`]);
            // ECS ignores failing load-balancer checks until the target of a task ready at the window's end is healthy.
            expect(f.service.inputs.healthCheckGracePeriodSeconds).to.be.at.least(containerWindowSeconds(container) + h.interval * h.healthyThreshold);
            // Every alarm that gates the rollout is one of them.
            const byName = new Map(ofType(f.run, T.alarm).map((a) => [a.state.name, a]));
            for (const n of f.service.inputs.alarms?.alarmNames ?? []) {
                expect(alarms, n).to.include(byName.get(n));
            }
            // The floor is the service's minimum, so a lost task that is not replaced still alarms.
            expect(named(f.run, T.alarm, `${f.service.name}-healthy-hosts`).inputs.threshold).to.equal(f.minCount);
        });
    }

    it("prod: only the 5xx rate rolls a web deployment back; dev's single task rolls nothing back", async () => {
        const prod = await front("prod");
        expect(prod.service.inputs.alarms).to.include({ enable: true, rollback: true });
        expect(prod.service.inputs.alarms.alarmNames).to.deep.equal([named(prod.run, T.alarm, "gitlab-web-5xx-rate").state.name]);
        expect((await front("dev")).service.inputs.alarms).to.equal(undefined);
    });

    it("container windows follow ECS's limits: 300 s start, 10 retries, the interval filling the rest", () => {
        expect(containerCheckFor(600, 10)).to.deep.equal({ interval: 30, timeout: 10, retries: 10, startPeriod: 300 });
        expect(containerWindowSeconds(containerCheckFor(900, 10))).to.equal(900);
        expect(() => containerCheckFor(310, 2)).to.throw(/no ECS container check/);
        expect(() => containerCheckFor(605, 10)).to.throw(/no ECS container check/);
        expect(() => containerCheckFor(600, 30)).to.throw(/no ECS container check/);
        expect(periodsBeyond(810, 60)).to.equal(14);
        expect(periodsBeyond(840, 60)).to.equal(15);
    });
});
