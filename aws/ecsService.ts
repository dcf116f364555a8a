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
 * the Gitaly host's, where a platform version must not be set). A Fargate
 * service's strategy follows `spot`, so it may change.
 */
export function serviceBase(a: ServiceBaseArgs & { readonly capacityProvider: pulumi.Input<string>; readonly fixedCapacity?: boolean }) {
    return {
        capacityProviderStrategies: [{ capacityProvider: a.capacityProvider, weight: 1 }],
        // The provider updates a changed capacity provider strategy (spot on or off) only
        // with force_new_deployment set (recent versions refuse the plan, older ones replace
        // the service). The flag rides on every UpdateService call the provider makes, so
        // any change to such a service rolls its tasks. A service whose strategy is fixed
        // (`fixedCapacity`: a capacity provider with a constant name) goes without it and
        // rolls only when ECS itself deploys: a new task definition revision, new network
        // settings. Turning the flag off is itself an UpdateService without it: no roll.
        forceNewDeployment: !a.fixedCapacity,
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
