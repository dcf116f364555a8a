import { expect } from "chai";
import { DjangoService, DjangoServiceArgs } from "../../components/app";
import { inComponent, named, ofType, runComponent, StackRun } from "../../sim/harness";
import { effective } from "../engineMirror";
import { djangoServiceArgs, Over } from "./fixtures";

const T = {
    service: "aws:ecs/service:Service",
    rule: "aws:lb/listenerRule:ListenerRule",
    tg: "aws:lb/targetGroup:TargetGroup",
} as const;
const tgArn = (run: StackRun, name: string) => named(run, T.tg, name).state.arn;
const app = (over: Over<DjangoServiceArgs> = {}) => runComponent(() => new DjangoService("app", djangoServiceArgs(over)));
const ROLLING = { strategy: "ROLLING", liveTargetGroup: "blue" } as const;

describe("component: DjangoService, updates a live service survives", () => {
    it("port: a new container port reaches the service; the target groups are not replaced", async () => {
        const before = await app({ port: 8000 });
        const after = await app({ port: 8080 });
        expect(after.error).to.equal(undefined);
        for (const tg of ["app", "app-green"]) {
            // Same inputs: nothing that forces a new group (port, protocol, type, VPC) changed.
            expect(named(after, T.tg, tg).inputs, tg).to.deep.equal(named(before, T.tg, tg).inputs);
        }
        expect(effective(before, after, T.service, "app").loadBalancers[0].containerPort).to.equal(8080);
        const rules = ofType(after, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.name === "app-from-alb");
        expect(rules[0].inputs.fromPort).to.equal(8080);
    });

    it("ROLLING → CANARY in one step: the alternate group, rule and role reach the service", async () => {
        const before = await app({ deployment: ROLLING });
        const after = await app({ deployment: { strategy: "CANARY" } });
        expect(after.error).to.equal(undefined);
        const svc = effective(before, after, T.service, "app");
        expect(svc.loadBalancers[0].targetGroupArn).to.equal(tgArn(after, "app"));
        expect(svc.loadBalancers[0].advancedConfiguration.alternateTargetGroupArn).to.equal(tgArn(after, "app-green"));
        expect(svc.loadBalancers[0].advancedConfiguration.productionListenerRule).to.equal(named(after, T.rule, "app").state.arn);
        const rule = effective(before, after, T.rule, "app");
        expect(rule.actions[0].forward.targetGroups).to.deep.equal([
            { arn: tgArn(after, "app"), weight: 100 },
            { arn: tgArn(after, "app-green"), weight: 0 },
        ]);
        // The existing group is kept, not replaced.
        expect(named(after, T.tg, "app").inputs).to.deep.equal(named(before, T.tg, "app").inputs);
    });

    it("CANARY → ROLLING keeps the group that has the traffic (liveTargetGroup: green)", async () => {
        const before = await app({ deployment: { strategy: "CANARY" } });
        const after = await app({ deployment: { strategy: "ROLLING", liveTargetGroup: "green" } });
        expect(after.error).to.equal(undefined);
        // Only the live group stays; it is the same resource as before.
        expect(inComponent(after, T.tg, "app").map((g) => g.name)).to.deep.equal(["app-green"]);
        expect(named(after, T.tg, "app-green").inputs).to.deep.equal(named(before, T.tg, "app-green").inputs);
        const svc = effective(before, after, T.service, "app");
        expect(svc.loadBalancers[0].targetGroupArn).to.equal(tgArn(after, "app-green"));
        expect(svc.loadBalancers[0].advancedConfiguration).to.equal(undefined);
        expect(effective(before, after, T.rule, "app").actions).to.deep.equal([{ type: "forward", targetGroupArn: tgArn(after, "app-green") }]);
    });

    it("spot flips with a forced new deployment, as AWS requires for a capacity provider change", async () => {
        const before = named(await app({ spot: true, deployment: ROLLING }), T.service, "app");
        const after = named(await app({ spot: false, deployment: ROLLING }), T.service, "app");
        expect(before.inputs.capacityProviderStrategies[0].capacityProvider).to.equal("FARGATE_SPOT");
        expect(after.inputs.capacityProviderStrategies[0].capacityProvider).to.equal("FARGATE");
        expect(after.inputs.forceNewDeployment).to.equal(true);
    });
});
