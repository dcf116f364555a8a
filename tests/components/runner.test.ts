import { expect } from "chai";
import { GitLabRunner } from "../../components/runner";
import { named, runComponent } from "../../sim/harness";
import { runnerArgs } from "./fixtures";

const ASG = "aws:autoscaling/group:Group";

describe("component: GitLabRunner", () => {
    it("Spot workers: a mixed-instances policy with no on-demand share; the template names no type", async () => {
        const run = await runComponent(() => new GitLabRunner("runner", runnerArgs({ workers: { spot: true, instanceType: "m7i.large" } })));
        expect(run.error).to.equal(undefined);
        const g = named(run, ASG, "runner-workers").inputs;
        expect(g.mixedInstancesPolicy.instancesDistribution).to.include({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 });
        expect(g.mixedInstancesPolicy.launchTemplate.overrides).to.deep.equal([{ instanceType: "m7i.large" }]);
        expect(g).to.not.have.property("launchTemplate");
        expect(named(run, "aws:ec2/launchTemplate:LaunchTemplate", "runner-workers").inputs.instanceType).to.equal(undefined);
    });

    it("on-demand workers: the template's own type, no mixed-instances policy", async () => {
        const run = await runComponent(() => new GitLabRunner("runner", runnerArgs({ workers: { spot: false, instanceType: "m7i.large" } })));
        const g = named(run, ASG, "runner-workers").inputs;
        expect(g).to.not.have.property("mixedInstancesPolicy");
        expect(g.launchTemplate.id).to.equal(named(run, "aws:ec2/launchTemplate:LaunchTemplate", "runner-workers").id);
        expect(named(run, "aws:ec2/launchTemplate:LaunchTemplate", "runner-workers").inputs.instanceType).to.equal("m7i.large");
    });
});
