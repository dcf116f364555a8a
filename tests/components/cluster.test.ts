import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { Cluster } from "../../components/cluster";
import { named, runComponent } from "../../sim/harness";
import { clusterArgs } from "./fixtures";

const CAPACITY = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders";

describe("component: Cluster", () => {
    it("offers FARGATE_SPOT only when spot is on, and any EC2 capacity providers after Fargate's", async () => {
        const spot = await runComponent(() => new Cluster("cluster", clusterArgs({ spot: true })));
        const onDemand = await runComponent(() => new Cluster("cluster", clusterArgs({ spot: false, ec2CapacityProviders: ["platform-test-gitaly"] })));
        expect(spot.error).to.equal(undefined);
        expect(named(spot, CAPACITY, "cluster-capacity").inputs.capacityProviders).to.deep.equal(["FARGATE", "FARGATE_SPOT"]);
        expect(named(onDemand, CAPACITY, "cluster-capacity").inputs.capacityProviders).to.deep.equal(["FARGATE", "platform-test-gitaly"]);
        // Services default to plain Fargate either way.
        for (const run of [spot, onDemand]) {
            expect(named(run, CAPACITY, "cluster-capacity").inputs.defaultCapacityProviderStrategies).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1, base: 0 }]);
        }
    });

    it("hands out the cluster through its capacity association, so no service starts before the capacity exists", async () => {
        const run = await runComponent(() => {
            const cluster = new Cluster("cluster", clusterArgs({ containerInsights: "enabled" }));
            // A stand-in consumer of both handles, as a service takes them.
            new aws.ecs.Service("consumer", { cluster: cluster.ref.arn, name: cluster.ref.name });
            return cluster;
        });
        const cluster = named(run, "aws:ecs/cluster:Cluster", "cluster");
        const capacity = named(run, CAPACITY, "cluster-capacity");
        expect(cluster.inputs.name).to.equal("platform-test-cluster");
        expect(cluster.inputs.settings).to.deep.equal([{ name: "containerInsights", value: "enabled" }]);
        expect(run.outputs.clusterArn).to.equal(cluster.state.arn);
        expect(run.outputs.clusterName).to.equal(capacity.state.clusterName);
        expect(capacity.parentUrn).to.equal(named(run, "platform:ecs:Cluster", "cluster").urn);
        // Whatever reads the ARN or the name waits for the capacity providers.
        const consumer = named(run, "aws:ecs/service:Service", "consumer");
        expect(consumer.propertyDependencies.cluster).to.include(capacity.urn);
        expect(consumer.propertyDependencies.name).to.include(capacity.urn);
    });
});
