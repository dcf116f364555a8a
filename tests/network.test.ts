import { expect } from "chai";
import { Cidr, formatCidr, layoutSubnets, parseCidr } from "../facts/cidr";
import { named, ofType, stackRun, STACKS, StackRun } from "../sim/harness";

const vpcOf = (run: StackRun) => named(run, "awsx:ec2:Vpc", "network");
const endpoints = (run: StackRun) => ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint");

describe("network", () => {
    it("spreads dev over 2 AZs with a single NAT gateway, prod over 3 with one per AZ", async () => {
        const dev = vpcOf(await stackRun("dev")).inputs;
        const prod = vpcOf(await stackRun("prod")).inputs;
        expect([dev.numberOfAvailabilityZones, dev.natGateways.strategy]).to.deep.equal([2, "Single"]);
        expect([prod.numberOfAvailabilityZones, prod.natGateways.strategy]).to.deep.equal([3, "OnePerAz"]);
    });

    it("creates public, private and isolated subnets with explicit CIDRs, one per AZ, in every stack", async () => {
        for (const stack of STACKS) {
            const vpc = vpcOf(await stackRun(stack)).inputs;
            const specs = vpc.subnetSpecs as { type: string; cidrMask: number; cidrBlocks: string[] }[];
            expect(specs.map((s) => s.type).sort(), stack).to.deep.equal(["Isolated", "Private", "Public"]);
            // Auto is the strategy that honours explicit cidrBlocks (Legacy ignores them).
            expect(vpc.subnetStrategy).to.equal("Auto");
            const all = specs.flatMap((s) => s.cidrBlocks.map((c) => parseCidr(c)!));
            expect(all, stack).to.have.length(3 * vpc.numberOfAvailabilityZones);
            for (const spec of specs) {
                expect(spec.cidrBlocks.every((c) => c.endsWith(`/${spec.cidrMask}`)), stack).to.equal(true);
            }
            // Inside the VPC and disjoint.
            const v = parseCidr(vpc.cidrBlock)!;
            const range = (c: Cidr) => [c.address, c.address + 2 ** (32 - c.prefix)] as const;
            for (const c of all) {
                expect(range(c)[0] >= range(v)[0] && range(c)[1] <= range(v)[1], formatCidr(c)).to.equal(true);
            }
            const sorted = all.map(range).sort((x, y) => x[0] - y[0]);
            for (let i = 1; i < sorted.length; i++) {
                expect(sorted[i][0], stack).to.be.at.least(sorted[i - 1][1]);
            }
        }
    });

    it("lays each AZ into a slot sized for three AZs, tiers largest first", () => {
        const tiers = [{ name: "public", prefix: 24 }, { name: "private", prefix: 20 }, { name: "isolated", prefix: 24 }] as const;
        expect(layoutSubnets("10.20.0.0/16", tiers, 3)).to.deep.equal({
            private: ["10.20.0.0/20", "10.20.64.0/20", "10.20.128.0/20"],
            public: ["10.20.16.0/24", "10.20.80.0/24", "10.20.144.0/24"],
            isolated: ["10.20.17.0/24", "10.20.81.0/24", "10.20.145.0/24"],
        });
        expect(() => layoutSubnets("10.20.0.0/16", [{ name: "private", prefix: 17 }], 2)).to.throw(/do not fit the \/18/);
    });

    it("returns one subnet id per AZ per tier", async () => {
        const { outputs } = await stackRun("prod");
        for (const key of ["publicSubnetIds", "privateSubnetIds", "isolatedSubnetIds"]) {
            expect(outputs[key], key).to.have.length(3);
        }
    });

    it("has an S3 gateway endpoint on every route table in every stack", async () => {
        for (const stack of STACKS) {
            const s3 = endpoints(await stackRun(stack)).filter((e) => e.inputs.serviceName === "com.amazonaws.us-east-1.s3");
            expect(s3, stack).to.have.length(1);
            expect(s3[0].inputs.vpcEndpointType).to.equal("Gateway");
            // 1 public table + one per private and isolated subnet (the mock's awsx layout).
            const azs = stack === "prod" ? 3 : 2;
            expect(s3[0].inputs.routeTableIds, stack).to.have.length(1 + 2 * azs);
        }
    });

    it("adds ecr.api, ecr.dkr, logs and secretsmanager interface endpoints in prod only", async () => {
        const iface = (run: StackRun) => endpoints(run).filter((e) => e.inputs.vpcEndpointType === "Interface");
        expect(iface(await stackRun("dev"))).to.deep.equal([]);
        const prod = await stackRun("prod");
        const services = iface(prod).map((e) => e.inputs.serviceName).sort();
        expect(services).to.deep.equal(["ecr.api", "ecr.dkr", "logs", "secretsmanager"].map((s) => `com.amazonaws.us-east-1.${s}`));
        const sg = named(prod, "aws:ec2/securityGroup:SecurityGroup", "network-endpoints");
        for (const e of iface(prod)) {
            expect(e.inputs.privateDnsEnabled).to.equal(true);
            expect(e.inputs.subnetIds).to.deep.equal(prod.outputs.privateSubnetIds);
            expect(e.inputs.securityGroupIds).to.have.length(1);
        }
        const rule = ofType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.name.startsWith(sg.name));
        expect(rule.map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).to.deep.equal([[443, 443, "10.30.0.0/16"]]);
    });

    it("sends VPC flow logs to a retained log group through a scoped role in prod only", async () => {
        expect(ofType(await stackRun("dev"), "aws:ec2/flowLog:FlowLog")).to.deep.equal([]);
        const prod = await stackRun("prod");
        const [flow] = ofType(prod, "aws:ec2/flowLog:FlowLog");
        expect(flow.inputs.trafficType).to.equal("ALL");
        expect(flow.inputs.logDestinationType).to.equal("cloud-watch-logs");
        const group = named(prod, "aws:cloudwatch/logGroup:LogGroup", "network-flow-logs");
        expect(group.inputs.retentionInDays).to.equal(365);
        const role = named(prod, "aws:iam/role:Role", "network-flow-logs");
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        expect(trust.Statement[0].Principal.Service).to.equal("vpc-flow-logs.amazonaws.com");
        expect(trust.Statement[0].Condition).to.deep.equal({ StringEquals: { "aws:SourceAccount": "123456789012" } });
        const policy = JSON.parse(named(prod, "aws:iam/rolePolicy:RolePolicy", "network-flow-logs-policy").inputs.policy);
        expect(policy.Statement[0].Resource[0]).to.match(/^arn:aws:logs:.*:log-group:\/platform\/prod\/network-flow-logs-/);
    });

    it("strips the VPC's default security group in every stack", async () => {
        for (const stack of STACKS) {
            const [dflt] = ofType(await stackRun(stack), "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
            expect(dflt.inputs.ingress ?? [], stack).to.deep.equal([]);
            expect(dflt.inputs.egress ?? [], stack).to.deep.equal([]);
        }
    });
});
