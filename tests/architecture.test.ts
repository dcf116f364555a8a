import { expect } from "chai";
import { ArchEdge, Architecture, architecture, subnetTiers } from "../tools/planning/architecture";
import { ofType, readStackConfig, Resource, stackRun, StackRun, STACKS } from "../sim/harness";

/**
 * The architecture picture beyond the security group rules, checked against
 * the graph it is drawn from: the way in (Route 53, ACM, WAF), the way out
 * (NAT), every data store joined to its users, CI as its own cluster.
 */
describe("architecture picture: the way in and out, data stores and CI (tools/planning/architecture*.ts)", function () {
    this.timeout(300_000);

    const byUrn = (run: StackRun) => new Map(run.resources.map((r) => [r.urn, r]));
    /** The resources a property of `r` comes from, of `type`. */
    const from = (run: StackRun, r: Resource, property: string, type: string) => (r.propertyDependencies[property] ?? []).map((u) => byUrn(run).get(u)).filter((x): x is Resource => x?.type === type);
    const edgesOf = (a: Architecture, f: (e: ArchEdge) => boolean) => a.edges.filter(f);
    const has = (a: Architecture, fromId: string, to: string, kind?: ArchEdge["kind"]) => a.edges.some((e) => e.from === fromId && e.to === to && (!kind || e.kind === kind));

    for (const stack of STACKS) {
        describe(stack, () => {
            let run: StackRun;
            let a: Architecture;
            before(async () => {
                run = await stackRun(stack);
                a = architecture(stack, run.resources, subnetTiers(run.outputs));
            });

            it("internet → Route 53 → every internet-facing load balancer, labelled with the names that alias it", () => {
                expect(has(a, "internet", "route53", "dns")).to.equal(true);
                const facing = ofType(run, "aws:lb/loadBalancer:LoadBalancer").filter((lb) => !lb.inputs.internal);
                expect(facing, "internet-facing load balancers").to.not.have.lengthOf(0);
                for (const lb of facing) {
                    const names = ofType(run, "aws:route53/record:Record").filter((r) => (r.propertyDependencies.aliases ?? []).includes(lb.urn)).map((r) => String(r.inputs.name));
                    expect(names, `${lb.name}: records aliasing it`).to.not.have.lengthOf(0);
                    const edge = a.edges.find((e) => e.from === "route53" && e.to === `lb_${lb.name}`);
                    expect(edge?.label.split("\\n").sort(), lb.name).to.deep.equal([...names].sort());
                }
            });

            it("the certificate of each HTTPS listener is attached to its load balancer", () => {
                const listeners = ofType(run, "aws:lb/listener:Listener").filter((l) => l.inputs.certificateArn);
                expect(listeners, "listeners with a certificate").to.not.have.lengthOf(0);
                for (const l of listeners) {
                    const lb = from(run, l, "loadBalancerArn", "aws:lb/loadBalancer:LoadBalancer")[0];
                    const acm = edgesOf(a, (e) => e.to === `lb_${lb.name}` && e.from.startsWith("acm_") && e.kind === "attached");
                    expect(acm.map((e) => e.label), l.name).to.deep.equal([`${l.inputs.protocol} :${l.inputs.port}`]);
                    const cert = a.nodes.find((n) => n.id === acm[0].from);
                    const domains = ofType(run, "aws:acm/certificate:Certificate").map((c) => String(c.inputs.domainName));
                    expect(domains.some((d) => cert?.label.includes(d)), "the certificate's domain on its node").to.equal(true);
                }
            });

            it("the web ACL is attached to the ALB when the stack enables it, and absent when it does not", () => {
                const associations = ofType(run, "aws:wafv2/webAclAssociation:WebAclAssociation");
                const enabled = (readStackConfig(stack)["platform:loadBalancer"] as { waf?: { enabled?: boolean } } | undefined)?.waf?.enabled !== false;
                expect(associations.length > 0, "a web ACL association in the graph").to.equal(enabled);
                for (const assoc of associations) {
                    const lb = from(run, assoc, "resourceArn", "aws:lb/loadBalancer:LoadBalancer")[0];
                    const acl = from(run, assoc, "webAclArn", "aws:wafv2/webAcl:WebAcl")[0];
                    expect(has(a, `waf_${acl.name}`, `lb_${lb.name}`, "attached"), assoc.name).to.equal(true);
                }
                if (!enabled) {
                    expect(a.nodes.filter((n) => n.kind === "firewall")).to.deep.equal([]);
                    expect(a.edges.filter((e) => e.from.startsWith("waf_"))).to.deep.equal([]);
                }
            });

            it("NAT: the private subnets (and CI's runners) send through it to the internet", () => {
                const vpc = ofType(run, "awsx:ec2:Vpc")[0];
                expect(vpc.inputs.natGateways?.strategy ?? "None", "the VPC's NAT strategy").to.not.equal("None");
                expect(a.nodes.find((n) => n.id === "nat")?.tier).to.equal("public");
                expect(has(a, "nat", "internet", "egress")).to.equal(true);
                expect(has(a, "cluster:private", "nat", "egress")).to.equal(true);
                const runners = a.nodes.filter((n) => n.cluster === "ci" && n.tier === "private");
                expect(has(a, "cluster:ci", "nat", "egress"), "CI's runners egress").to.equal(runners.length > 0);
            });

            it("every bucket is on a node, and that node has an edge; a service reaches each bucket its task role's policies name", () => {
                const buckets = a.nodes.filter((n) => n.kind === "buckets");
                for (const b of ofType(run, "aws:s3/bucket:Bucket")) {
                    const node = buckets.find((n) => n.label.split(/\\n|, /).includes(b.name));
                    expect(node, `${b.name}: its node`).to.not.equal(undefined);
                    expect(a.edges.some((e) => e.to === node!.id || e.from === node!.id), `${b.name}: an edge`).to.equal(true);
                }
                let checked = 0;
                for (const svc of ofType(run, "aws:ecs/service:Service")) {
                    const roles = from(run, svc, "taskDefinition", "aws:ecs/taskDefinition:TaskDefinition").flatMap((td) => from(run, td, "taskRoleArn", "aws:iam/role:Role"));
                    const policies = ofType(run, "aws:iam/rolePolicy:RolePolicy").filter((p) => from(run, p, "role", "aws:iam/role:Role").some((r) => roles.includes(r)));
                    for (const bucket of policies.flatMap((p) => from(run, p, "policy", "aws:s3/bucket:Bucket"))) {
                        const node = buckets.find((n) => n.label.split(/\\n|, /).includes(bucket.name));
                        expect(has(a, `svc_${svc.name}`, node!.id, "iam"), `${svc.name} → ${bucket.name}`).to.equal(true);
                        checked++;
                    }
                }
                expect(checked, "buckets named by services' task roles").to.be.greaterThan(0);
            });

            it("file systems and volumes are joined to who mounts or attaches them; an EC2-backed service to its hosts", () => {
                for (const td of ofType(run, "aws:ecs/taskDefinition:TaskDefinition")) {
                    for (const fs of from(run, td, "volumes", "aws:efs/fileSystem:FileSystem")) {
                        const svc = ofType(run, "aws:ecs/service:Service").filter((s) => (s.propertyDependencies.taskDefinition ?? []).includes(td.urn));
                        svc.forEach((s) => expect(has(a, `svc_${s.name}`, `efs_${fs.name}`, "mount"), `${s.name} mounts ${fs.name}`).to.equal(true));
                    }
                }
                for (const v of ofType(run, "aws:ebs/volume:Volume")) {
                    const users = a.edges.filter((e) => e.to === `ebs_${v.name}`).map((e) => e.from);
                    expect(users, `${v.name}: who attaches it`).to.not.have.lengthOf(0);
                    expect(users.every((u) => u.startsWith("asg_")), `${v.name}: an instance group attaches it`).to.equal(true);
                    for (const host of users) {
                        expect(a.edges.some((e) => e.to === host && e.label === "runs on"), `${host}: the service it hosts`).to.equal(true);
                    }
                }
            });

            it("CI is its own cluster: the runners, the deploy roles and the OIDC provider they trust", () => {
                const ciRoles = ofType(run, "aws:iam/role:Role").filter((r) => byUrn(run).get(r.parentUrn ?? "")?.type === "platform:ci:DeployIdentity");
                expect(ciRoles, "the deploy identity's roles").to.not.have.lengthOf(0);
                for (const role of ciRoles) {
                    expect(a.nodes.find((n) => n.id === `role_${role.name}`)?.cluster, role.name).to.equal("ci");
                    expect(a.edges.some((e) => e.to === `role_${role.name}` && e.kind === "trust" && e.from.startsWith("oidc_")), `${role.name}: trusted provider`).to.equal(true);
                }
                const provider = ofType(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")[0];
                const oidc = a.nodes.filter((n) => n.kind === "identity provider");
                expect(oidc.map((n) => n.label.includes("another stack's")), "the provider is this stack's when the graph has it").to.deep.equal(oidc.map(() => provider === undefined));
                const runnerParts = run.resources.filter((r) => ["aws:ecs/service:Service", "aws:autoscaling/group:Group"].includes(r.type) && byUrn(run).get(r.parentUrn ?? "")?.type === "platform:runner:GitLabRunner");
                for (const r of runnerParts) {
                    expect(a.nodes.find((n) => n.id.endsWith(`_${r.name}`))?.cluster, r.name).to.equal("ci");
                }
            });

            it("no node without an edge but the internet; edges and nodes sorted, every edge between drawn nodes", () => {
                const ends = new Set(a.edges.flatMap((e) => [e.from, e.to]));
                expect(a.nodes.filter((n) => n.id !== "internet" && !ends.has(n.id)).map((n) => n.id)).to.deep.equal([]);
                const ids = new Set(a.nodes.map((n) => n.id));
                expect([...ends].filter((e) => !ids.has(e) && !/^cluster:(private|ci)$/.test(e))).to.deep.equal([]);
                expect(a.nodes.map((n) => n.id)).to.deep.equal(a.nodes.map((n) => n.id).sort((x, y) => x.localeCompare(y)));
                expect(architecture(stack, run.resources, subnetTiers(run.outputs))).to.deep.equal(a);
            });
        });
    }
});
