import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface ServiceAlarmsArgs {
    readonly topicArn: pulumi.Input<string>;
    readonly clusterName: pulumi.Input<string>;
    readonly serviceName: pulumi.Input<string>;
    readonly loadBalancerArnSuffix: pulumi.Input<string>;
    /**
     * Every target group the service can be behind. With CANARY/BLUE_GREEN ECS
     * moves traffic between two groups, so each alarm combines them: an alarm on
     * one fixed group would go blind after every other deployment.
     */
    readonly targetGroupArnSuffixes: pulumi.Input<string>[];
    readonly http5xxPercent: number;
    /** p99 target response time alarm; undefined: none (git clones are long by nature). */
    readonly p99LatencySeconds?: number;
    readonly cpuPercent: number;
    readonly memoryPercent: number;
    /**
     * For tasks that take minutes to become ready: judge only what ready
     * targets do. The 5xx rate counts a minute only if a target was healthy
     * all of it (with none healthy, the ALB sends requests to every target,
     * booting ones included), and instead of "any unhealthy target" (every
     * booting task is one) the alarm is fewer than `minHealthy` healthy
     * targets for `periods` whole minutes, which notifies and never rolls
     * back (a rollout that keeps its old tasks cannot trip it, so it cannot
     * judge one). Only for a single target group.
     */
    readonly slowStart?: { readonly minHealthy: number; readonly periods: number };
}

export interface ServiceAlarms {
    /** Alarms that should roll a deployment back (5xx rate; unhealthy hosts unless slowStart). */
    readonly deploymentAlarms: aws.cloudwatch.MetricAlarm[];
    readonly all: aws.cloudwatch.MetricAlarm[];
}

type Query = aws.types.input.cloudwatch.MetricAlarmMetricQuery;

/** The period of every load-balancer metric the service alarms read. */
export const TARGET_METRIC_PERIOD_SECONDS = 60;

function tgMetric(id: string, metricName: string, stat: string, lb: pulumi.Input<string>, tg: pulumi.Input<string>): Query {
    return {
        id,
        returnData: false,
        metric: { namespace: "AWS/ApplicationELB", metricName, stat, period: TARGET_METRIC_PERIOD_SECONDS, dimensions: { LoadBalancer: lb, TargetGroup: tg } },
    };
}

/** Metric-math alarms for an ALB-fronted ECS service, all notifying one SNS topic. */
export function serviceAlarms(name: string, args: ServiceAlarmsArgs, opts: pulumi.CustomResourceOptions): ServiceAlarms {
    const tgs = args.targetGroupArnSuffixes;
    const ids = tgs.map((_, i) => i);
    const sumOf = (prefix: string): string => ids.map((i) => `FILL(${prefix}${i},0)`).join("+");
    const common = {
        alarmActions: [args.topicArn],
        okActions: [args.topicArn],
        // No traffic is not an outage; the unhealthy-host alarm catches dead targets.
        treatMissingData: "notBreaching",
    };
    const alarm = (suffix: string, a: Partial<aws.cloudwatch.MetricAlarmArgs> & Pick<aws.cloudwatch.MetricAlarmArgs, "comparisonOperator" | "threshold" | "evaluationPeriods">) =>
        new aws.cloudwatch.MetricAlarm(`${name}-${suffix}`, { ...common, ...a }, opts);

    const healthyGate = args.slowStart ? [tgMetric("h0", "HealthyHostCount", "Minimum", args.loadBalancerArnSuffix, tgs[0])] : [];
    const rate = `100*(${sumOf("e")})/(${sumOf("r")})`;
    const http5xx = alarm("5xx-rate", {
        alarmDescription: `${name}: target 5xx above ${args.http5xxPercent}% of requests${args.slowStart ? " (minutes with a healthy target)" : ""}`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: args.http5xxPercent,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        metricQueries: [
            { id: "rate", expression: args.slowStart ? `IF(FILL(h0,0)>=1,${rate},0)` : rate, label: "5xx %", returnData: true },
            ...ids.map((i) => tgMetric(`e${i}`, "HTTPCode_Target_5XX_Count", "Sum", args.loadBalancerArnSuffix, tgs[i])),
            ...ids.map((i) => tgMetric(`r${i}`, "RequestCount", "Sum", args.loadBalancerArnSuffix, tgs[i])),
            ...healthyGate,
        ],
    });
    const hosts = args.slowStart ? healthyHostsBelow(alarm, name, args.slowStart, tgMetric("h0", "HealthyHostCount", "Maximum", args.loadBalancerArnSuffix, tgs[0])) : unhealthyHosts(alarm, name, args, ids);
    const latency =
        args.p99LatencySeconds === undefined
            ? []
            : [
                  alarm("p99-latency", {
                      alarmDescription: `${name}: target p99 latency above ${args.p99LatencySeconds}s`,
                      comparisonOperator: "GreaterThanThreshold",
                      threshold: args.p99LatencySeconds,
                      evaluationPeriods: 5,
                      datapointsToAlarm: 3,
                      metricQueries: [
                          { id: "p99", expression: `MAX([${ids.map((i) => `l${i}`).join(",")}])`, label: "p99 seconds", returnData: true },
                          ...ids.map((i) => tgMetric(`l${i}`, "TargetResponseTime", "p99", args.loadBalancerArnSuffix, tgs[i])),
                      ],
                  }),
              ];
    const [cpu, memory] = ecsServiceAlarms(name, args, opts);
    return { deploymentAlarms: args.slowStart ? [http5xx] : [http5xx, hosts], all: [http5xx, hosts, ...latency, cpu, memory] };
}

type AlarmOf = (suffix: string, a: Partial<aws.cloudwatch.MetricAlarmArgs> & Pick<aws.cloudwatch.MetricAlarmArgs, "comparisonOperator" | "threshold" | "evaluationPeriods">) => aws.cloudwatch.MetricAlarm;

/** Any unhealthy target in 2 of 3 minutes, in any of the groups. */
function unhealthyHosts(alarm: AlarmOf, name: string, args: ServiceAlarmsArgs, ids: number[]): aws.cloudwatch.MetricAlarm {
    return alarm("unhealthy-hosts", {
        alarmDescription: `${name}: unhealthy targets`,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        metricQueries: [
            { id: "unhealthy", expression: `MAX([${ids.map((i) => `FILL(u${i},0)`).join(",")}])`, label: "unhealthy hosts", returnData: true },
            ...ids.map((i) => tgMetric(`u${i}`, "UnHealthyHostCount", "Maximum", args.loadBalancerArnSuffix, args.targetGroupArnSuffixes[i])),
        ],
    });
}

/**
 * Fewer healthy targets than the minimum in every one of `periods` minutes.
 * Maximum: a minute breaches only if the count stayed below all of it, so a
 * dip shorter than `periods` minutes never alarms.
 */
function healthyHostsBelow(alarm: AlarmOf, name: string, floor: { readonly minHealthy: number; readonly periods: number }, healthy: Query): aws.cloudwatch.MetricAlarm {
    return alarm("healthy-hosts", {
        alarmDescription: `${name}: fewer than ${floor.minHealthy} healthy targets for ${floor.periods} minutes`,
        comparisonOperator: "LessThanThreshold",
        threshold: floor.minHealthy,
        evaluationPeriods: floor.periods,
        datapointsToAlarm: floor.periods,
        metricQueries: [{ id: "healthy", expression: "FILL(h0,0)", label: "healthy hosts", returnData: true }, healthy],
    });
}

/** An ECS service's average CPU and memory above their thresholds for 4 of 5 minutes. */
export function ecsServiceAlarms(
    name: string,
    args: Pick<ServiceAlarmsArgs, "topicArn" | "clusterName" | "serviceName" | "cpuPercent" | "memoryPercent">,
    opts: pulumi.CustomResourceOptions,
): [aws.cloudwatch.MetricAlarm, aws.cloudwatch.MetricAlarm] {
    const ecs = (suffix: string, metricName: string, threshold: number) =>
        new aws.cloudwatch.MetricAlarm(
            `${name}-${suffix}`,
            {
                alarmActions: [args.topicArn],
                okActions: [args.topicArn],
                treatMissingData: "notBreaching",
                alarmDescription: `${name}: service ${metricName} above ${threshold}%`,
                comparisonOperator: "GreaterThanThreshold",
                threshold,
                evaluationPeriods: 5,
                datapointsToAlarm: 4,
                namespace: "AWS/ECS",
                metricName,
                statistic: "Average",
                period: 60,
                dimensions: { ClusterName: args.clusterName, ServiceName: args.serviceName },
            },
            opts,
        );
    return [ecs("cpu", "CPUUtilization", args.cpuPercent), ecs("memory", "MemoryUtilization", args.memoryPercent)];
}

/** One-metric alarm over 5-minute periods to a topic, for resource-level alarms. Missing data: no verdict, unless told. */
export function simpleAlarm(
    name: string,
    args: {
        topicArn: pulumi.Input<string>;
        description: string;
        namespace: string;
        metricName: string;
        statistic: string;
        dimensions: Record<string, pulumi.Input<string>>;
        comparison: string;
        threshold: number;
        periods?: number;
        treatMissingData?: "missing" | "breaching" | "notBreaching" | "ignore";
    },
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(
        name,
        {
            alarmDescription: args.description,
            namespace: args.namespace,
            metricName: args.metricName,
            statistic: args.statistic,
            dimensions: args.dimensions,
            period: 300,
            evaluationPeriods: args.periods ?? 3,
            comparisonOperator: args.comparison,
            threshold: args.threshold,
            alarmActions: [args.topicArn],
            okActions: [args.topicArn],
            treatMissingData: args.treatMissingData ?? "missing",
        },
        opts,
    );
}

/** RDS: CPU, free storage below 10 % of the allocation, connections above 80 % of max_connections (when known). */
export function databaseAlarms(
    name: string,
    args: { readonly topicArn: pulumi.Input<string>; readonly instanceIdentifier: pulumi.Input<string>; readonly allocatedStorageGb: number; readonly maxConnections?: number },
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm[] {
    const common = { topicArn: args.topicArn, namespace: "AWS/RDS", dimensions: { DBInstanceIdentifier: args.instanceIdentifier } };
    const alarms = [
        simpleAlarm(`${name}-cpu`, { ...common, description: `${name}: CPU above 80% for 15 minutes`, metricName: "CPUUtilization", statistic: "Average", comparison: "GreaterThanThreshold", threshold: 80 }, opts),
        simpleAlarm(
            `${name}-free-storage`,
            {
                ...common,
                description: `${name}: free storage below 10% of ${args.allocatedStorageGb} GiB`,
                metricName: "FreeStorageSpace",
                statistic: "Minimum",
                comparison: "LessThanThreshold",
                threshold: Math.round(args.allocatedStorageGb * 0.1 * 1024 ** 3),
            },
            opts,
        ),
    ];
    if (args.maxConnections !== undefined) {
        alarms.push(
            simpleAlarm(
                `${name}-connections`,
                {
                    ...common,
                    description: `${name}: connections above 80% of max_connections ${args.maxConnections}`,
                    metricName: "DatabaseConnections",
                    statistic: "Maximum",
                    comparison: "GreaterThanThreshold",
                    threshold: Math.floor(args.maxConnections * 0.8),
                },
                opts,
            ),
        );
    }
    return alarms;
}

/**
 * EFS: in bursting mode, burst credits running low (throughput is about to
 * drop to the baseline); in elastic mode, the I/O limit of General Purpose
 * performance mode nearly reached.
 */
export function fileSystemAlarm(
    name: string,
    args: { readonly topicArn: pulumi.Input<string>; readonly fileSystemId: pulumi.Input<string>; readonly throughputMode: "elastic" | "bursting" },
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
    const common = { topicArn: args.topicArn, namespace: "AWS/EFS", dimensions: { FileSystemId: args.fileSystemId } };
    return args.throughputMode === "bursting"
        ? simpleAlarm(
              `${name}-burst-credits`,
              {
                  ...common,
                  description: `${name}: EFS burst credits below 100 GiB`,
                  metricName: "BurstCreditBalance",
                  statistic: "Minimum",
                  comparison: "LessThanThreshold",
                  threshold: 100 * 1024 ** 3,
              },
              opts,
          )
        : simpleAlarm(
              `${name}-io-limit`,
              { ...common, description: `${name}: EFS I/O above 90% of its limit`, metricName: "PercentIOLimit", statistic: "Maximum", comparison: "GreaterThanThreshold", threshold: 90 },
              opts,
          );
}

/**
 * A service with no running task for ten minutes (Container Insights, which
 * every cluster here has on). Maximum: not a single task in either period, so
 * a stop-first deployment's gap is no alarm; no data is an alarm.
 */
export function serviceNotRunningAlarm(
    name: string,
    args: { readonly topicArn: pulumi.Input<string>; readonly description: string; readonly clusterName: pulumi.Input<string>; readonly serviceName: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
    return simpleAlarm(
        name,
        {
            topicArn: args.topicArn,
            description: args.description,
            namespace: "ECS/ContainerInsights",
            metricName: "RunningTaskCount",
            statistic: "Maximum",
            dimensions: { ClusterName: args.clusterName, ServiceName: args.serviceName },
            comparison: "LessThanThreshold",
            threshold: 1,
            periods: 2,
            treatMissingData: "breaching",
        },
        opts,
    );
}
