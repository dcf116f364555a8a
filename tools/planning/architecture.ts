import { createHash } from "crypto";
import { CostResource } from "./cost";
import { graphOf } from "./graph";

/**
 * The architecture picture, read from the resource graph: load balancers,
 * services and tiers, data stores, the subnet tier each sits in, and who may
 * talk to whom on which port (the security group rules). Pure: the plan
 * renders it as Graphviz DOT (then SVG) and as a Mermaid block.
 */

export type Tier = "public" | "private" | "isolated" | "outside";

export interface ArchNode {
    readonly id: string;
    readonly label: string;
    readonly kind: "internet" | "network" | "load balancer" | "service" | "instances" | "tasks" | "database" | "cache" | "file system" | "endpoints" | "buckets";
    readonly tier: Tier;
}

export interface ArchEdge {
    readonly from: string;
    readonly to: string;
    /** Protocol and port(s), e.g. "tcp/5432". */
    readonly label: string;
}

export interface Architecture {
    readonly stack: string;
    readonly nodes: readonly ArchNode[];
    readonly edges: readonly ArchEdge[];
    /** Which node each security group belongs to (by the group's URN). */
    readonly groups: Readonly<Record<string, string>>;
}

const SG = "aws:ec2/securityGroup:SecurityGroup";

/** The subnet ids of each tier, from the stack outputs that name them. */
export function subnetTiers(outputs: Readonly<Record<string, unknown>>): { public: string[]; private: string[]; isolated: string[] } {
    const list = (k: string) => (Array.isArray(outputs[k]) ? (outputs[k] as string[]) : []);
    return { public: list("publicSubnetIds"), private: list("privateSubnetIds"), isolated: list("isolatedSubnetIds") };
}

type Subnets = { public: readonly string[]; private: readonly string[]; isolated: readonly string[] };

/** What the node builders read: resources by type, who each property comes from, the subnet tier of a list of subnet ids. */
interface Reader {
    readonly of: (type: string) => CostResource[];
    readonly deps: (r: CostResource, property: string, type?: string) => CostResource[];
    readonly tierOf: (ids: readonly unknown[]) => Tier;
}

/** A node and the security groups it owns. */
type Placed = readonly [ArchNode, readonly CostResource[]];

function readerOf(resources: readonly CostResource[], subnets: Subnets): Reader {
    const { sources: deps } = graphOf(resources);
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
    return { of, deps, tierOf };
}

/** Load balancers, ECS services and Auto Scaling groups. */
function computeNodes({ of, deps, tierOf }: Reader): Placed[] {
    const placed: Placed[] = [];
    for (const lb of of("aws:lb/loadBalancer:LoadBalancer")) {
        const nlb = lb.inputs.loadBalancerType === "network";
        placed.push([{ id: `lb_${lb.name}`, label: `${lb.name}\\n${nlb ? "NLB" : "ALB"}${lb.inputs.internal ? " (internal)" : ""}`, kind: "load balancer", tier: tierOf(lb.inputs.subnets ?? []) }, deps(lb, "securityGroups", SG)]);
    }
    for (const svc of of("aws:ecs/service:Service")) {
        const td = deps(svc, "taskDefinition")[0];
        const size = td ? `${Number(td.inputs.cpu) / 1024} vCPU / ${Number(td.inputs.memory) / 1024} GB` : "";
        const provider = svc.inputs.capacityProviderStrategies?.[0]?.capacityProvider ?? "FARGATE";
        placed.push([
            { id: `svc_${svc.name}`, label: `${svc.name}\\n${svc.inputs.desiredCount ?? 1} × ${size}\\n${/^FARGATE/.test(provider) ? provider : "EC2"}`, kind: "service", tier: tierOf(svc.inputs.networkConfiguration?.subnets ?? []) },
            deps(svc, "networkConfiguration", SG),
        ]);
    }
    for (const asg of of("aws:autoscaling/group:Group")) {
        const lt = deps(asg, "launchTemplate")[0];
        const groups = lt ? [...deps(lt, "vpcSecurityGroupIds", SG), ...deps(lt, "networkInterfaces", SG)] : [];
        placed.push([{ id: `asg_${asg.name}`, label: `${asg.name}\\nEC2 ${lt?.inputs.instanceType ?? "?"} ${asg.inputs.minSize}..${asg.inputs.maxSize}`, kind: "instances", tier: tierOf(asg.inputs.vpcZoneIdentifiers ?? []) }, groups]);
    }
    return placed;
}

/** Databases, caches, file systems, the interface endpoints (one node) and the buckets (one node). */
function dataNodes({ of, deps, tierOf }: Reader): Placed[] {
    const placed: Placed[] = [];
    for (const db of of("aws:rds/instance:Instance")) {
        const group = deps(db, "dbSubnetGroupName", "aws:rds/subnetGroup:SubnetGroup")[0];
        placed.push([
            { id: `db_${db.name}`, label: `${db.name}\\nRDS PostgreSQL ${db.inputs.engineVersion}\\n${db.inputs.instanceClass}${db.inputs.multiAz ? " Multi-AZ" : ""}`, kind: "database", tier: tierOf(group?.inputs.subnetIds ?? []) },
            deps(db, "vpcSecurityGroupIds", SG),
        ]);
    }
    for (const c of of("aws:elasticache/replicationGroup:ReplicationGroup")) {
        const group = deps(c, "subnetGroupName", "aws:elasticache/subnetGroup:SubnetGroup")[0];
        placed.push([{ id: `cache_${c.name}`, label: `${c.name}\\n${c.inputs.engine} ${c.inputs.nodeType} × ${c.inputs.numCacheClusters ?? 1}`, kind: "cache", tier: tierOf(group?.inputs.subnetIds ?? []) }, deps(c, "securityGroupIds", SG)]);
    }
    for (const fs of of("aws:efs/fileSystem:FileSystem")) {
        const targets = of("aws:efs/mountTarget:MountTarget").filter((t) => deps(t, "fileSystemId").includes(fs));
        placed.push([{ id: `efs_${fs.name}`, label: `${fs.name}\\nEFS`, kind: "file system", tier: tierOf(targets.map((t) => t.inputs.subnetId)) }, targets.flatMap((t) => deps(t, "securityGroups", SG))]);
    }
    const endpoints = of("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface");
    if (endpoints.length > 0) {
        placed.push([
            { id: "endpoints", label: `VPC endpoints\\n${endpoints.map((e) => String(e.inputs.serviceName).split(".").slice(3).join(".")).join(", ")}`, kind: "endpoints", tier: tierOf(endpoints.flatMap((e) => e.inputs.subnetIds ?? [])) },
            endpoints.flatMap((e) => deps(e, "securityGroupIds", SG)),
        ]);
    }
    const buckets = of("aws:s3/bucket:Bucket");
    if (buckets.length > 0) {
        placed.push([{ id: "s3", label: `S3\\n${buckets.length} buckets`, kind: "buckets", tier: "outside" }, []]);
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
            placed.push([{ id: `sg_${g.name}`, label: `${g.name}\\n${String(g.inputs.description ?? "tasks")}`, kind: "tasks", tier: "private" }, [g]]);
        }
    }
    return placed;
}

/** Where an ingress rule admits traffic from: a node's group, or (a node of its own, outside) the internet or a CIDR. */
function sourceOf(rule: CostResource, { deps }: Reader, owner: ReadonlyMap<string, string>): { from?: string; outside?: ArchNode } {
    const from = deps(rule, "referencedSecurityGroupId", SG).map((g) => owner.get(g.urn))[0];
    if (!from && (rule.inputs.cidrIpv4 === "0.0.0.0/0" || rule.inputs.cidrIpv6 === "::/0")) {
        return { from: "internet", outside: { id: "internet", label: "internet", kind: "internet", tier: "outside" } };
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
        edges.set(key, { from, to, label: prev ? [...new Set([...prev.label.split(", "), label])].sort().join(", ") : label });
    }
    return [...edges.values()].sort((a, b) => (a.from + a.to).localeCompare(b.from + b.to));
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
    [...computeNodes(g), ...dataNodes(g)].forEach(place);
    taskNodes(g, owner).forEach(place);
    const edges = ingressEdges(g, owner, nodes);
    const sorted = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
    return { stack, nodes: sorted, edges, groups: Object.fromEntries([...owner].sort()) };
}

const TIER_LABEL: Record<Tier, string> = { public: "public subnets", private: "private subnets (no public IPs)", isolated: "isolated subnets (no route out)", outside: "" };
const SHAPE: Record<ArchNode["kind"], string> = {
    internet: "ellipse",
    network: "ellipse",
    tasks: "box",
    "load balancer": "box",
    service: "box3d",
    instances: "box3d",
    database: "cylinder",
    cache: "cylinder",
    "file system": "folder",
    endpoints: "component",
    buckets: "folder",
};

export function toDot(a: Architecture): string {
    const lines = [`digraph "${a.stack}" {`, `  graph [rankdir=LR, fontname="Helvetica", label="platform ${a.stack}: who talks to whom (security group rules)", labelloc=t];`, `  node [fontname="Helvetica", fontsize=10];`, `  edge [fontname="Helvetica", fontsize=9];`];
    for (const tier of ["outside", "public", "private", "isolated"] as const) {
        const members = a.nodes.filter((n) => n.tier === tier);
        const indent = tier === "outside" ? "  " : "    ";
        if (tier !== "outside") {
            lines.push(`  subgraph "cluster_${tier}" {`, `    label="${TIER_LABEL[tier]}"; style=rounded;`);
        }
        for (const n of members) {
            lines.push(`${indent}"${n.id}" [label="${n.label}", shape=${SHAPE[n.kind]}];`);
        }
        if (tier !== "outside") {
            lines.push("  }");
        }
    }
    for (const e of a.edges) {
        lines.push(`  "${e.from}" -> "${e.to}" [label="${e.label}"];`);
    }
    lines.push("}");
    const body = lines.join("\n");
    // The SVG carries this hash (graphviz writes the graph comment into it): a test finds a stale picture.
    return body.replace(`labelloc=t];`, `labelloc=t, comment="dotsha256:${dotHash(body)}"];`);
}

export function dotHash(dotWithoutComment: string): string {
    return createHash("sha256").update(dotWithoutComment.replace(/, comment="dotsha256:[0-9a-f]+"/, "")).digest("hex").slice(0, 16);
}

export function toMermaid(a: Architecture): string {
    const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
    const text = (s: string) => s.replace(/\\n/g, "<br/>").replace(/"/g, "'");
    const lines = ["flowchart LR"];
    for (const tier of ["outside", "public", "private", "isolated"] as const) {
        const members = a.nodes.filter((n) => n.tier === tier);
        if (members.length === 0) {
            continue;
        }
        const indent = tier === "outside" ? "  " : "    ";
        if (tier !== "outside") {
            lines.push(`  subgraph ${tier}["${TIER_LABEL[tier]}"]`);
        }
        for (const n of members) {
            const [open, close] = n.kind === "database" || n.kind === "cache" ? ["[(", ")]"] : n.kind === "internet" ? ["((", "))"] : ["[", "]"];
            lines.push(`${indent}${id(n.id)}${open}"${text(n.label)}"${close}`);
        }
        if (tier !== "outside") {
            lines.push("  end");
        }
    }
    for (const e of a.edges) {
        lines.push(`  ${id(e.from)} -->|"${e.label}"| ${id(e.to)}`);
    }
    return lines.join("\n");
}
