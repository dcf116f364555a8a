import { expect } from "chai";
import { parseConfig } from "../config";
import { gitlabFleets } from "../config/sections/gitlabBudget";
import { appConnections } from "../components/app/facts";
import { DashboardFacts, dashboardBody, dashboardWidgets, widgetTitle } from "../components/dashboard/facts";
import { connectionDemand, DEPLOY_MAXIMUM_PERCENT, gitlabMaxConnections } from "../components/gitlab/facts";
import { rdsDefaultMaxConnections, RESERVED_CONNECTIONS } from "../facts/rds";
import { named, ofType, readStackConfig, StackRun, stackRun, STACKS } from "../sim/harness";

/*
 * The stack's CloudWatch dashboard: every graph names a resource the stack
 * really has (a dimension off by one character shows an empty graph and no
 * error), each topology gets the widgets of what it runs, and the lines it
 * marks are the config's own targets and budgets.
 */

const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
const T = {
    lb: "aws:lb/loadBalancer:LoadBalancer",
    tg: "aws:lb/targetGroup:TargetGroup",
    cluster: "aws:ecs/cluster:Cluster",
    service: "aws:ecs/service:Service",
    db: "aws:rds/instance:Instance",
    redis: "aws:elasticache/replicationGroup:ReplicationGroup",
    asg: "aws:autoscaling/group:Group",
    volume: "aws:ebs/volume:Volume",
    vpc: "awsx:ec2:Vpc",
    acl: "aws:wafv2/webAcl:WebAcl",
    vault: "aws:backup/vault:Vault",
};

interface Line {
    readonly namespace: string;
    readonly metric: string;
    readonly dimensions: Record<string, string>;
    readonly stat: string;
}

interface Widget {
    readonly type: string;
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: Record<string, any>;
}

function bodyOf(run: StackRun): { widgets: Widget[] } {
    return JSON.parse(named(run, DASHBOARD, "overview-dashboard").inputs.dashboardBody);
}

/** A metric array [namespace, metric, name, value, ..., options] as a line. */
function linesOf(w: Widget): Line[] {
    return ((w.properties.metrics ?? []) as unknown[][]).map((m) => {
        const options = m[m.length - 1] as { stat: string };
        const pairs = m.slice(2, -1) as string[];
        const dimensions: Record<string, string> = {};
        for (let i = 0; i < pairs.length; i += 2) {
            dimensions[pairs[i]] = pairs[i + 1];
        }
        return { namespace: String(m[0]), metric: String(m[1]), dimensions, stat: options.stat };
    });
}

function widget(run: StackRun, title: string): Widget {
    const found = bodyOf(run).widgets.filter((w) => widgetTitle(w) === title);
    expect(found, title).to.have.length(1);
    return found[0];
}

/** Every value each dimension may take in this run: the names and ids of the stack's own resources. */
function knownDimensions(run: StackRun, region: string): Record<string, Set<string>> {
    const values = (type: string, pick: (r: StackRun["resources"][number]) => unknown) => new Set(ofType(run, type).flatMap((r) => [pick(r)].flat().map(String)));
    return {
        LoadBalancer: values(T.lb, (r) => (r.inputs.loadBalancerType === "application" ? r.state.arnSuffix : [])),
        TargetGroup: values(T.tg, (r) => r.state.arnSuffix),
        ClusterName: values(T.cluster, (r) => r.state.name),
        ServiceName: values(T.service, (r) => r.state.name),
        DBInstanceIdentifier: values(T.db, (r) => r.inputs.identifier),
        CacheClusterId: values(T.redis, (r) => r.state.memberClusters),
        AutoScalingGroupName: values(T.asg, (r) => r.state.name),
        VolumeId: values(T.volume, (r) => r.id),
        NatGatewayId: values(T.vpc, (r) => (r.state.natGateways as { id: string }[]).map((g) => g.id)),
        // The ACL's own metric name (its visibility config), which its metrics carry as WebACL.
        WebACL: values(T.acl, (r) => r.inputs.visibilityConfig.metricName),
        BackupVaultName: values(T.vault, (r) => r.inputs.name),
        Region: new Set([region]),
        Rule: new Set(["ALL"]),
    };
}

describe("the stack's CloudWatch dashboard", () => {
    for (const stack of STACKS) {
        describe(stack, () => {
            let run: StackRun;
            const raw = readStackConfig(stack);
            const cfg = parseConfig(raw, stack);
            before(async () => {
                run = await stackRun(stack);
                expect(run.error).to.equal(undefined);
            });

            it("is one dashboard, the child of a platform:dashboard:Dashboard, and the dashboardUrl output opens it in the stack's region", () => {
                const [d, ...others] = ofType(run, DASHBOARD);
                expect(others).to.deep.equal([]);
                const parent = ofType(run, "platform:dashboard:Dashboard");
                expect(parent.map((p) => p.urn)).to.deep.equal([d.parentUrn]);
                const name = String(d.inputs.dashboardName);
                expect(name).to.equal(`platform-${stack}-overview`);
                const region = String(raw["aws:region"]);
                expect(run.outputs.dashboardUrl).to.equal(`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${name}`);
                expect(Object.keys(run.outputs).at(-1)).to.equal("dashboardUrl");
            });

            it("every metric's dimensions name a resource of the stack, and every widget graphs the stack's region", () => {
                const known = knownDimensions(run, String(raw["aws:region"]));
                const metrics = bodyOf(run).widgets.filter((w) => w.type === "metric");
                expect(metrics.length).to.be.greaterThan(10);
                for (const w of metrics) {
                    expect(w.properties.region, w.properties.title).to.equal(raw["aws:region"]);
                    const lines = linesOf(w);
                    expect(lines.length, w.properties.title).to.be.greaterThan(0);
                    for (const l of lines) {
                        expect(Object.keys(l.dimensions).length, `${w.properties.title}: ${l.metric}`).to.be.greaterThan(0);
                        for (const [dim, value] of Object.entries(l.dimensions)) {
                            expect(known, `${w.properties.title}: ${l.metric}`).to.have.property(dim);
                            expect([...known[dim]], `${w.properties.title}: ${l.metric} ${dim}`).to.include(value);
                        }
                    }
                }
            });

            it("the app's graphs name its own target groups, ALB, service and database", () => {
                const lb = ofType(run, T.lb).find((r) => r.name === "public")!;
                const groups = ofType(run, T.tg).filter((r) => r.parentUrn?.endsWith("platform:app:DjangoService::app"));
                expect(groups.length).to.be.greaterThan(0);
                const requests = linesOf(widget(run, "App: requests and target 5xx"));
                expect(requests.map((l) => l.metric)).to.include.members(["RequestCount", "HTTPCode_Target_5XX_Count"]);
                expect([...new Set(requests.map((l) => l.dimensions.TargetGroup))].sort()).to.deep.equal(groups.map((g) => g.state.arnSuffix).sort());
                for (const l of requests) {
                    expect(l.dimensions.LoadBalancer).to.equal(lb.state.arnSuffix);
                }
                const latency = linesOf(widget(run, "App: target response time p50/p99"));
                expect(latency.map((l) => `${l.metric} ${l.stat}`)).to.include.members(["TargetResponseTime p50", "TargetResponseTime p99"]);
                const service = named(run, T.service, "app").state.name;
                const cluster = named(run, T.cluster, "cluster").state.name;
                for (const title of ["App: running tasks", "App: CPU and memory"]) {
                    for (const l of linesOf(widget(run, title))) {
                        expect(l.dimensions, title).to.deep.equal({ ClusterName: cluster, ServiceName: service });
                    }
                }
                expect(linesOf(widget(run, "App: running tasks"))[0]).to.include({ namespace: "ECS/ContainerInsights", metric: "RunningTaskCount" });
                // The ALB's own 502/503/504 (no healthy target, timeouts) by the load balancer alone, and each group's healthy targets.
                const health = linesOf(widget(run, "App: healthy targets, and the load balancer's own 5xx"));
                expect(health.filter((l) => l.metric === "HTTPCode_ELB_5XX_Count").map((l) => l.dimensions)).to.deep.equal([{ LoadBalancer: lb.state.arnSuffix }]);
                expect(health.filter((l) => l.metric === "HealthyHostCount").map((l) => l.dimensions.TargetGroup).sort()).to.deep.equal(groups.map((g) => g.state.arnSuffix).sort());
                const identifier = named(run, T.db, "app-db").inputs.identifier;
                for (const title of ["App database: CPU", "App database: connections", "App database: free storage"]) {
                    expect(linesOf(widget(run, title)).map((l) => l.dimensions), title).to.deep.equal([{ DBInstanceIdentifier: identifier }]);
                }
                expect(linesOf(widget(run, "GitLab database: connections"))[0].dimensions).to.deep.equal({ DBInstanceIdentifier: named(run, T.db, "gitlab-db").inputs.identifier });
            });

            it("GitLab's graphs name its web and registry target groups and its front service", () => {
                const byHost = linesOf(widget(run, "GitLab: requests and target 5xx by host"));
                const groups = [named(run, T.tg, "gitlab-web"), named(run, T.tg, "gitlab-registry")].map((g) => g.state.arnSuffix);
                expect([...new Set(byHost.map((l) => l.dimensions.TargetGroup))]).to.deep.equal(groups);
                expect(linesOf(widget(run, "GitLab: healthy hosts")).map((l) => [l.metric, l.dimensions.TargetGroup])).to.deep.equal(groups.map((g) => ["HealthyHostCount", g]));
                const services = linesOf(widget(run, "GitLab: running tasks")).map((l) => l.dimensions.ServiceName);
                const expected = cfg.gitlab.topology === "split" ? ["gitlab-web", "gitlab-sidekiq"] : ["gitlab"];
                expect(services).to.deep.equal(expected.map((n) => named(run, T.service, n).state.name));
            });

            it("the lines it marks are the config's: the app's autoscaling CPU target, each database's max_connections and connection budget", () => {
                const cpu = widget(run, "App: CPU and memory").properties.annotations.horizontal;
                expect(cpu).to.deep.equal([{ label: "autoscaling CPU target", value: cfg.app.autoscaling.cpuTarget }]);
                const appLimit = rdsDefaultMaxConnections(cfg.database.instanceClass)!;
                const appBudget = appConnections(cfg.app.maxCount, cfg.app.cpu) + RESERVED_CONNECTIONS;
                expect(widget(run, "App database: connections").properties.annotations.horizontal).to.deep.equal([
                    { label: "max_connections", value: appLimit },
                    { label: "connection budget at peak", value: appBudget },
                ]);
                const gitlabLimit = gitlabMaxConnections(cfg.gitlab.database.instanceClass)!;
                const gitlabBudget = connectionDemand(gitlabFleets(cfg.gitlab)!, DEPLOY_MAXIMUM_PERCENT[cfg.gitlab.topology]).need;
                expect(widget(run, "GitLab database: connections").properties.annotations.horizontal).to.deep.equal([
                    { label: "max_connections", value: gitlabLimit },
                    { label: "connection budget at peak", value: gitlabBudget },
                ]);
                // The config check holds: each budget fits under its limit.
                expect(appBudget).to.be.at.most(appLimit);
                expect(gitlabBudget).to.be.at.most(gitlabLimit);
            });

            it("every backup vault's failed jobs and every NAT gateway's traffic are on it", () => {
                const vaults = ofType(run, T.vault).map((v) => v.inputs.name);
                expect(vaults.length).to.be.greaterThan(0);
                expect(linesOf(widget(run, "Backups: failed jobs")).map((l) => [l.namespace, l.metric, l.dimensions.BackupVaultName])).to.have.deep.members(
                    vaults.map((v) => ["AWS/Backup", "NumberOfBackupJobsFailed", v]),
                );
                const gateways = (ofType(run, T.vpc)[0].state.natGateways as { id: string }[]).map((g) => g.id);
                expect(gateways).to.have.length(cfg.network.natGateways === "OnePerAz" ? cfg.network.availabilityZones : 1);
                expect(linesOf(widget(run, "NAT gateways: bytes out to destination")).map((l) => l.dimensions.NatGatewayId)).to.deep.equal(gateways);
            });

            const split = stack === "prod";
            it(split ? "has the Valkey, Gitaly host and WAF widgets (split topology, Gitaly on EBS, WAF on)" : "has no Valkey, Gitaly host or WAF widget (single topology, WAF off)", () => {
                const titles = bodyOf(run).widgets.map(widgetTitle);
                const optional = ["GitLab: Valkey CPU", "GitLab: Valkey memory and connections", "GitLab: Gitaly host CPU", "GitLab: Gitaly volume", "WAF: blocked requests"];
                if (!split) {
                    expect(titles.filter((t) => optional.includes(t))).to.deep.equal([]);
                    expect(ofType(run, T.redis)).to.deep.equal([]);
                    return;
                }
                expect(titles).to.include.members(optional);
                const members = ofType(run, T.redis)[0].state.memberClusters as string[];
                const valkey = linesOf(widget(run, "GitLab: Valkey CPU"));
                expect(valkey.map((l) => l.metric)).to.have.members([...members.map(() => "CPUUtilization"), ...members.map(() => "EngineCPUUtilization")]);
                expect([...new Set(valkey.map((l) => l.dimensions.CacheClusterId))]).to.deep.equal(members);
                expect(linesOf(widget(run, "GitLab: Valkey memory and connections")).map((l) => l.metric)).to.include.members(["DatabaseMemoryUsagePercentage", "CurrConnections"]);
                const asg = named(run, T.asg, "gitaly").state.name;
                expect(linesOf(widget(run, "GitLab: Gitaly host CPU"))).to.deep.equal([{ namespace: "AWS/EC2", metric: "CPUUtilization", dimensions: { AutoScalingGroupName: asg }, stat: "Average" }]);
                const volume = ofType(run, T.volume)[0].id;
                expect(linesOf(widget(run, "GitLab: Gitaly volume")).map((l) => [l.namespace, l.metric, l.dimensions.VolumeId])).to.deep.equal([
                    ["AWS/EBS", "VolumeWriteBytes", volume],
                    ["AWS/EBS", "VolumeQueueLength", volume],
                ]);
                const acl = ofType(run, T.acl)[0].inputs.visibilityConfig.metricName;
                expect(acl).to.equal(`${ofType(run, T.acl)[0].inputs.name}-all`);
                expect(linesOf(widget(run, "WAF: blocked requests"))).to.deep.equal([
                    { namespace: "AWS/WAFV2", metric: "BlockedRequests", dimensions: { WebACL: acl, Region: raw["aws:region"], Rule: "ALL" }, stat: "Sum" },
                ]);
            });

            it("says Sidekiq's queue latency is not graphed yet instead of showing an empty graph", () => {
                const w = widget(run, "GitLab: Sidekiq queue latency");
                expect(w.type).to.equal("text");
                expect(w.properties.markdown).to.match(/not collected yet/i);
            });
        });
    }

    describe("the widget layout (pure)", () => {
        const facts: DashboardFacts = {
            region: "eu-west-1",
            loadBalancer: "app/lb/1",
            cluster: "c",
            app: { service: "s", targetGroups: ["targetgroup/app/1", "targetgroup/app-green/2"], cpuTarget: 55 },
            databases: [{ label: "App", identifier: "db", connectionBudget: 50 }],
            gitlab: { topology: "single", webService: "g", targetGroups: { web: "targetgroup/w/1", registry: "targetgroup/r/1" } },
            natGateways: ["nat-1"],
            backupVaults: [],
        };

        it("places every widget on the 24-column grid without overlap", () => {
            const widgets = dashboardBody(facts).widgets;
            const cells = new Set<string>();
            for (const w of widgets) {
                expect(w.x + w.width, widgetTitle(w)).to.be.at.most(24);
                for (let x = w.x; x < w.x + w.width; x++) {
                    for (let y = w.y; y < w.y + w.height; y++) {
                        const cell = `${x},${y}`;
                        expect(cells.has(cell), `${widgetTitle(w)} overlaps at ${cell}`).to.equal(false);
                        cells.add(cell);
                    }
                }
            }
        });

        it("a database whose max_connections is unknown gets only its budget's line; no vault, no WAF: no such widget; both canary groups are graphed", () => {
            const body = dashboardBody(facts);
            const connections = body.widgets.find((w) => widgetTitle(w) === "App database: connections")!;
            expect(connections.properties.annotations).to.deep.equal({ horizontal: [{ label: "connection budget at peak", value: 50 }] });
            const titles = dashboardWidgets(facts).map((w) => w.title);
            expect(titles).to.not.include.members(["Backups: failed jobs"]);
            expect(titles).to.not.include("WAF: blocked requests");
            const requests = body.widgets.find((w) => widgetTitle(w) === "App: requests and target 5xx")!;
            expect((requests.properties.metrics as unknown[][]).map((m) => m[3])).to.deep.equal(["targetgroup/app/1", "targetgroup/app/1", "targetgroup/app-green/2", "targetgroup/app-green/2"]);
        });
    });
});
