import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface RequestScalingArgs {
    /** Target ALB requests per task per minute. */
    readonly requestsPerTarget: number;
    readonly loadBalancerArnSuffix: pulumi.Input<string>;
    /** Every target group the service can be behind (two with ECS canary/blue-green). */
    readonly targetGroupArnSuffixes: pulumi.Input<string>[];
}

export interface ServiceAutoscalingArgs {
    readonly clusterName: pulumi.Input<string>;
    readonly serviceName: pulumi.Input<string>;
    readonly minCount: number;
    readonly maxCount: number;
    /** Target average CPU percent. */
    readonly cpuTarget: number;
    /** Target average memory percent; undefined: memory does not scale the service. */
    readonly memoryTarget?: number;
    /** Scale on requests per target too. */
    readonly requests?: RequestScalingArgs;
    readonly scaleOutCooldown: number;
    readonly scaleInCooldown: number;
}

type TargetTracking = aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfiguration;

/** The ALBRequestCountPerTarget resource label: `app/<alb>/<id>/targetgroup/<tg>/<id>`. */
export function requestCountLabel(loadBalancerArnSuffix: pulumi.Input<string>, targetGroupArnSuffix: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`${loadBalancerArnSuffix}/${targetGroupArnSuffix}`;
}

/**
 * Requests per healthy target, as target tracking should see it. One target
 * group: the predefined ALBRequestCountPerTarget metric. Two (ECS
 * canary/blue-green moves traffic between them after every deployment): the
 * same quantity by metric math over both, because a predefined policy on the
 * idle group would sit in INSUFFICIENT_DATA, and Application Auto Scaling
 * scales in only when every policy agrees.
 */
export function requestTracking(args: RequestScalingArgs): TargetTracking {
    const tgs = args.targetGroupArnSuffixes;
    if (tgs.length === 1) {
        return {
            targetValue: args.requestsPerTarget,
            predefinedMetricSpecification: { predefinedMetricType: "ALBRequestCountPerTarget", resourceLabel: requestCountLabel(args.loadBalancerArnSuffix, tgs[0]) },
        };
    }
    const metric = (id: string, metricName: string, stat: string, tg: pulumi.Input<string>) => ({
        id,
        returnData: false,
        metricStat: {
            stat,
            metric: {
                namespace: "AWS/ApplicationELB",
                metricName,
                dimensions: [
                    { name: "LoadBalancer", value: args.loadBalancerArnSuffix },
                    { name: "TargetGroup", value: tg },
                ],
            },
        },
    });
    const sum = (prefix: string) => tgs.map((_, i) => `FILL(${prefix}${i},0)`).join("+");
    return {
        targetValue: args.requestsPerTarget,
        customizedMetricSpecification: {
            metrics: [
                { id: "perTarget", label: "requests per healthy target", expression: `(${sum("r")})/(${sum("h")})`, returnData: true },
                ...tgs.map((tg, i) => metric(`r${i}`, "RequestCount", "Sum", tg)),
                ...tgs.map((tg, i) => metric(`h${i}`, "HealthyHostCount", "Average", tg)),
            ],
        },
    };
}

/**
 * Target tracking for an ECS service: on average CPU always, on average
 * memory and on requests per target when asked. Each policy scales out on its
 * own; the service scales in only when every policy agrees.
 */
export function serviceAutoscaling(name: string, args: ServiceAutoscalingArgs, opts: pulumi.CustomResourceOptions): aws.appautoscaling.Target {
    const target = new aws.appautoscaling.Target(
        name,
        {
            serviceNamespace: "ecs",
            scalableDimension: "ecs:service:DesiredCount",
            resourceId: pulumi.interpolate`service/${args.clusterName}/${args.serviceName}`,
            minCapacity: args.minCount,
            maxCapacity: args.maxCount,
        },
        opts,
    );
    const cooldowns = { scaleOutCooldown: args.scaleOutCooldown, scaleInCooldown: args.scaleInCooldown };
    const policy = (suffix: string, spec: TargetTracking) =>
        new aws.appautoscaling.Policy(
            `${name}-${suffix}`,
            {
                policyType: "TargetTrackingScaling",
                serviceNamespace: target.serviceNamespace,
                scalableDimension: target.scalableDimension,
                resourceId: target.resourceId,
                targetTrackingScalingPolicyConfiguration: { ...cooldowns, ...spec },
            },
            opts,
        );
    policy("cpu", { targetValue: args.cpuTarget, predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" } });
    if (args.memoryTarget !== undefined) {
        policy("memory", { targetValue: args.memoryTarget, predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageMemoryUtilization" } });
    }
    if (args.requests) {
        policy("requests", requestTracking(args.requests));
    }
    return target;
}
