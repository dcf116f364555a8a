import { expect } from "chai";
import { assertNamedActions, assertScoped, RESOURCELESS_ACTIONS } from "../aws/iam";
import { ofType, stackRun, STACKS, urnName } from "../sim/harness";
import { UNSCOPED } from "../components/deployIdentity/grants";

const WORLD = ["0.0.0.0/0", "::/0"];

describe("security baseline", () => {
    for (const stack of STACKS) {
        it(`${stack}: the only world-open ingress is 80 and 443 on the ALB and 22 on GitLab's SSH load balancer`, async () => {
            const run = await stackRun(stack);
            const rules = ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
            const open = rules.filter((r) => WORLD.includes(r.inputs.cidrIpv4) || WORLD.includes(r.inputs.cidrIpv6));
            const lbSg = ofType(run, "aws:ec2/securityGroup:SecurityGroup").find((g) => g.name === "network-lb");
            expect(lbSg).to.not.equal(undefined);
            const sshSg = ofType(run, "aws:ec2/securityGroup:SecurityGroup").find((g) => g.name === "gitlab-ssh-nlb")!;
            const where = (r: (typeof open)[number]) => `${r.inputs.securityGroupId === sshSg.id ? "ssh-nlb" : r.inputs.securityGroupId === run.outputs.loadBalancerSecurityGroupId ? "alb" : r.inputs.securityGroupId}:${r.inputs.fromPort}-${r.inputs.toPort}`;
            // Both stacks keep the documented default (gitlab.ssh.allowedCidrs: anyone; README.md's configuration reference).
            expect(open.map(where).sort()).to.deep.equal(["alb:443-443", "alb:80-80", "ssh-nlb:22-22"]);
            // Inline rules on security groups would escape the check above: there must be none.
            for (const g of ofType(run, "aws:ec2/securityGroup:SecurityGroup")) {
                expect(g.inputs.ingress ?? [], g.name).to.deep.equal([]);
            }
            expect(ofType(run, "aws:ec2/securityGroupRule:SecurityGroupRule")).to.deep.equal([]);
        });

        it(`${stack}: IAM policies name their actions and resources`, async () => {
            const run = await stackRun(stack);
            const policies = ofType(run, "aws:iam/rolePolicy:RolePolicy");
            for (const p of policies) {
                for (const s of JSON.parse(p.inputs.policy).Statement) {
                    const actions: string[] = [s.Action].flat();
                    for (const a of actions) {
                        expect(a, `${urnName(p.urn)} action`).to.not.match(/\*/);
                    }
                    for (const r of [s.Resource].flat()) {
                        if (r === "*") {
                            // Only actions AWS cannot scope may be granted on *.
                            expect(RESOURCELESS_ACTIONS, `${urnName(p.urn)} grants ${actions} on *`).to.include.members(actions);
                        } else {
                            expect(r, `${urnName(p.urn)} resource`).to.match(/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:[^*]+(\/\*|:\*)?$/);
                        }
                    }
                }
            }
        });
    }

    for (const stack of STACKS) {
        it(`${stack}: only GitLab CI's roles carry managed policies, and those name their actions and scope them too`, async () => {
            const run = await stackRun(stack);
            expect(ofType(run, "aws:iam/policyAttachment:PolicyAttachment")).to.deep.equal([]);
            for (const a of ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
                expect(a.inputs.role, urnName(a.urn)).to.match(new RegExp(`^platform-${stack}-ci-(deploy|preview)$`));
            }
            for (const p of ofType(run, "aws:iam/policy:Policy")) {
                for (const s of JSON.parse(p.inputs.policy).Statement) {
                    const actions: string[] = [s.Action].flat();
                    for (const a of actions) {
                        expect(a, `${urnName(p.urn)} action`).to.not.match(/\*/);
                    }
                    if ([s.Resource].flat().includes("*") && s.Effect === "Allow") {
                        expect(UNSCOPED, `${urnName(p.urn)} grants ${actions} on *`).to.include.members(actions);
                    }
                }
            }
            for (const r of ofType(run, "aws:iam/role:Role")) {
                expect(r.inputs.inlinePolicies ?? [], r.name).to.deep.equal([]);
                expect(r.inputs.managedPolicyArns ?? [], r.name).to.deep.equal([]);
            }
        });
    }

    it("refuses scopable actions on * at construction time", () => {
        expect(() => assertScoped({ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] })).to.not.throw();
        expect(() => assertScoped({ actions: ["ecr:GetAuthorizationToken", "s3:GetObject"], resources: ["*"] })).to.throw(/s3:GetObject must be scoped/);
        expect(() => assertScoped({ actions: ["s3:GetObject"], resources: ["arn:aws:s3:::b/*"] })).to.not.throw();
    });

    it("refuses wildcard IAM actions at construction time", () => {
        expect(() => assertNamedActions(["s3:GetObject"])).to.not.throw();
        for (const bad of ["*", "s3:*", "s3:Get*", "s3"]) {
            expect(() => assertNamedActions([bad]), bad).to.throw(/not a named action/);
        }
    });
});
