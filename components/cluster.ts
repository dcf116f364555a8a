import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Naming, physicalName } from "../facts/naming";
import { StackContext } from "../aws/context";
import { after } from "../aws/ordering";

export interface ClusterArgs {
    /** Naming, for the cluster's physical name. */
    readonly context: StackContext;
    /** Container Insights level (Security Hub ECS.12 wants it on). */
    readonly containerInsights: "enabled" | "enhanced";
    /** Offer FARGATE_SPOT to services (dev uses it; prod services stay on FARGATE). */
    readonly spot: boolean;
    /** EC2 capacity providers to offer besides Fargate (the Gitaly host's). */
    readonly ec2CapacityProviders?: pulumi.Input<string>[];
}

/** The cluster's physical name, known before it exists (the Gitaly host's user data joins it by name). */
export function clusterPhysicalName(naming: Naming, name: string): string {
    return physicalName(naming, name);
}

/** The cluster as its services name it. */
export interface ClusterRef {
    /** Known only once the capacity providers are attached, so no service is created before them. */
    readonly arn: pulumi.Output<string>;
    readonly name: pulumi.Output<string>;
}

/** The stack's ECS cluster, shared by the GitLab and app services. */
export class Cluster extends pulumi.ComponentResource {
    readonly clusterArn: pulumi.Output<string>;
    readonly clusterName: pulumi.Output<string>;
    readonly ref: ClusterRef;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:ecs:Cluster", name, {}, opts);
        const a = args;
        const parent = { parent: this };

        const cluster = new aws.ecs.Cluster(
            name,
            { name: clusterPhysicalName(a.context.naming, name), settings: [{ name: "containerInsights", value: a.containerInsights }] },
            parent,
        );
        const capacity = new aws.ecs.ClusterCapacityProviders(
            `${name}-capacity`,
            {
                clusterName: cluster.name,
                capacityProviders: [...(a.spot ? ["FARGATE", "FARGATE_SPOT"] : ["FARGATE"]), ...(a.ec2CapacityProviders ?? [])],
                defaultCapacityProviderStrategies: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
            },
            parent,
        );
        // Services read the cluster through the capacity association, so none is
        // created before FARGATE_SPOT (or the Gitaly host) is attached to the cluster.
        this.clusterArn = after(cluster.arn, capacity);
        this.clusterName = capacity.clusterName;
        this.ref = { arn: this.clusterArn, name: this.clusterName };
        this.registerOutputs({ clusterArn: this.clusterArn, clusterName: this.clusterName });
    }
}
