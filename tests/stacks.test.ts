import { expect } from "chai";
import { ofType, stackRun, STACKS, urnType } from "../sim/harness";

describe("both stacks", () => {
    for (const stack of STACKS) {
        describe(stack, () => {
            it("evaluates with its own YAML and no error", async () => {
                const run = await stackRun(stack);
                expect(run.error, run.error?.message).to.equal(undefined);
                expect(run.resources.length).to.be.greaterThan(10);
            });

            it("parents every cloud resource to one of our components", async () => {
                const run = await stackRun(stack);
                // Providers sit at the top level by design; everything else under a component.
                const orphans = run.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:") && !urnType(r.parentUrn)?.startsWith("platform:"));
                expect(orphans.map((r) => `${r.type} ${r.name}`)).to.deep.equal([]);
                // awsx's remote component counts as a cloud resource here: it must sit under Network.
                const vpc = ofType(run, "awsx:ec2:Vpc");
                expect(vpc.map((r) => urnType(r.parentUrn))).to.deep.equal(["platform:network:Network"]);
            });

            it("names children after their component", async () => {
                const run = await stackRun(stack);
                for (const r of run.resources.filter((x) => x.parentUrn)) {
                    const parentName = r.parentUrn!.split("::").pop()!;
                    expect(r.name === parentName || r.name.startsWith(`${parentName}-`), `${r.type} ${r.name} under ${parentName}`).to.equal(true);
                }
            });

            it("exports the network, cluster and image outputs", async () => {
                const { outputs } = await stackRun(stack);
                for (const key of ["vpcId", "vpcCidr", "publicSubnetIds", "privateSubnetIds", "isolatedSubnetIds", "loadBalancerSecurityGroupId", "clusterName", "clusterArn", "gitlabImageRef", "appImageRef", "appImageTag", "gitlabImageTag", "appListenerRuleArn"]) {
                    expect(outputs[key], key).to.not.equal(undefined);
                }
            });
        });
    }

    it("turns Container Insights on for every cluster", async () => {
        for (const stack of STACKS) {
            const [cluster] = ofType(await stackRun(stack), "aws:ecs/cluster:Cluster");
            const setting = cluster.inputs.settings.find((s: { name: string }) => s.name === "containerInsights");
            expect(["enabled", "enhanced"], stack).to.include(setting?.value);
        }
    });

    it("offers Fargate Spot in dev only", async () => {
        const providers = async (stack: string): Promise<string[]> =>
            ofType(await stackRun(stack), "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")[0].inputs.capacityProviders;
        expect(await providers("dev")).to.include("FARGATE_SPOT");
        // prod: Fargate and the Gitaly host's EC2 capacity, no Spot.
        expect(await providers("prod")).to.deep.equal(["FARGATE", "platform-prod-gitaly"]);
    });
});
