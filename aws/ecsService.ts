import * as pulumi from "@pulumi/pulumi";

/** What every ECS service of this program sets the same way, whatever its capacity. */
export interface ServiceBaseArgs {
    /** Private subnets; tasks never get a public IP. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** Alarms that roll a deployment back; none: alarms only notify. */
    readonly deploymentAlarmNames: pulumi.Input<string>[];
    /** Roll a failed deployment back to the previous task definition. */
    readonly rollback: boolean;
    readonly execCommand: boolean;
}

/**
 * The `aws.ecs.Service` inputs the services share: latest platform, Spot or
 * not, private networking, circuit breaker (and alarm) rollback, tags
 * propagated, and a `pulumi up` that waits for the rollout.
 */
export function fargateServiceBase(a: FargateServiceBaseArgs) {
    return { platformVersion: "LATEST", ...serviceBase({ ...a, capacityProvider: a.spot ? "FARGATE_SPOT" : "FARGATE" }) };
}

/** The Fargate services' arguments: Spot or not. */
export interface FargateServiceBaseArgs extends ServiceBaseArgs {
    /** FARGATE_SPOT instead of FARGATE. */
    readonly spot: boolean;
}

/**
 * The shared inputs on any capacity provider (Fargate, or an EC2 one such as
 * the Gitaly host's, where a platform version must not be set).
 */
export function serviceBase(a: ServiceBaseArgs & { readonly capacityProvider: pulumi.Input<string> }) {
    return {
        capacityProviderStrategies: [{ capacityProvider: a.capacityProvider, weight: 1 }],
        // AWS and the provider accept a changed capacity provider strategy (spot on or off)
        // only with a forced new deployment. The flag rides on every service update,
        // so any change to the service rolls its tasks; that is what an update means here.
        forceNewDeployment: true,
        networkConfiguration: { subnets: a.subnetIds, securityGroups: [a.securityGroupId], assignPublicIp: false },
        deploymentCircuitBreaker: { enable: true, rollback: a.rollback },
        ...(a.deploymentAlarmNames.length > 0 ? { alarms: { alarmNames: a.deploymentAlarmNames, enable: true, rollback: a.rollback } } : {}),
        enableExecuteCommand: a.execCommand,
        propagateTags: "SERVICE",
        enableEcsManagedTags: true,
        // `pulumi up` reports a failed rollout instead of returning while it runs.
        waitForSteadyState: true,
    };
}
