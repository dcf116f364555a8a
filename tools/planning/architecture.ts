import { CostResource } from "./cost";
import { graphOf } from "./graph";
import { ciIdentity, dataAccess, entryPath, INTERNET, natEgress, runsOn, SG } from "./architectureEdges";

export { dotHash, toDot, toMermaid } from "./architectureRender";

/**
 * The architecture picture, read from the resource graph: the way in from the
 * internet (DNS, certificate, web ACL, load balancers), services and tiers,
 * data stores and who uses them (security group rules, IAM policies, mounts),
 * the way out (NAT), and CI (runners, the deploy identity). Pure: the plan
 * renders it as Graphviz DOT (then SVG) and as a Mermaid block.
 */

export type Tier = "public" | "private" | "isolated" | "aws" | "outside";
/** Where a node is drawn: its subnet tier, AWS services outside the VPC, or CI (runners and the deploy identity). */
export type Cluster = Exclude<Tier, "outside"> | "ci";

export interface ArchNode {
    readonly id: string;
    readonly label: string;
    readonly kind:
        | "internet"
        | "network"
        | "dns"
        | "certificate"
        | "firewall"
        | "nat"
        | "load balancer"
        | "service"
        | "instances"
        | "tasks"
        | "database"
        | "cache"
        | "file system"
        | "volume"
        | "endpoints"
        | "buckets"
        | "secrets"
        | "identity provider"
        | "role";
    readonly tier: Tier;
    /** Drawn in this cluster rather than its tier's (the runners: CI). */
    readonly cluster?: "ci";
}

/** network: a security group rule; dns, egress: the way in and out; iam, mount, attached, trust: what uses or protects what. */
export type EdgeKind = "network" | "dns" | "egress" | "iam" | "mount" | "attached" | "trust";

export interface ArchEdge {
    /** A node id, or `cluster:<name>` for every node drawn in that cluster. */
    readonly from: string;
    readonly to: string;
    /** Protocol and port(s), e.g. "tcp/5432", or what the edge is. */
    readonly label: string;
    readonly kind: EdgeKind;
}

export interface Architecture {
    readonly stack: string;
    readonly nodes: readonly ArchNode[];
    readonly edges: readonly ArchEdge[];
    /** Which node each security group belongs to (by the group's URN). */
    readonly groups: Readonly<Record<string, string>>;
}

/** Nodes and edges one builder adds to the picture. */
export interface Part {
    readonly nodes: readonly ArchNode[];
    readonly edges: readonly ArchEdge[];
}

/** Components whose resources are drawn in the CI cluster. */
const CI_COMPONENTS = ["platform:runner:GitLabRunner", "platform:ci:DeployIdentity"];

/** The subnet ids of each tier, from the stack outputs that name them. */
export function subnetTiers(outputs: Readonly<Record<string, unknown>>): { public: string[]; private: string[]; isolated: string[] } {
    const list = (k: string) => (Array.isArray(outputs[k]) ? (outputs[k] as string[]) : []);
    return { public: list("publicSubnetIds"), private: list("privateSubnetIds"), isolated: list("isolatedSubnetIds") };
}

type Subnets = { public: readonly string[]; private: readonly string[]; isolated: readonly string[] };

/** What the builders read: resources by type, who each property comes from, the subnet tier of a list of subnet ids, whether a resource is CI's. */
export interface Reader {
    readonly of: (type: string) => CostResource[];
    readonly deps: (r: CostResource, property: string, type?: string) => CostResource[];
    readonly tierOf: (ids: readonly unknown[]) => Tier;
    readonly inCi: (r: CostResource) => boolean;
    /** The resources any property of which comes from `r`. */
    readonly dependents: (r: CostResource) => CostResource[];
}

/** A node, the security groups it owns and the resource it stands for. */
export type Placed = readonly [ArchNode, readonly CostResource[], CostResource];

function readerOf(resources: readonly CostResource[], subnets: Subnets): Reader {
    const { sources: deps, byUrn } = graphOf(resources);
    const of = (type: string) => resources.filter((r) => r.type === type);
    const tierOf = (ids: readonly unknown[]): Tier => {
        const list = ids.map(String);
        for (const t of ["public", "private", "isolated"] as const) {
            if (list.length > 0 && list.every((id) => subnets[t].includes(id))) {
                return t;
            }
        }
        return "outside";
    };
    const inCi = (r: CostResource): boolean => {
        const parent = r.parentUrn ? byUrn.get(r.parentUrn) : undefined;
        return parent !== undefined && (CI_COMPONENTS.includes(parent.type) || inCi(parent));
    };
    const dependents = (r: CostResource) => resources.filter((x) => Object.values(x.propertyDependencies).some((urns) => urns.includes(r.urn)));
    return { of, deps, tierOf, inCi, dependents };
}

/** Load balancers, ECS services and Auto Scaling groups. */
function computeNodes({ of, deps, tierOf, inCi }: Reader): Placed[] {
    const placed: Placed[] = [];
    for (const lb of of("aws:lb/loadBalancer:LoadBalancer")) {
        const nlb = lb.inputs.loadBalancerType === "network";
        placed.push([{ id: `lb_${lb.name}`, label: `${lb.name}\\n${nlb ? "NLB" : "ALB"}${lb.inputs.internal ? " (internal)" : ""}`, kind: "load balancer", tier: tierOf(lb.inputs.subnets ?? []) }, deps(lb, "securityGroups", SG), lb]);
    }
    for (const svc of of("aws:ecs/service:Service")) {
        const td = deps(svc, "taskDefinition")[0];
        const size = td ? `${Number(td.inputs.cpu) / 1024} vCPU / ${Number(td.inputs.memory) / 1024} GB` : "";
        const provider = svc.inputs.capacityProviderStrategies?.[0]?.capacityProvider ?? "FARGATE";
        placed.push([
            { id: `svc_${svc.name}`, label: `${svc.name}\\n${svc.inputs.desiredCount ?? 1} × ${size}\\n${/^FARGATE/.test(provider) ? provider : "EC2"}`, kind: "service", tier: tierOf(svc.inputs.networkConfiguration?.subnets ?? []), ...(inCi(svc) ? { cluster: "ci" as const } : {}) },
            deps(svc, "networkConfiguration", SG),
            svc,
        ]);
    }
    for (const asg of of("aws:autoscaling/group:Group")) {
        const lt = deps(asg, "launchTemplate")[0];
        const groups = lt ? [...deps(lt, "vpcSecurityGroupIds", SG), ...deps(lt, "networkInterfaces", SG)] : [];
        placed.push([
            { id: `asg_${asg.name}`, label: `${asg.name}\\nEC2 ${lt?.inputs.instanceType ?? "?"} ${asg.inputs.minSize}..${asg.inputs.maxSize}`, kind: "instances", tier: tierOf(asg.inputs.vpcZoneIdentifiers ?? []), ...(inCi(asg) ? { cluster: "ci" as const } : {}) },
            groups,
            asg,
        ]);
    }
    return placed;
}

/** Databases, caches, file systems and the interface endpoints (one node); the buckets are drawn with their users (architectureEdges.ts). */
function dataNodes({ of, deps, tierOf }: Reader): Placed[] {
    const placed: Placed[] = [];
    for (const db of of("aws:rds/instance:Instance")) {
        const group = deps(db, "dbSubnetGroupName", "aws:rds/subnetGroup:SubnetGroup")[0];
        placed.push([
            { id: `db_${db.name}`, label: `${db.name}\\nRDS PostgreSQL ${db.inputs.engineVersion}\\n${db.inputs.instanceClass}${db.inputs.multiAz ? " Multi-AZ" : ""}`, kind: "database", tier: tierOf(group?.inputs.subnetIds ?? []) },
            deps(db, "vpcSecurityGroupIds", SG),
            db,
        ]);
    }
    for (const c of of("aws:elasticache/replicationGroup:ReplicationGroup")) {
        const group = deps(c, "subnetGroupName", "aws:elasticache/subnetGroup:SubnetGroup")[0];
        placed.push([{ id: `cache_${c.name}`, label: `${c.name}\\n${c.inputs.engine} ${c.inputs.nodeType} × ${c.inputs.numCacheClusters ?? 1}`, kind: "cache", tier: tierOf(group?.inputs.subnetIds ?? []) }, deps(c, "securityGroupIds", SG), c]);
    }
    for (const fs of of("aws:efs/fileSystem:FileSystem")) {
        const targets = of("aws:efs/mountTarget:MountTarget").filter((t) => deps(t, "fileSystemId").includes(fs));
        placed.push([{ id: `efs_${fs.name}`, label: `${fs.name}\\nEFS`, kind: "file system", tier: tierOf(targets.map((t) => t.inputs.subnetId)) }, targets.flatMap((t) => deps(t, "securityGroups", SG)), fs]);
    }
    const endpoints = of("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface");
    if (endpoints.length > 0) {
        placed.push([
            { id: "endpoints", label: `VPC endpoints\\n${endpoints.map((e) => String(e.inputs.serviceName).split(".").slice(3).join(".")).join(", ")}`, kind: "endpoints", tier: tierOf(endpoints.flatMap((e) => e.inputs.subnetIds ?? [])) },
            endpoints.flatMap((e) => deps(e, "securityGroupIds", SG)),
            endpoints[0],
        ]);
    }
    return placed;
}

/**
 * Groups no node above owns belong to tasks that run without a service (the
 * scheduled backup, the migrate step): a node each, named after the group, so
 * what they reach is drawn too.
 */
function taskNodes({ of, deps }: Reader, owner: ReadonlyMap<string, string>): Placed[] {
    const placed: Placed[] = [];
    for (const g of of(SG).filter((g) => !owner.has(g.urn))) {
        const reaches = of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").some((r) => deps(r, "referencedSecurityGroupId", SG).includes(g) || deps(r, "securityGroupId", SG).includes(g));
        if (reaches) {
            placed.push([{ id: `sg_${g.name}`, label: `${g.name}\\n${String(g.inputs.description ?? "tasks")}`, kind: "tasks", tier: "private" }, [g], g]);
        }
    }
    return placed;
}

/** Where an ingress rule admits traffic from: a node's group, or (a node of its own, outside) the internet or a CIDR. */
function sourceOf(rule: CostResource, { deps }: Reader, owner: ReadonlyMap<string, string>): { from?: string; outside?: ArchNode } {
    const from = deps(rule, "referencedSecurityGroupId", SG).map((g) => owner.get(g.urn))[0];
    if (!from && (rule.inputs.cidrIpv4 === "0.0.0.0/0" || rule.inputs.cidrIpv6 === "::/0")) {
        return { from: INTERNET.id, outside: INTERNET };
    } else if (!from && (rule.inputs.cidrIpv4 || rule.inputs.cidrIpv6)) {
        const cidr = String(rule.inputs.cidrIpv4 ?? rule.inputs.cidrIpv6);
        return { from: `cidr_${cidr}`, outside: { id: `cidr_${cidr}`, label: `${cidr}\\n(the VPC)`, kind: "network", tier: "outside" } };
    }
    return { from };
}

/** One edge per pair of nodes an ingress rule connects, labelled with its protocols and ports; the sources outside the VPC's groups join `nodes`. */
function ingressEdges(g: Reader, owner: ReadonlyMap<string, string>, nodes: Map<string, ArchNode>): ArchEdge[] {
    const edges = new Map<string, ArchEdge>();
    for (const rule of g.of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) {
        const to = g.deps(rule, "securityGroupId", SG).map((sg) => owner.get(sg.urn))[0];
        if (!to) {
            continue;
        }
        const { from, outside } = sourceOf(rule, g, owner);
        if (outside) {
            nodes.set(outside.id, outside);
        }
        if (!from || from === to) {
            continue;
        }
        const i = rule.inputs;
        const label = i.ipProtocol === "-1" ? "all" : `${i.ipProtocol}/${i.fromPort === i.toPort ? i.fromPort : `${i.fromPort}-${i.toPort}`}`;
        const key = `${from}->${to}`;
        const prev = edges.get(key);
        edges.set(key, { from, to, label: prev ? [...new Set([...prev.label.split(", "), label])].sort().join(", ") : label, kind: "network" });
    }
    return [...edges.values()];
}

export function architecture(stack: string, resources: readonly CostResource[], subnets: Subnets): Architecture {
    const g = readerOf(resources, subnets);
    const nodes = new Map<string, ArchNode>();
    const owner = new Map<string, string>(); // security group URN → node id
    const place = ([n, groups]: Placed) => {
        nodes.set(n.id, n);
        for (const sg of groups) {
            owner.set(sg.urn, n.id);
        }
    };
    const placed = [...computeNodes(g), ...dataNodes(g)];
    placed.forEach(place);
    const tasks = taskNodes(g, owner);
    tasks.forEach(place);
    const edges = ingressEdges(g, owner, nodes);
    const all = [...placed, ...tasks];
    for (const part of [entryPath(g), natEgress(g, owner, nodes), dataAccess(g, all), runsOn(g, all), ciIdentity(g)]) {
        part.nodes.forEach((n) => nodes.set(n.id, n));
        edges.push(...part.edges);
    }
    const sorted = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
    edges.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label));
    return { stack, nodes: sorted, edges, groups: Object.fromEntries([...owner].sort()) };
}
