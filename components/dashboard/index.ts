import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../../aws/context";
import { physicalName } from "../../facts/naming";
import type { DjangoService } from "../app";
import type { Cluster } from "../cluster";
import type { Database } from "../database";
import type { GitalyHost, GitLab } from "../gitlab";
import type { PublicLoadBalancer } from "../loadBalancer";
import type { Network } from "../network";
import { dashboardBody, dashboardUrl } from "./facts";

export { dashboardBody, dashboardUrl, DashboardFacts, widgetTitle } from "./facts";

/** A database on the dashboard, and the connection budget its connection graph marks. */
export interface DashboardDatabase {
    /** What the widget titles call it ("App", "GitLab"). */
    readonly label: string;
    readonly database: Pick<Database, "identifier" | "maxConnections">;
    /** The connections the config's budget check counts on at the peak (its clients at their ceiling during a deployment, plus the reserve). */
    readonly connectionBudget: number;
}

export interface DashboardArgs {
    /** The region (every widget's, and the URL's) and the naming of the dashboard. */
    readonly context: StackContext;
    /** Its NAT gateways. */
    readonly network: Pick<Network, "natGatewayIds">;
    /** The cluster every service runs in (ClusterName). */
    readonly cluster: Pick<Cluster, "clusterName">;
    /** The shared ALB (LoadBalancer) and its WAF web ACL, where it has one. */
    readonly loadBalancer: Pick<PublicLoadBalancer, "arnSuffix" | "webAclMetricName">;
    /** The app: its service, target groups, autoscaling CPU target. */
    readonly app: Pick<DjangoService, "serviceName" | "targetGroupArnSuffixes" | "cpuTarget">;
    /** The databases, in order. */
    readonly databases: readonly DashboardDatabase[];
    /** GitLab: its services, target groups, (split) Valkey, and the backup vault of repositories on EFS. */
    readonly gitlab: Pick<GitLab, "topology" | "serviceName" | "sidekiqServiceName" | "targetGroupArnSuffixes" | "valkey" | "backupVaultName">;
    /** Gitaly's EC2 host, where Gitaly runs on EBS. */
    readonly gitalyHost?: Pick<GitalyHost, "autoScalingGroupName" | "volumeId" | "backupVaultName">;
}

/**
 * One CloudWatch dashboard for the stack: the app's and GitLab's traffic,
 * errors, latency and tasks, both databases against their connection
 * budgets, Valkey and Gitaly's host where the split topology has them, NAT,
 * WAF and backups. Every dimension comes from the resources' own outputs;
 * the widgets themselves are built by facts.ts.
 */
export class Dashboard extends pulumi.ComponentResource {
    readonly dashboardName: pulumi.Output<string>;
    /** The dashboard in the CloudWatch console. */
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: DashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:dashboard:Dashboard", name, {}, opts);
        const a = args;
        const region = a.context.region;
        const g = a.gitlab;
        const facts = pulumi.output({
            region,
            loadBalancer: a.loadBalancer.arnSuffix,
            cluster: a.cluster.clusterName,
            app: { service: a.app.serviceName, targetGroups: a.app.targetGroupArnSuffixes, cpuTarget: a.app.cpuTarget },
            databases: a.databases.map((d) => ({ label: d.label, identifier: d.database.identifier, maxConnections: d.database.maxConnections, connectionBudget: d.connectionBudget })),
            gitlab: {
                topology: g.topology,
                webService: g.serviceName,
                sidekiqService: g.sidekiqServiceName,
                targetGroups: g.targetGroupArnSuffixes,
                valkeyClusters: g.valkey?.cacheClusterIds,
                gitaly: a.gitalyHost ? { autoScalingGroup: a.gitalyHost.autoScalingGroupName, volumeId: a.gitalyHost.volumeId } : undefined,
            },
            natGateways: a.network.natGatewayIds,
            webAcl: a.loadBalancer.webAclMetricName,
            backupVaults: [g.backupVaultName, a.gitalyHost?.backupVaultName].filter((v) => v !== undefined),
        });
        const dashboard = new aws.cloudwatch.Dashboard(
            `${name}-dashboard`,
            {
                dashboardName: physicalName(a.context.naming, name),
                dashboardBody: facts.apply((f) => JSON.stringify(dashboardBody(f))),
            },
            { parent: this },
        );
        this.dashboardName = dashboard.dashboardName;
        this.url = dashboard.dashboardName.apply((n) => dashboardUrl(region, n));
        this.registerOutputs({ dashboardName: this.dashboardName, url: this.url });
    }
}
