import { expect } from "chai";
import { INTERFACE_ENDPOINT_SERVICES, Network } from "../../components/network";
import { named, ofType, runComponent, StackRun } from "../../sim/harness";
import { networkArgs } from "./fixtures";

const VPC = "awsx:ec2:Vpc";
const ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint";
const iface = (run: StackRun) => ofType(run, ENDPOINT).filter((e) => e.inputs.vpcEndpointType === "Interface");
type Spec = { name: string; cidrBlocks: string[] };

describe("component: Network", () => {
    it("spreads 3 AZs with one NAT gateway each, and returns one subnet id per AZ per tier", async () => {
        const run = await runComponent(() => new Network("network", networkArgs({ availabilityZoneCount: 3, natGateways: "OnePerAz" })));
        expect(run.error).to.equal(undefined);
        const vpc = named(run, VPC, "network").inputs;
        expect([vpc.numberOfAvailabilityZones, vpc.natGateways.strategy]).to.deep.equal([3, "OnePerAz"]);
        for (const spec of vpc.subnetSpecs as Spec[]) {
            expect(spec.cidrBlocks, spec.name).to.have.length(3);
        }
        for (const key of ["publicSubnetIds", "privateSubnetIds", "isolatedSubnetIds"]) {
            expect(run.outputs[key], key).to.have.length(3);
        }
        // The S3 gateway endpoint reaches every route table: 1 public + one per private and isolated subnet.
        const [s3] = ofType(run, ENDPOINT).filter((e) => e.inputs.vpcEndpointType === "Gateway");
        expect(s3.inputs.routeTableIds).to.have.length(1 + 2 * 3);
    });

    it("adds subnets when it grows from 2 to 3 AZs, and moves none of the existing ones", async () => {
        const before = await runComponent(() => new Network("network", networkArgs({ availabilityZoneCount: 2, natGateways: "Single" })));
        const grown = await runComponent(() => new Network("network", networkArgs({ availabilityZoneCount: 3, natGateways: "Single" })));
        expect(grown.error).to.equal(undefined);
        const after = named(grown, VPC, "network").inputs.subnetSpecs as Spec[];
        for (const spec of named(before, VPC, "network").inputs.subnetSpecs as Spec[]) {
            const next = after.find((s) => s.name === spec.name)!;
            expect(spec.cidrBlocks, spec.name).to.have.length(2);
            expect(next.cidrBlocks, spec.name).to.have.length(3);
            // awsx names subnets <vpc>-<tier>-<az number>: same position, same CIDR, same resource.
            expect(next.cidrBlocks.slice(0, 2), spec.name).to.deep.equal(spec.cidrBlocks);
        }
    });

    it("with interface endpoints: one per service in the private subnets, behind a group open to the VPC on 443; without: none, and no group", async () => {
        const on = await runComponent(() => new Network("network", networkArgs({ interfaceEndpoints: true })));
        const off = await runComponent(() => new Network("network", networkArgs({ interfaceEndpoints: false })));
        expect(iface(on).map((e) => e.inputs.serviceName).sort()).to.deep.equal(INTERFACE_ENDPOINT_SERVICES.map((s) => `com.amazonaws.us-east-1.${s}`).sort());
        const sg = named(on, "aws:ec2/securityGroup:SecurityGroup", "network-endpoints");
        for (const e of iface(on)) {
            expect(e.inputs.privateDnsEnabled).to.equal(true);
            expect(e.inputs.subnetIds).to.deep.equal(on.outputs.privateSubnetIds);
            expect(e.inputs.securityGroupIds).to.deep.equal([sg.id]);
        }
        const rules = ofType(on, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === sg.id);
        expect(rules.map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).to.deep.equal([[443, 443, named(on, VPC, "network").inputs.cidrBlock]]);
        expect(on.outputs.endpointSecurityGroupId).to.equal(sg.id);

        expect(iface(off)).to.deep.equal([]);
        expect(ofType(off, "aws:ec2/securityGroup:SecurityGroup").map((g) => g.name)).to.deep.equal(["network-lb"]);
        expect(off.outputs.endpointSecurityGroupId).to.equal(undefined);
        // The free S3 gateway stays either way.
        expect(ofType(off, ENDPOINT).map((e) => e.inputs.vpcEndpointType)).to.deep.equal(["Gateway"]);
    });

    it("without flow logs: no flow log, no log group, no role", async () => {
        const run = await runComponent(() => new Network("network", networkArgs({ flowLogs: false })));
        expect(run.error).to.equal(undefined);
        expect(ofType(run, "aws:ec2/flowLog:FlowLog")).to.deep.equal([]);
        expect(ofType(run, "aws:cloudwatch/logGroup:LogGroup")).to.deep.equal([]);
        expect(ofType(run, "aws:iam/role:Role")).to.deep.equal([]);
        // With flow logs, their log group keeps the stack's retention.
        const withLogs = await runComponent(() => new Network("network", networkArgs({ flowLogs: true, context: { logRetentionDays: 30 } })));
        expect(ofType(withLogs, "aws:ec2/flowLog:FlowLog")).to.have.length(1);
        expect(named(withLogs, "aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").inputs.retentionInDays).to.equal(30);
    });
});
