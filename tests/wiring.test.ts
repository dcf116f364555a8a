import { expect } from "chai";
import { named, ofType, runStack, StackRun } from "../sim/harness";

/**
 * Config key → index.ts → component input, for the keys whose behaviour the
 * component tests cover (tests/components/) but which neither stack file sets:
 * a component test hands the Arg over itself, so only a stack run proves that
 * index.ts passes the key on. Two runs with every such key changed at once.
 */

const T = {
    service: "aws:ecs/service:Service",
    tg: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    certificate: "aws:acm/certificate:Certificate",
    acl: "aws:wafv2/webAcl:WebAcl",
    vpc: "awsx:ec2:Vpc",
    asg: "aws:autoscaling/group:Group",
    rotation: "aws:secretsmanager/secretRotation:SecretRotation",
} as const;

const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100";

describe("config reaches the components (keys the stack files leave at their defaults)", () => {
    let dev: StackRun;
    let prod: StackRun;
    before(async () => {
        dev = await runStack("dev", {
            patch: (c) => {
                c["platform:dns"].certificateArn = CERTIFICATE;
                c["platform:loadBalancer"] = { ...c["platform:loadBalancer"], waf: { enabled: true, rateLimitPer5Minutes: 500 } };
                c["platform:network"].availabilityZones = 3;
                c["platform:app"].deployment = { strategy: "CANARY" };
                c["platform:app"].spot = false;
            },
        });
        prod = await runStack("prod", {
            patch: (c) => {
                c["platform:app"].port = 8080;
                Object.assign(c["platform:app"].deployment, { strategy: "ROLLING", liveTargetGroup: "green" });
                c["platform:runner"].spot = true;
                // The schema's default rotation, as a new stack gets it.
                delete c["platform:database"].masterPasswordRotationDays;
            },
        });
        expect(dev.error, dev.error?.message).to.equal(undefined);
        expect(prod.error, prod.error?.message).to.equal(undefined);
    });

    it("dns.certificateArn: the HTTPS listener uses it and nothing is issued", () => {
        expect(named(dev, T.listener, "public-https").inputs.certificateArn).to.equal(CERTIFICATE);
        expect(ofType(dev, T.certificate)).to.deep.equal([]);
    });

    it("loadBalancer.waf: a web ACL with the configured per-IP limit", () => {
        const acl = named(dev, T.acl, "public-waf").inputs;
        expect(acl.rules.find((r: any) => r.statement.rateBasedStatement).statement.rateBasedStatement.limit).to.equal(500);
    });

    it("network.availabilityZones: the VPC spans three", () => {
        expect(named(dev, T.vpc, "network").inputs.numberOfAvailabilityZones).to.equal(3);
    });

    it("app.deployment and app.spot: the service deploys by canary on FARGATE", () => {
        const service = named(dev, T.service, "app").inputs;
        expect(service.deploymentConfiguration.strategy).to.equal("CANARY");
        expect(service.capacityProviderStrategies.map((s: any) => s.capacityProvider)).to.deep.equal(["FARGATE"]);
    });

    it("app.port and app.deployment.liveTargetGroup: the service sends the port to the green group", () => {
        const lb = named(prod, T.service, "app").inputs.loadBalancers[0];
        expect(lb.containerPort).to.equal(8080);
        expect(lb.targetGroupArn).to.equal(named(prod, T.tg, "app-green").state.arn);
        expect(named(prod, T.service, "app").inputs.deploymentConfiguration.strategy).to.equal("ROLLING");
    });

    it("runner.spot: the workers are a mixed-instances group with no on-demand share", () => {
        expect(named(prod, T.asg, "runner-workers").inputs.mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity).to.equal(0);
    });

    it("database.masterPasswordRotationDays unset: the schema's 7 days reach the rotation", () => {
        expect(named(prod, T.rotation, "app-db-master-rotation").inputs.rotationRules.automaticallyAfterDays).to.equal(7);
    });
});
