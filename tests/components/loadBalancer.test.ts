import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { PublicLoadBalancer } from "../../components/loadBalancer";
import { named, ofType, runComponent } from "../../sim/harness";
import { loadBalancerArgs } from "./fixtures";

const ACL = "aws:wafv2/webAcl:WebAcl";
const rateLimit = (acl: { inputs: Record<string, any> }) => acl.inputs.rules.find((r: any) => r.statement.rateBasedStatement).statement.rateBasedStatement.limit;

describe("component: PublicLoadBalancer", () => {
    it("uses an existing certificate instead of issuing one when certificateArn is set", async () => {
        const arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100";
        const run = await runComponent(() => new PublicLoadBalancer("public", loadBalancerArgs({ certificateArn: arn })));
        expect(run.error).to.equal(undefined);
        expect(ofType(run, "aws:acm/certificate:Certificate")).to.deep.equal([]);
        expect(ofType(run, "aws:acm/certificateValidation:CertificateValidation")).to.deep.equal([]);
        expect(named(run, "aws:lb/listener:Listener", "public-https").inputs.certificateArn).to.equal(arn);
    });

    it("WAF: the rate limit is the configured one; without waf, no web ACL and no association", async () => {
        const on = await runComponent(() => new PublicLoadBalancer("public", loadBalancerArgs({ waf: { rateLimitPer5Minutes: 500, exemptHostNames: [] } })));
        const off = await runComponent(() => new PublicLoadBalancer("public", loadBalancerArgs({ waf: undefined })));
        const [acl] = ofType(on, ACL);
        expect(rateLimit(acl)).to.equal(500);
        // No exempt host: the rate limit covers every request.
        expect(acl.inputs.rules.find((r: any) => r.statement.rateBasedStatement).statement.rateBasedStatement.scopeDownStatement).to.equal(undefined);
        expect(ofType(off, ACL)).to.deep.equal([]);
        expect(ofType(off, "aws:wafv2/webAclAssociation:WebAclAssociation")).to.deep.equal([]);
    });

    it("route refuses a live target group that is not one of its targetGroups", async () => {
        const run = await runComponent(() => {
            const lb = new PublicLoadBalancer("public", loadBalancerArgs());
            const blue = new aws.lb.TargetGroup("blue", { port: 8000, protocol: "HTTP", targetType: "ip" });
            const stray = new aws.lb.TargetGroup("stray", { port: 8000, protocol: "HTTP", targetType: "ip" });
            lb.route("app", { host: "app.example.com", priority: 100, targetGroups: [blue], live: stray }, lb);
        });
        expect(run.error?.message).to.equal("app: the live target group is not one of the rule's targetGroups");
        expect(ofType(run, "aws:lb/listenerRule:ListenerRule")).to.deep.equal([]);
    });
});
