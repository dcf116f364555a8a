import { expect } from "chai";
import { inComponent, named, ofType, stackRun, STACKS } from "../sim/harness";

/** The shared ALB and certificate, and the app's target groups and host rule on it, as both stacks build them. */

const T = {
    lb: "aws:lb/loadBalancer:LoadBalancer",
    listener: "aws:lb/listener:Listener",
    rule: "aws:lb/listenerRule:ListenerRule",
    tg: "aws:lb/targetGroup:TargetGroup",
    record: "aws:route53/record:Record",
} as const;

describe("Django app service", () => {
    describe("HTTPS entry", () => {
        for (const stack of STACKS) {
            it(`${stack}: one ALB in the public subnets with TLS 1.3, a redirect-only HTTP listener and hardened settings`, async () => {
                const run = await stackRun(stack);
                // One ALB per stack; GitLab's SSH load balancer is a network one.
                const albs = ofType(run, T.lb).filter((x) => x.inputs.loadBalancerType === "application");
                const [lb] = albs;
                expect(albs).to.have.length(1);
                expect(lb.inputs).to.include({ loadBalancerType: "application", internal: false, dropInvalidHeaderFields: true });
                expect(["defensive", "strictest"]).to.include(lb.inputs.desyncMitigationMode);
                expect(lb.inputs.subnets).to.deep.equal(run.outputs.publicSubnetIds);
                expect(lb.inputs.securityGroups).to.deep.equal([run.outputs.loadBalancerSecurityGroupId]);
                expect(lb.inputs.accessLogs).to.include({ enabled: true, prefix: "alb" });
                expect(lb.inputs.accessLogs.bucket).to.equal(run.outputs.albAccessLogBucket);
                expect(lb.inputs.enableDeletionProtection).to.equal(stack === "prod");

                const https = named(run, T.listener, "public-https");
                expect(https.inputs).to.include({ port: 443, protocol: "HTTPS" });
                expect(https.inputs.sslPolicy).to.match(/^ELBSecurityPolicy-TLS13-/);
                expect(https.inputs.defaultActions[0].fixedResponse.statusCode).to.equal("404");
                const http = named(run, T.listener, "public-http");
                expect(http.inputs.port).to.equal(80);
                expect(http.inputs.defaultActions).to.deep.equal([{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
            });

            it(`${stack}: ACM certificate for every host name, validated through Route 53`, async () => {
                const run = await stackRun(stack);
                const cert = named(run, "aws:acm/certificate:Certificate", "public-cert");
                const zone = stack === "prod" ? "example.com" : "dev.example.com";
                const host = `app.${zone}`;
                expect(cert.inputs).to.include({ domainName: host, validationMethod: "DNS" });
                // GitLab's web, registry and SSH names too: the certificate covers every name of the stack.
                const others = [`gitlab.${zone}`, `registry.gitlab.${zone}`, `ssh.gitlab.${zone}`];
                expect(cert.inputs.subjectAlternativeNames).to.deep.equal(others);
                for (const name of [host, ...others]) {
                    expect(named(run, T.record, `public-cert-${name}`).inputs.zoneId).to.equal("Z0123456789ABCDEFGHIJ");
                }
                const validation = named(run, "aws:acm/certificateValidation:CertificateValidation", "public-cert");
                expect(validation.inputs.validationRecordFqdns).to.have.length(4);
                // The listener uses the certificate only once validation has completed.
                expect(named(run, T.listener, "public-https").inputs.certificateArn).to.equal(validation.inputs.certificateArn);
                const alias = named(run, T.record, `public-${host}`);
                expect(alias.inputs.aliases[0].name).to.equal(run.outputs.albDnsName);
                expect(run.outputs.appUrl).to.equal(`https://${host}`);
            });
        }

        it("writes access logs to a bucket only the ELB log-delivery account may write", async () => {
            const run = await stackRun("prod");
            const policy = JSON.parse(named(run, "aws:s3/bucketPolicy:BucketPolicy", "public-access-logs-policy").inputs.policy);
            const allow = policy.Statement.find((s: any) => s.Effect === "Allow");
            expect(allow.Principal).to.deep.equal({ AWS: "arn:aws:iam::127311923021:root" });
            expect(allow.Action).to.equal("s3:PutObject");
            expect(allow.Resource).to.match(/^arn:aws:s3:::public-access-logs-[0-9a-f]+\/alb\/AWSLogs\/123456789012\/\*$/);
            const sse = named(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "public-access-logs-sse");
            expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("AES256");
        });

        for (const stack of STACKS) {
            it(`${stack}: ip target groups on the app port, readiness health check with tuned timing, short deregistration`, async () => {
                const run = await stackRun(stack);
                const groups = inComponent(run, T.tg, "app");
                expect(groups).to.have.length(stack === "prod" ? 2 : 1);
                for (const tg of groups) {
                    // The group's own port is never used (ECS registers tasks at the container port).
                    expect(tg.inputs).to.include({ targetType: "ip", port: 80, protocol: "HTTP" });
                    expect(tg.inputs.healthCheck.port ?? "traffic-port").to.equal("traffic-port");
                    expect(tg.inputs.deregistrationDelay).to.be.at.most(30);
                    expect(tg.inputs.healthCheck).to.include({ path: "/readyz", matcher: "200", interval: 10, healthyThreshold: 2 });
                    expect(tg.inputs.healthCheck.timeout).to.be.lessThan(tg.inputs.healthCheck.interval);
                }
            });
        }

        it("routes the app's host name to it on the HTTPS listener", async () => {
            const dev = await stackRun("dev");
            const rule = named(dev, T.rule, "app");
            expect(rule.inputs.conditions).to.deep.equal([{ hostHeader: { values: ["app.dev.example.com"] } }]);
            expect(rule.inputs.actions[0].targetGroupArn).to.match(/targetgroup\/app\//);
            expect(rule.ignoreChanges).to.deep.equal([]);
            // prod: ECS owns the weights between the two groups, so Pulumi must not reset them.
            const prod = await stackRun("prod");
            const prodRule = named(prod, T.rule, "app");
            expect(prodRule.inputs.actions[0].forward.targetGroups.map((g: any) => g.weight)).to.deep.equal([100, 0]);
            expect(prodRule.ignoreChanges).to.deep.equal(["actions[*].forward.targetGroups[*].weight"]);
        });
    });
});
