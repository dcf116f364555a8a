import type { ArchEdge, ArchNode, Part, Placed, Reader } from "./architecture";
import { CostResource } from "./cost";
import { natGatewayCount } from "./priceRules";

/**
 * The parts of the architecture picture beyond the security group rules, each
 * read from the graph: the way in (Route 53's aliases, the listeners'
 * certificates, the web ACL), the way out (NAT), who uses which data store
 * (the IAM policies of their roles, their mounts), what runs on what, and the
 * CI deploy identity.
 */

export const SG = "aws:ec2/securityGroup:SecurityGroup";
export const INTERNET: ArchNode = { id: "internet", label: "internet", kind: "internet", tier: "outside" };

const LB = "aws:lb/loadBalancer:LoadBalancer";
const ROLE = "aws:iam/role:Role";
const CERT = "aws:acm/certificate:Certificate";
const CERT_VALIDATION = "aws:acm/certificateValidation:CertificateValidation";
const BUCKET = "aws:s3/bucket:Bucket";
const SECRET = "aws:secretsmanager/secret:Secret";
const TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition";
const lbId = (lb: CostResource) => `lb_${lb.name}`;

/** Nodes by id and edges without repeats (the same pair, kind and label once). */
function collect(): { nodes: Map<string, ArchNode>; edges: Map<string, ArchEdge>; add: (e: ArchEdge) => void; part: () => Part } {
    const nodes = new Map<string, ArchNode>();
    const edges = new Map<string, ArchEdge>();
    const add = (e: ArchEdge) => edges.set(`${e.from}|${e.to}|${e.kind}|${e.label}`, e);
    return { nodes, edges, add, part: () => ({ nodes: [...nodes.values()], edges: [...edges.values()] }) };
}

/** The internet asks Route 53, whose records alias the load balancers; the listeners' certificates (validated through Route 53) and the web ACLs sit on them. */
export function entryPath(g: Reader): Part {
    const c = collect();
    const names = new Map<string, string[]>(); // load balancer node → the names aliasing it
    for (const rec of g.of("aws:route53/record:Record")) {
        g.deps(rec, "aliases", LB).forEach((lb) => names.set(lbId(lb), [...(names.get(lbId(lb)) ?? []), String(rec.inputs.name)]));
    }
    if (names.size > 0) {
        c.nodes.set(INTERNET.id, INTERNET);
        c.nodes.set("route53", { id: "route53", label: `Route 53\\n${[...names.values()].flat().length} names`, kind: "dns", tier: "outside" });
        c.add({ from: INTERNET.id, to: "route53", label: "DNS", kind: "dns" });
        names.forEach((list, to) => c.add({ from: "route53", to, label: list.sort().join("\\n"), kind: "dns" }));
    }
    certificates(g, c);
    for (const a of g.of("aws:wafv2/webAclAssociation:WebAclAssociation")) {
        for (const acl of g.deps(a, "webAclArn", "aws:wafv2/webAcl:WebAcl")) {
            c.nodes.set(`waf_${acl.name}`, { id: `waf_${acl.name}`, label: `WAF web ACL\\n${(acl.inputs.rules ?? []).length} rules`, kind: "firewall", tier: "aws" });
            g.deps(a, "resourceArn", LB).forEach((lb) => c.add({ from: `waf_${acl.name}`, to: lbId(lb), label: "web ACL", kind: "attached" }));
        }
    }
    return c.part();
}

/** The certificates on the listeners, and their DNS validation records when Route 53 is drawn. */
function certificates({ of, deps }: Reader, c: ReturnType<typeof collect>): void {
    for (const l of of("aws:lb/listener:Listener")) {
        const certs = [...deps(l, "certificateArn", CERT), ...deps(l, "certificateArn", CERT_VALIDATION).flatMap((v) => deps(v, "certificateArn", CERT))];
        for (const cert of new Set(certs)) {
            const sans = (cert.inputs.subjectAlternativeNames ?? []).length;
            c.nodes.set(`acm_${cert.name}`, { id: `acm_${cert.name}`, label: `ACM certificate\\n${cert.inputs.domainName}${sans ? ` + ${sans} names` : ""}`, kind: "certificate", tier: "aws" });
            deps(l, "loadBalancerArn", LB).forEach((lb) => c.add({ from: `acm_${cert.name}`, to: lbId(lb), label: `${l.inputs.protocol} :${l.inputs.port}`, kind: "attached" }));
        }
    }
    for (const v of c.nodes.has("route53") ? of(CERT_VALIDATION) : []) {
        const records = deps(v, "validationRecordFqdns", "aws:route53/record:Record").length;
        for (const cert of deps(v, "certificateArn", CERT).filter((x) => records > 0 && c.nodes.has(`acm_${x.name}`))) {
            c.add({ from: "route53", to: `acm_${cert.name}`, label: `validation (${records} records)`, kind: "dns" });
        }
    }
}

/** The NAT gateways, the internet beyond them, and an edge from each cluster whose private-subnet nodes may send anywhere (a 0.0.0.0/0 egress rule). */
export function natEgress({ of, deps }: Reader, owner: ReadonlyMap<string, string>, nodes: ReadonlyMap<string, ArchNode>): Part {
    const count = of("aws:ec2/natGateway:NatGateway").length + of("awsx:ec2:Vpc").reduce((n, vpc) => n + natGatewayCount(vpc), 0);
    if (count === 0) {
        return { nodes: [], edges: [] };
    }
    const nat: ArchNode = { id: "nat", label: count === 1 ? "NAT gateway" : `NAT gateways × ${count}`, kind: "nat", tier: "public" };
    const clusters = new Set<string>();
    for (const rule of of("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0")) {
        for (const n of deps(rule, "securityGroupId", SG).map((sg) => nodes.get(owner.get(sg.urn) ?? ""))) {
            if (n?.tier === "private") {
                clusters.add(n.cluster ?? n.tier);
            }
        }
    }
    const out: ArchEdge[] = [...clusters].sort().map((c) => ({ from: `cluster:${c}`, to: nat.id, label: "0.0.0.0/0", kind: "egress" }));
    return { nodes: [nat, INTERNET], edges: [{ from: nat.id, to: INTERNET.id, label: "egress", kind: "egress" }, ...out] };
}

/** The task definitions and IAM roles that act for a node: a service's, a standalone task's (run with the node's group), an instance group's. */
function actorsOf({ deps, dependents }: Reader, [node, , source]: Placed, standalone: readonly CostResource[]): { roles: CostResource[]; taskDefs: CostResource[] } {
    let taskDefs: CostResource[] = [];
    let roles: CostResource[] = [];
    if (source.type === "aws:ecs/service:Service") {
        taskDefs = deps(source, "taskDefinition", TASK_DEF);
    } else if (node.kind === "tasks") {
        const runners = dependents(source);
        taskDefs = standalone.filter((td) => runners.some((r) => Object.values(r.propertyDependencies).some((urns) => urns.includes(td.urn))));
    } else if (source.type === "aws:autoscaling/group:Group") {
        const profiles = deps(source, "launchTemplate").flatMap((lt) => deps(lt, "iamInstanceProfile", "aws:iam/instanceProfile:InstanceProfile"));
        roles = profiles.flatMap((p) => deps(p, "role", ROLE));
    }
    roles.push(...taskDefs.flatMap((td) => [...deps(td, "taskRoleArn", ROLE), ...deps(td, "executionRoleArn", ROLE)]));
    return { roles, taskDefs };
}

/** What the policies of `roles` name: their inline policies' and attached managed policies' sources. */
function namedBy({ of, deps }: Reader, roles: readonly CostResource[]): CostResource[] {
    const ofRoles = (type: string) => of(type).filter((p) => deps(p, "role", ROLE).some((r) => roles.includes(r)));
    const policies = [...ofRoles("aws:iam/rolePolicy:RolePolicy"), ...ofRoles("aws:iam/rolePolicyAttachment:RolePolicyAttachment").flatMap((a) => deps(a, "policyArn", "aws:iam/policy:Policy"))];
    return [...new Set(policies.flatMap((p) => deps(p, "policy")))];
}

/** Buckets with the same users (and the same kind of use) are one node: the picture shows who reaches which data, not fourteen boxes. */
function bucketNodes(users: ReadonlyMap<CostResource, ReadonlyMap<string, string>>): Part {
    const groups = new Map<string, { buckets: string[]; users: ReadonlyMap<string, string> }>();
    for (const [bucket, by] of users) {
        const key = [...by].map(([id, label]) => `${id}:${label}`).sort().join(",");
        groups.set(key, { buckets: [...(groups.get(key)?.buckets ?? []), bucket.name].sort(), users: by });
    }
    const nodes: ArchNode[] = [];
    const edges: ArchEdge[] = [];
    for (const { buckets, users: by } of groups.values()) {
        const id = `s3_${buckets[0]}`;
        const label = buckets.length === 1 ? `S3\\n${buckets[0]}` : `S3 × ${buckets.length}\\n${chunk(buckets, 3).map((l) => l.join(", ")).join("\\n")}`;
        nodes.push({ id, label, kind: "buckets", tier: "aws" });
        by.forEach((l, from) => edges.push({ from, to: id, label: l, kind: "iam" }));
    }
    return { nodes, edges };
}

function chunk<T>(xs: readonly T[], n: number): T[][] {
    return Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
}

/** Every data store joined to its users: buckets and EBS volumes named by their roles' policies, secrets likewise, EFS by the tasks that mount it, the access log bucket by its load balancer. */
export function dataAccess(g: Reader, placed: readonly Placed[]): Part {
    const c = collect();
    const services = new Set(g.of("aws:ecs/service:Service").flatMap((s) => g.deps(s, "taskDefinition", TASK_DEF)));
    const standalone = g.of(TASK_DEF).filter((td) => !services.has(td));
    // Every bucket, used or not: one no role names would be a node without an edge, and the tests say so.
    const buckets = new Map<CostResource, Map<string, string>>(g.of(BUCKET).map((b) => [b, new Map<string, string>()]));
    const use = (b: CostResource, from: string, label: string) => buckets.set(b, (buckets.get(b) ?? new Map<string, string>()).set(from, label));
    for (const p of placed) {
        const [node, , source] = p;
        const { roles, taskDefs } = actorsOf(g, p, standalone);
        const named = namedBy(g, roles);
        named.filter((r) => r.type === BUCKET).forEach((b) => use(b, node.id, "IAM policy"));
        g.deps(source, "accessLogs", BUCKET).forEach((b) => use(b, node.id, "access logs"));
        const secrets = named.filter((r) => r.type === SECRET).length;
        if (secrets > 0) {
            c.add({ from: node.id, to: "secrets", label: `${secrets} secret${secrets === 1 ? "" : "s"}`, kind: "iam" });
        }
        for (const v of named.filter((r) => r.type === "aws:ebs/volume:Volume")) {
            c.nodes.set(`ebs_${v.name}`, { id: `ebs_${v.name}`, label: `${v.name}\\nEBS ${v.inputs.type ?? "gp3"} ${v.inputs.size} GB`, kind: "volume", tier: node.tier, ...(node.cluster ? { cluster: node.cluster } : {}) });
            c.add({ from: node.id, to: `ebs_${v.name}`, label: "IAM policy (attach)", kind: "iam" });
        }
        for (const fs of taskDefs.flatMap((td) => g.deps(td, "volumes", "aws:efs/fileSystem:FileSystem"))) {
            c.add({ from: node.id, to: `efs_${fs.name}`, label: "NFS mount", kind: "mount" });
        }
    }
    if ([...c.edges.values()].some((e) => e.to === "secrets")) {
        c.nodes.set("secrets", { id: "secrets", label: `Secrets Manager\\n${g.of(SECRET).length} secrets`, kind: "secrets", tier: "aws" });
    }
    const s3 = bucketNodes(buckets);
    return { nodes: [...c.part().nodes, ...s3.nodes], edges: [...c.part().edges, ...s3.edges] };
}

/** A service on EC2 capacity runs on the instance group behind its capacity provider. */
export function runsOn({ deps }: Reader, placed: readonly Placed[]): Part {
    const idOf = new Map(placed.map(([n, , r]) => [r.urn, n.id]));
    const edges: ArchEdge[] = [];
    for (const [node, , source] of placed.filter(([, , r]) => r.type === "aws:ecs/service:Service")) {
        const groups = deps(source, "capacityProviderStrategies", "aws:ecs/capacityProvider:CapacityProvider").flatMap((cp) => deps(cp, "autoScalingGroupProvider", "aws:autoscaling/group:Group"));
        groups.forEach((asg) => idOf.has(asg.urn) && edges.push({ from: node.id, to: idOf.get(asg.urn)!, label: "runs on", kind: "attached" }));
    }
    return { nodes: [], edges };
}

/** The OIDC providers a role's trust policy names (by ARN: the provider may be another stack's). */
function federatedArns(role: CostResource): string[] {
    const doc = typeof role.inputs.assumeRolePolicy === "string" ? JSON.parse(role.inputs.assumeRolePolicy) : role.inputs.assumeRolePolicy;
    const statements: { Principal?: { Federated?: string | string[] } }[] = [doc?.Statement ?? []].flat();
    return statements.flatMap((s) => [s.Principal?.Federated ?? []].flat()).filter((a) => a.includes(":oidc-provider/"));
}

/** The CI deploy identity: the roles CI jobs assume with GitLab's ID tokens, and the OIDC provider they trust (this stack's, or another's by ARN). */
export function ciIdentity({ of, deps, inCi }: Reader): Part {
    const c = collect();
    for (const role of of(ROLE).filter((r) => inCi(r) && federatedArns(r).length > 0)) {
        const own = deps(role, "assumeRolePolicy", "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        const hosts = own.length > 0 ? own.map((p) => String(p.inputs.url).replace(/^https:\/\//, "")) : federatedArns(role).map((a) => a.split(":oidc-provider/")[1]);
        for (const host of hosts) {
            const id = `oidc_${host}`;
            c.nodes.set(id, { id, label: `OIDC provider\\n${host}${own.length > 0 ? "" : "\\n(another stack's)"}`, kind: "identity provider", tier: "aws", cluster: "ci" });
            c.add({ from: id, to: `role_${role.name}`, label: "web identity", kind: "trust" });
        }
        c.nodes.set(`role_${role.name}`, { id: `role_${role.name}`, label: `${role.name}\\nIAM role`, kind: "role", tier: "aws", cluster: "ci" });
    }
    return c.part();
}
