/**
 * The stack's CloudWatch dashboard as data (pure): the widgets, their AWS
 * namespaces, metric names and dimensions, from the resolved names and ids of
 * the resources they watch. The component (index.ts) resolves those and
 * renders this body as the dashboard's JSON.
 *
 * Metric names and dimensions are AWS's own: ALB (AWS/ApplicationELB by
 * TargetGroup and LoadBalancer), ECS (AWS/ECS and ECS/ContainerInsights by
 * ClusterName and ServiceName), RDS (AWS/RDS by DBInstanceIdentifier),
 * ElastiCache (AWS/ElastiCache by CacheClusterId), EC2 by
 * AutoScalingGroupName, EBS by VolumeId, NAT (AWS/NATGateway by
 * NatGatewayId), WAF (AWS/WAFV2 by WebACL, Region and Rule), AWS Backup
 * (AWS/Backup by BackupVaultName).
 */

/** One database the dashboard watches, with the lines its connection graph marks. */
export interface DatabaseFacts {
    /** What the widget titles call it ("App", "GitLab"). */
    readonly label: string;
    readonly identifier: string;
    /** max_connections of the instance; undefined: unknown, no line. */
    readonly maxConnections?: number;
    /** The most connections the config's budget check counts on (clients at their ceiling during a deployment, plus the reserve). */
    readonly connectionBudget: number;
}

/** Everything the dashboard names, resolved. */
export interface DashboardFacts {
    readonly region: string;
    /** The ALB's ARN suffix (app/<name>/<id>). */
    readonly loadBalancer: string;
    readonly cluster: string;
    readonly app: {
        readonly service: string;
        /** Target groups by ARN suffix (targetgroup/<name>/<id>): the live one, or blue and green. */
        readonly targetGroups: readonly string[];
        /** The CPU percent the service's autoscaling tracks. */
        readonly cpuTarget: number;
    };
    readonly databases: readonly DatabaseFacts[];
    readonly gitlab: {
        readonly topology: "single" | "split";
        /** The service behind the ALB: the single task, or the web tier. */
        readonly webService: string;
        readonly sidekiqService?: string;
        readonly targetGroups: { readonly web: string; readonly registry: string };
        /** Split: Valkey's member clusters (CacheClusterId). */
        readonly valkeyClusters?: readonly string[];
        /** Split with Gitaly on EBS: its host's group and its volume. */
        readonly gitaly?: { readonly autoScalingGroup: string; readonly volumeId: string };
    };
    readonly natGateways: readonly string[];
    /** The WAF web ACL's name; undefined without WAF. */
    readonly webAcl?: string;
    /** AWS Backup vaults whose failed jobs to count. */
    readonly backupVaults: readonly string[];
}

type Dimensions = Readonly<Record<string, string>>;

/** One line of a metric widget: namespace, metric, its dimensions, how to aggregate it. */
export interface MetricLine {
    readonly namespace: string;
    readonly metric: string;
    readonly dimensions: Dimensions;
    readonly stat: string;
    readonly label: string;
}

export interface Annotation {
    readonly label: string;
    readonly value: number;
}

/** A widget before placement. */
export type WidgetSpec =
    | { readonly kind: "metric"; readonly title: string; readonly lines: readonly MetricLine[]; readonly annotations?: readonly Annotation[]; readonly width?: number }
    | { readonly kind: "text"; readonly title: string; readonly markdown: string; readonly width?: number; readonly height?: number };

/** A widget as CloudWatch's dashboard body has it. */
export interface Widget {
    readonly type: "metric" | "text";
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: Record<string, unknown>;
}

/** One minute: ALB, WAF and Container Insights report every minute. */
export const PERIOD_SECONDS = 60;

const line = (namespace: string, metric: string, dimensions: Dimensions, stat: string, label: string): MetricLine => ({ namespace, metric, dimensions, stat, label });
const heading = (title: string): WidgetSpec => ({ kind: "text", title, markdown: `## ${title}`, width: 24, height: 1 });

/** ALB requests and target 5xx of each target group. */
function albTraffic(f: DashboardFacts, groups: readonly { readonly label: string; readonly arnSuffix: string }[]): MetricLine[] {
    return groups.flatMap((g) => {
        const d = { TargetGroup: g.arnSuffix, LoadBalancer: f.loadBalancer };
        return [line("AWS/ApplicationELB", "RequestCount", d, "Sum", `${g.label} requests`), line("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", d, "Sum", `${g.label} target 5xx`)];
    });
}

function ecsUtilization(f: DashboardFacts, services: readonly { readonly label: string; readonly name: string }[]): MetricLine[] {
    return services.flatMap((s) => {
        const d = { ClusterName: f.cluster, ServiceName: s.name };
        return [line("AWS/ECS", "CPUUtilization", d, "Average", `${s.label} CPU %`), line("AWS/ECS", "MemoryUtilization", d, "Average", `${s.label} memory %`)];
    });
}

function runningTasks(f: DashboardFacts, services: readonly { readonly label: string; readonly name: string }[]): MetricLine[] {
    return services.map((s) => line("ECS/ContainerInsights", "RunningTaskCount", { ClusterName: f.cluster, ServiceName: s.name }, "Average", `${s.label} tasks`));
}

function appWidgets(f: DashboardFacts): WidgetSpec[] {
    const groups = f.app.targetGroups.map((arnSuffix) => ({ label: f.app.targetGroups.length > 1 ? arnSuffix.split("/")[1] : "app", arnSuffix }));
    const service = [{ label: "app", name: f.app.service }];
    return [
        heading("App"),
        { kind: "metric", title: "App: requests and target 5xx", lines: albTraffic(f, groups) },
        {
            kind: "metric",
            title: "App: target response time p50/p99",
            lines: groups.flatMap((g) =>
                ["p50", "p99"].map((p) => line("AWS/ApplicationELB", "TargetResponseTime", { TargetGroup: g.arnSuffix, LoadBalancer: f.loadBalancer }, p, `${g.label} ${p}`)),
            ),
        },
        {
            // When no target is healthy or all time out, the ALB answers 502/503/504 itself:
            // those are not target 5xx, and only this metric (the load balancer's, all hosts) sees them.
            kind: "metric",
            title: "App: healthy targets, and the load balancer's own 5xx",
            lines: [
                ...groups.map((g) => line("AWS/ApplicationELB", "HealthyHostCount", { TargetGroup: g.arnSuffix, LoadBalancer: f.loadBalancer }, "Minimum", `${g.label} healthy`)),
                line("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", { LoadBalancer: f.loadBalancer }, "Sum", "load balancer 5xx (all hosts)"),
            ],
        },
        { kind: "metric", title: "App: running tasks", lines: runningTasks(f, service) },
        { kind: "metric", title: "App: CPU and memory", lines: ecsUtilization(f, service), annotations: [{ label: "autoscaling CPU target", value: f.app.cpuTarget }] },
    ];
}

function databaseWidgets(db: DatabaseFacts): WidgetSpec[] {
    const d = { DBInstanceIdentifier: db.identifier };
    const limits: Annotation[] = [
        ...(db.maxConnections !== undefined ? [{ label: "max_connections", value: db.maxConnections }] : []),
        { label: "connection budget at peak", value: db.connectionBudget },
    ];
    return [
        { kind: "metric", title: `${db.label} database: CPU`, lines: [line("AWS/RDS", "CPUUtilization", d, "Average", "CPU %")] },
        { kind: "metric", title: `${db.label} database: connections`, lines: [line("AWS/RDS", "DatabaseConnections", d, "Maximum", "connections")], annotations: limits },
        { kind: "metric", title: `${db.label} database: free storage`, lines: [line("AWS/RDS", "FreeStorageSpace", d, "Minimum", "free bytes")] },
    ];
}

function gitlabWidgets(f: DashboardFacts): WidgetSpec[] {
    const g = f.gitlab;
    const groups = [
        { label: "web", arnSuffix: g.targetGroups.web },
        { label: "registry", arnSuffix: g.targetGroups.registry },
    ];
    const services = [{ label: g.topology === "split" ? "web" : "gitlab", name: g.webService }, ...(g.sidekiqService ? [{ label: "sidekiq", name: g.sidekiqService }] : [])];
    const widgets: WidgetSpec[] = [
        heading("GitLab"),
        { kind: "metric", title: "GitLab: requests and target 5xx by host", lines: albTraffic(f, groups) },
        {
            kind: "metric",
            title: "GitLab: healthy hosts",
            lines: groups.map((t) => line("AWS/ApplicationELB", "HealthyHostCount", { TargetGroup: t.arnSuffix, LoadBalancer: f.loadBalancer }, "Minimum", `${t.label} healthy`)),
        },
        { kind: "metric", title: "GitLab: running tasks", lines: runningTasks(f, services) },
        { kind: "metric", title: "GitLab: CPU and memory", lines: ecsUtilization(f, services) },
    ];
    if (g.valkeyClusters && g.valkeyClusters.length > 0) {
        // Sorted: the member clusters come from a set, and a reordering is no change to the dashboard.
        const per = (metric: string, stat: string, what: string) => [...g.valkeyClusters!].sort().map((c) => line("AWS/ElastiCache", metric, { CacheClusterId: c }, stat, `${c} ${what}`));
        widgets.push(
            { kind: "metric", title: "GitLab: Valkey CPU", lines: [...per("CPUUtilization", "Average", "host CPU %"), ...per("EngineCPUUtilization", "Average", "engine CPU %")] },
            { kind: "metric", title: "GitLab: Valkey memory and connections", lines: [...per("DatabaseMemoryUsagePercentage", "Maximum", "memory %"), ...per("CurrConnections", "Maximum", "connections")] },
        );
    }
    if (g.gitaly) {
        const v = { VolumeId: g.gitaly.volumeId };
        widgets.push(
            { kind: "metric", title: "GitLab: Gitaly host CPU", lines: [line("AWS/EC2", "CPUUtilization", { AutoScalingGroupName: g.gitaly.autoScalingGroup }, "Average", "CPU %")] },
            { kind: "metric", title: "GitLab: Gitaly volume", lines: [line("AWS/EBS", "VolumeWriteBytes", v, "Sum", "bytes written"), line("AWS/EBS", "VolumeQueueLength", v, "Average", "queue length")] },
        );
    }
    widgets.push({
        kind: "text",
        title: "GitLab: Sidekiq queue latency",
        markdown: "### GitLab: Sidekiq queue latency\nNot collected yet: GitLab publishes no CloudWatch metric for it, and nothing in this stack exports one.",
        height: 2,
    });
    return widgets;
}

function edgeWidgets(f: DashboardFacts): WidgetSpec[] {
    const widgets: WidgetSpec[] = [
        heading("Network, protection, backups"),
        { kind: "metric", title: "NAT gateways: bytes out to destination", lines: [...f.natGateways].sort().map((id) => line("AWS/NATGateway", "BytesOutToDestination", { NatGatewayId: id }, "Sum", id)) },
    ];
    if (f.webAcl !== undefined) {
        widgets.push({ kind: "metric", title: "WAF: blocked requests", lines: [line("AWS/WAFV2", "BlockedRequests", { WebACL: f.webAcl, Region: f.region, Rule: "ALL" }, "Sum", "blocked")] });
    }
    if (f.backupVaults.length > 0) {
        widgets.push({ kind: "metric", title: "Backups: failed jobs", lines: f.backupVaults.map((v) => line("AWS/Backup", "NumberOfBackupJobsFailed", { BackupVaultName: v }, "Sum", v)) });
    }
    return widgets;
}

/** Every widget, in order: app, databases, GitLab, the network's edge. */
export function dashboardWidgets(f: DashboardFacts): WidgetSpec[] {
    return [...appWidgets(f), heading("Databases"), ...f.databases.flatMap(databaseWidgets), ...gitlabWidgets(f), ...edgeWidgets(f)];
}

/** A metric line as CloudWatch wants it: [namespace, metric, dimension name, value, ..., options]. */
function metricArray(l: MetricLine): unknown[] {
    return [l.namespace, l.metric, ...Object.entries(l.dimensions).flat(), { stat: l.stat, label: l.label }];
}

const GRID = 24;
const METRIC_WIDTH = 12;
const METRIC_HEIGHT = 6;

/** The widgets placed left to right on CloudWatch's 24-column grid, a full-width one starting a new row. */
export function layout(specs: readonly WidgetSpec[], region: string): Widget[] {
    let x = 0;
    let y = 0;
    let rowHeight = 0;
    return specs.map((s) => {
        const width = s.width ?? METRIC_WIDTH;
        const height = s.kind === "text" ? (s.height ?? 1) : METRIC_HEIGHT;
        if (x + width > GRID) {
            x = 0;
            y += rowHeight;
            rowHeight = 0;
        }
        const properties: Record<string, unknown> =
            s.kind === "text"
                ? { markdown: s.markdown }
                : {
                      title: s.title,
                      region,
                      view: "timeSeries",
                      stacked: false,
                      period: PERIOD_SECONDS,
                      metrics: s.lines.map(metricArray),
                      ...(s.annotations && s.annotations.length > 0 ? { annotations: { horizontal: s.annotations.map((a) => ({ label: a.label, value: a.value })) } } : {}),
                  };
        const placed: Widget = { type: s.kind, x, y, width, height, properties };
        x += width;
        rowHeight = Math.max(rowHeight, height);
        return placed;
    });
}

/** The dashboard body (CloudWatch's JSON, as an object). */
export function dashboardBody(f: DashboardFacts): { readonly widgets: Widget[] } {
    return { widgets: layout(dashboardWidgets(f), f.region) };
}

/** A placed widget's title: a metric widget's `title`, a text widget's first line without its heading marks. */
export function widgetTitle(w: { readonly type: string; readonly properties: Record<string, unknown> }): string {
    return w.type === "text" ? String(w.properties.markdown ?? "").split("\n")[0].replace(/^#+\s*/, "") : String(w.properties.title ?? "");
}

/** The console address of a dashboard. */
export function dashboardUrl(region: string, name: string): string {
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${name}`;
}
