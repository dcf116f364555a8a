import { expect } from "chai";
import { architecture, subnetTiers } from "../tools/planning/architecture";
import { CostResource, estimate, loadPrices } from "../tools/planning/cost";
import { AWS_DEFAULT_FLOOR_SECONDS, rolloutFloors } from "../tools/planning/rollout";
import { USAGE_DEFAULTS, usageFrom } from "../tools/planning/usage";
import { named, ofType, stackRun, StackRun } from "../sim/harness";

const prices = loadPrices();
let n = 0;
function res(type: string, inputs: Record<string, any>, from: Record<string, CostResource> = {}, parentUrn = "urn:pulumi:t::p::platform:x:X::comp"): CostResource {
    const name = `r${++n}`;
    return { type, name, urn: `urn:pulumi:t::p::${type}::${name}`, parentUrn, inputs, propertyDependencies: Object.fromEntries(Object.entries(from).map(([k, r]) => [k, [r.urn]])) };
}
const component: CostResource = { type: "platform:x:X", name: "comp", urn: "urn:pulumi:t::p::platform:x:X::comp", parentUrn: "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t", inputs: {}, propertyDependencies: {} };
const stackRoot: CostResource = { type: "pulumi:pulumi:Stack", name: "p-t", urn: "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t", inputs: {}, propertyDependencies: {} };
const one = (...rs: CostResource[]) => estimate([stackRoot, component, ...rs], prices);

describe("cost model (tools/planning/cost.ts, prices.json), by hand", () => {
    it("the prices it uses are in the table, each with a source and a date", () => {
        expect(prices["fargate.x86.vcpuHour"].usd).to.equal(0.04048);
        for (const [key, p] of Object.entries(prices)) {
            expect(p.source, key).to.match(/^https:\/\/aws\.amazon\.com\//);
            expect(p.seen, key).to.match(/^\d{4}-\d{2}-\d{2}$/);
        }
    });

    it("Fargate on demand: 3 tasks of 1 vCPU / 2 GB", () => {
        const td = res("aws:ecs/taskDefinition:TaskDefinition", { cpu: "1024", memory: "2048" });
        const e = one(td, res("aws:ecs/service:Service", { desiredCount: 3, capacityProviderStrategies: [{ capacityProvider: "FARGATE" }] }, { taskDefinition: td }));
        // 3 × (1 × 0.04048 + 2 × 0.004445) × 730 = 3 × 0.04937 × 730 = 108.1203
        expect(e.totalUsd).to.equal(108.12);
        expect(e.byComponent).to.deep.equal({ comp: 108.12 });
    });

    it("Fargate Spot: 1 task of 0.25 vCPU / 0.5 GB at 70 % off", () => {
        const td = res("aws:ecs/taskDefinition:TaskDefinition", { cpu: "256", memory: "512" });
        const e = one(td, res("aws:ecs/service:Service", { desiredCount: 1, capacityProviderStrategies: [{ capacityProvider: "FARGATE_SPOT" }] }, { taskDefinition: td }));
        // (0.25 × 0.04048 + 0.5 × 0.004445) × 730 × 0.3 = 0.0123425 × 730 × 0.3 = 2.7030
        expect(e.totalUsd).to.equal(2.7);
    });

    it("a task with 100 GB of disk pays for the 80 GB above the 20 included", () => {
        const td = res("aws:ecs/taskDefinition:TaskDefinition", { cpu: "1024", memory: "2048", ephemeralStorage: { sizeInGib: 100 } });
        const e = one(td, res("aws:ecs/service:Service", { desiredCount: 1 }, { taskDefinition: td }));
        // (0.04048 + 2 × 0.004445 + 80 × 0.000111) × 730 = (0.04937 + 0.00888) × 730 = 0.05825 × 730 = 42.5225
        expect(e.totalUsd).to.equal(42.52);
    });

    it("RDS db.t4g.medium Multi-AZ with 50 GB", () => {
        const e = one(res("aws:rds/instance:Instance", { instanceClass: "db.t4g.medium", multiAz: true, allocatedStorage: 50 }));
        // 730 × 0.130 + 50 × 0.230 = 94.90 + 11.50 = 106.40
        expect(e.totalUsd).to.equal(106.4);
    });

    it("RDS with a password RDS manages also pays for its secret", () => {
        const e = one(res("aws:rds/instance:Instance", { instanceClass: "db.t4g.micro", multiAz: false, allocatedStorage: 20, manageMasterUserPassword: true }));
        // 730 × 0.016 + 20 × 0.115 + 0.40 = 11.68 + 2.30 + 0.40 = 14.38
        expect(e.totalUsd).to.equal(14.38);
    });

    it("NAT gateways: one per AZ in three AZs, 50 GB each", () => {
        const e = one(res("awsx:ec2:Vpc", { numberOfAvailabilityZones: 3, natGateways: { strategy: "OnePerAz" } }));
        // 3 × (730 × 0.045 + 50 × 0.045) = 3 × (32.85 + 2.25) = 105.30
        expect(e.totalUsd).to.equal(105.3);
    });

    it("a load balancer and gp3 above its baseline", () => {
        const e = one(res("aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "network" }), res("aws:ebs/volume:Volume", { size: 200, iops: 6000, throughput: 250 }));
        // NLB: 730 × 0.0225 + 1 × 730 × 0.006 = 16.425 + 4.38 = 20.805
        // gp3: 200 × 0.08 + 3000 × 0.005 + 125 × 0.04 = 16 + 15 + 5 = 36
        expect(e.totalUsd).to.be.closeTo(56.81, 0.006);
    });

    it("EC2 instances of a group, with their launch template's volumes", () => {
        const lt = res("aws:ec2/launchTemplate:LaunchTemplate", { instanceType: "m7i.large", blockDeviceMappings: [{ ebs: { volumeSize: 40, volumeType: "gp3" } }] });
        const e = one(lt, res("aws:autoscaling/group:Group", { desiredCapacity: 1, minSize: 1, maxSize: 1 }, { launchTemplate: lt }));
        // 1 × 730 × 0.1008 + 1 × 40 × 0.08 = 73.584 + 3.20 = 76.784
        expect(e.totalUsd).to.equal(76.78);
    });

    it("a CloudWatch dashboard: $3 a month, the account's 3 free ones not counted on", () => {
        const e = one(res("aws:cloudwatch/dashboard:Dashboard", { dashboardName: "d", dashboardBody: "{}" }));
        expect(prices["cloudwatch.dashboardMonth"].usd).to.equal(3);
        expect(e.lines.map((l) => [l.item, l.monthlyUsd])).to.deep.equal([["CloudWatch dashboard", 3]]);
    });

    it("a class the table has no price for is named as not priced; the plan goes on", () => {
        const e = one(res("aws:rds/instance:Instance", { instanceClass: "db.r8g.24xlarge", multiAz: false, allocatedStorage: 20 }), res("aws:kms/key:Key", {}));
        expect(e.totalUsd).to.equal(1);
        expect(e.unpriced.some((u) => /aws:rds\/instance:Instance r\d+ \(no price for rds\.db\.r8g\.24xlarge\.hour/.test(u))).to.equal(true);
    });

    it("usage assumptions come from the command line, checked", () => {
        expect(usageFrom(["natGbPerGateway=500"]).natGbPerGateway).to.equal(500);
        expect(usageFrom([]).spotDiscount).to.equal(USAGE_DEFAULTS.spotDiscount);
        expect(() => usageFrom(["natGb=5"])).to.throw(/natGbPerGateway/);
        expect(() => usageFrom(["spotDiscount=-1"])).to.throw();
        const e = estimate([stackRoot, component, res("awsx:ec2:Vpc", { natGateways: { strategy: "Single" } })], prices, usageFrom(["natGbPerGateway=1000"]));
        // 730 × 0.045 + 1000 × 0.045 = 32.85 + 45 = 77.85
        expect(e.totalUsd).to.equal(77.85);
    });

    it("the two stacks: every component priced, prod dearer than dev, and what is not priced named", async () => {
        const [dev, prod] = [estimate((await stackRun("dev")).resources, prices), estimate((await stackRun("prod")).resources, prices)];
        expect(prod.totalUsd).to.be.greaterThan(dev.totalUsd);
        expect(Object.keys(prod.byComponent)).to.include.members(["network", "app", "app-db", "gitlab", "gitlab-db", "runner", "gitaly", "overview"]);
        // The stack's one dashboard.
        expect(dev.byComponent.overview).to.equal(3);
        expect(prod.byComponent.overview).to.equal(3);
        expect(Object.values(prod.byComponent).reduce((a, b) => a + b, 0)).to.be.closeTo(prod.totalUsd, 0.05);
        expect(prod.unpriced).to.deep.equal([
            "AWS Backup recovery points (by the GB kept)",
            "Container Insights metrics and performance logs (per metric and GB)",
            "RDS backup storage beyond the instance's allocated storage (per GB-month)",
            // GitLab's mail through SES.
            "SES messages sent (per 1,000)",
            "data transfer out to the internet (per GB)",
            "public IPv4 addresses of the load balancers and NAT gateways (per address-hour)",
        ]);
        // gitlab-db's db.m7g.xlarge: twice db.m7g.large, whose third-party figures conflict, and the plan says so.
        expect(prod.unconfirmed).to.deep.equal(["rds.db.m7g.xlarge.multiAzHour"]);
        // The app's tasks as the graph has them: prod 3 × 1 vCPU / 2 GB on demand (108.12 above).
        expect(prod.lines.find((l) => l.resource === "app" && l.item === "Fargate")?.monthlyUsd).to.equal(108.12);
    });
});

describe("rollout floors (tools/planning/rollout.ts), from the target groups", () => {
    const check = (run: StackRun) => {
        for (const f of rolloutFloors(run.resources)) {
            const tg = named(run, "aws:lb/targetGroup:TargetGroup", f.targetGroup).inputs;
            expect(f.healthSeconds, f.service).to.equal(tg.healthCheck.interval * tg.healthCheck.healthyThreshold + tg.deregistrationDelay);
            const svc = named(run, "aws:ecs/service:Service", f.service).inputs.deploymentConfiguration ?? {};
            const bake = 60 * (Number(svc.bakeTimeInMinutes ?? 0) + Number(svc.canaryConfiguration?.canaryBakeTimeInMinutes ?? 0));
            expect(f.bakeSeconds, f.service).to.equal(f.strategy === "ROLLING" ? 0 : bake);
            expect(f.awsDefaultSeconds).to.equal(450);
        }
    };

    it("dev: app 40 s, GitLab 90 s, against 450 s with AWS's defaults", async () => {
        const run = await stackRun("dev");
        check(run);
        expect(rolloutFloors(run.resources).map((f) => [f.service, f.floorSeconds])).to.deep.equal([
            ["app", 40],
            ["gitlab", 90],
        ]);
        expect(AWS_DEFAULT_FLOOR_SECONDS).to.equal(30 * 5 + 300);
    });

    it("prod: the app's canary (40 s + 5 + 10 min of bake) and GitLab's web tier", async () => {
        const run = await stackRun("prod");
        check(run);
        expect(rolloutFloors(run.resources).map((f) => [f.service, f.strategy, f.floorSeconds])).to.deep.equal([
            ["app", "CANARY", 940],
            ["gitlab-web", "ROLLING", 90],
        ]);
    });
});

describe("architecture picture (tools/planning/architecture.ts), from the graph", () => {
    const subnetsOf = (run: StackRun) => subnetTiers(run.outputs);

    it("prod: every service, load balancer, database and cache is a node, in its subnet tier", async () => {
        const run = await stackRun("prod");
        const a = architecture("prod", run.resources, subnetsOf(run));
        const tier = (id: string) => a.nodes.find((x) => x.id === id)?.tier;
        for (const s of ofType(run, "aws:ecs/service:Service")) {
            expect(tier(`svc_${s.name}`), s.name).to.equal("private");
        }
        for (const lb of ofType(run, "aws:lb/loadBalancer:LoadBalancer")) {
            expect(tier(`lb_${lb.name}`), lb.name).to.equal("public");
        }
        for (const db of ofType(run, "aws:rds/instance:Instance")) {
            expect(tier(`db_${db.name}`), db.name).to.equal("isolated");
        }
        expect(tier("cache_gitlab-redis")).to.equal("isolated");
        expect(tier("asg_runner-workers")).to.equal("private");
    });

    it("prod: an edge for each security group rule between two of them, with its port", async () => {
        const run = await stackRun("prod");
        const a = architecture("prod", run.resources, subnetsOf(run));
        const edge = (from: string, to: string) => a.edges.find((e) => e.from === from && e.to === to)?.label;
        expect(edge("internet", "lb_public")).to.equal("tcp/443, tcp/80");
        expect(edge("lb_public", "svc_app")).to.equal("tcp/8000");
        expect(edge("svc_app", "db_app-db")).to.equal("tcp/5432");
        expect(edge("svc_gitlab-web", "cache_gitlab-redis")).to.equal("tcp/6379");
        expect(edge("svc_runner", "asg_runner-workers")).to.equal("tcp/22");
        // Nothing from the internet reaches a task or a database directly.
        expect(a.edges.filter((e) => e.from === "internet" && e.kind === "network").map((e) => e.to).sort()).to.deep.equal(["lb_gitlab-ssh", "lb_public"]);
        // Tasks without a service (the scheduled backup, the migrate step) and the VPC range are drawn too.
        expect(edge("sg_gitlab-backup-tasks", "db_gitlab-db")).to.equal("tcp/5432");
        expect(edge("cidr_10.30.0.0/16", "endpoints")).to.equal("tcp/443");
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: every ingress rule between two different groups, or from a CIDR, is exactly one edge's`, async () => {
            const run = await stackRun(stack);
            const a = architecture(stack, run.resources, subnetsOf(run));
            const rules = ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
            const nodeOfGroup = (urn: string): string | undefined => a.groups[urn];
            const pairs = new Set<string>();
            for (const r of rules) {
                const to = nodeOfGroup(r.propertyDependencies.securityGroupId[0]);
                const ref = r.propertyDependencies.referencedSecurityGroupId?.[0];
                const from = ref ? nodeOfGroup(ref) : r.inputs.cidrIpv4 === "0.0.0.0/0" ? "internet" : `cidr_${r.inputs.cidrIpv4}`;
                expect(to, `${r.name}: its group has no node`).to.be.a("string");
                expect(from, `${r.name}: its source has no node`).to.be.a("string");
                if (from !== to) {
                    pairs.add(`${from} -> ${to}`);
                }
            }
            expect(new Set(a.edges.filter((e) => e.kind === "network").map((e) => `${e.from} -> ${e.to}`))).to.deep.equal(pairs);
        });
    }

});
