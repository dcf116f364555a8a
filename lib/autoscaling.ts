import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface ServiceAutoscalingArgs {
    readonly clusterName: pulumi.Input<string>;
    readonly serviceName: pulumi.Input<string>;
    readonly minCount: number;
    readonly maxCount: number;
    readonly cpuTarget: number;
    readonly requestsPerTarget: number;
    /**
     * `app/<alb>/<id>/targetgroup/<tg>/<id>` for each target group the service
     * can be behind. One request-count policy per group: ECS blue/green moves
     * traffic between groups, and a policy on an idle group has no data, so it
     * neither scales out nor blocks scale-in.
     */
    readonly requestCountResourceLabels: pulumi.Input<string>[];
    readonly scaleOutCooldown: number;
    readonly scaleInCooldown: number;
}

/** Builds the ALBRequestCountPerTarget resource label from the ALB's and target group's ARN suffixes. */
export function requestCountLabel(loadBalancerArnSuffix: pulumi.Input<string>, targetGroupArnSuffix: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`${loadBalancerArnSuffix}/${targetGroupArnSuffix}`;
}

/** Target tracking on average CPU and on requests per target for an ECS service. */
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
    const policy = (suffix: string, spec: aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfiguration) =>
        new aws.appautoscaling.Policy(
            `${name}-${suffix}`,
            {
                policyType: "TargetTrackingScaling",
                serviceNamespace: target.serviceNamespace,
                scalableDimension: target.scalableDimension,
                resourceId: target.resourceId,
                targetTrackingScalingPolicyConfiguration: spec,
            },
            opts,
        );
    const cooldowns = { scaleOutCooldown: args.scaleOutCooldown, scaleInCooldown: args.scaleInCooldown };
    policy("cpu", { ...cooldowns, targetValue: args.cpuTarget, predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" } });
    args.requestCountResourceLabels.forEach((label, i) =>
        policy(`requests-${i}`, {
            ...cooldowns,
            targetValue: args.requestsPerTarget,
            predefinedMetricSpecification: { predefinedMetricType: "ALBRequestCountPerTarget", resourceLabel: label },
        }),
    );
    return target;
}
