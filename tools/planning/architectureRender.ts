import { createHash } from "crypto";
import type { ArchEdge, ArchNode, Architecture, Cluster } from "./architecture";

/** The architecture as Graphviz DOT and as Mermaid: pure text from the Architecture, in its (sorted) order. */

const CLUSTERS: readonly Cluster[] = ["public", "private", "isolated", "aws", "ci"];
const CLUSTER_LABEL: Record<Cluster, string> = {
    public: "public subnets",
    private: "private subnets (no public IPs)",
    isolated: "isolated subnets (no route out)",
    aws: "AWS services (outside the VPC)",
    ci: "CI: runners (private subnets) and the deploy identity",
};
const SHAPE: Record<ArchNode["kind"], string> = {
    internet: "ellipse",
    network: "ellipse",
    dns: "hexagon",
    certificate: "note",
    firewall: "octagon",
    nat: "diamond",
    tasks: "box",
    "load balancer": "box",
    service: "box3d",
    instances: "box3d",
    database: "cylinder",
    cache: "cylinder",
    "file system": "folder",
    volume: "cylinder",
    endpoints: "component",
    buckets: "folder",
    secrets: "note",
    "identity provider": "ellipse",
    role: "box",
};
/** What uses or protects what is dashed; network paths (rules, DNS, egress) are solid. */
const DASHED: ReadonlySet<ArchEdge["kind"]> = new Set(["iam", "mount", "attached", "trust"]);
const TITLE = "solid: network paths (security group rules, DNS, egress); dashed: IAM access, mounts, attachments, trust";

/** The cluster a node is drawn in (none for the internet side). */
export function clusterOf(n: ArchNode): Cluster | undefined {
    return n.cluster ?? (n.tier === "outside" ? undefined : n.tier);
}

/** The nodes outside every cluster, then each cluster's. */
function byCluster(a: Architecture): [Cluster | undefined, ArchNode[]][] {
    const groups: [Cluster | undefined, ArchNode[]][] = [[undefined, a.nodes.filter((n) => clusterOf(n) === undefined)]];
    return [...groups, ...CLUSTERS.map((c): [Cluster, ArchNode[]] => [c, a.nodes.filter((n) => clusterOf(n) === c)])].filter(([, ns]) => ns.length > 0);
}

/** An edge end in DOT: a node, or (for `cluster:<name>`) the cluster's first node clipped at the cluster's border. */
function dotEnd(a: Architecture, end: string, side: "ltail" | "lhead"): { node: string; attr: string } {
    const cluster = /^cluster:(.+)$/.exec(end)?.[1];
    if (!cluster) {
        return { node: end, attr: "" };
    }
    const first = a.nodes.find((n) => clusterOf(n) === cluster);
    return { node: first?.id ?? end, attr: `, ${side}="cluster_${cluster}"` };
}

export function toDot(a: Architecture): string {
    const lines = [`digraph "${a.stack}" {`, `  graph [rankdir=LR, compound=true, fontname="Helvetica", label="platform ${a.stack}\\n${TITLE}", labelloc=t];`, `  node [fontname="Helvetica", fontsize=10];`, `  edge [fontname="Helvetica", fontsize=9];`];
    for (const [cluster, members] of byCluster(a)) {
        const indent = cluster ? "    " : "  ";
        if (cluster) {
            lines.push(`  subgraph "cluster_${cluster}" {`, `    label="${CLUSTER_LABEL[cluster]}"; style=rounded;`);
        }
        for (const n of members) {
            lines.push(`${indent}"${n.id}" [label="${n.label}", shape=${SHAPE[n.kind]}];`);
        }
        if (cluster) {
            lines.push("  }");
        }
    }
    for (const e of a.edges) {
        const [from, to] = [dotEnd(a, e.from, "ltail"), dotEnd(a, e.to, "lhead")];
        // The way out does not rank the layout: the internet stays on the left, where the way in starts.
        const style = `${DASHED.has(e.kind) ? ", style=dashed" : ""}${e.kind === "egress" ? ", constraint=false" : ""}`;
        lines.push(`  "${from.node}" -> "${to.node}" [label="${e.label}"${style}${from.attr}${to.attr}];`);
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
    // A `cluster:<name>` end becomes the subgraph's id, cluster_<name>.
    const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
    const text = (s: string) => s.replace(/\\n/g, "<br/>").replace(/"/g, "'");
    const lines = ["flowchart LR"];
    for (const [cluster, members] of byCluster(a)) {
        const indent = cluster ? "    " : "  ";
        if (cluster) {
            lines.push(`  subgraph cluster_${cluster}["${CLUSTER_LABEL[cluster]}"]`);
        }
        for (const n of members) {
            const [open, close] = ["database", "cache", "volume"].includes(n.kind) ? ["[(", ")]"] : n.kind === "internet" ? ["((", "))"] : n.kind === "dns" ? ["{{", "}}"] : ["[", "]"];
            lines.push(`${indent}${id(n.id)}${open}"${text(n.label)}"${close}`);
        }
        if (cluster) {
            lines.push("  end");
        }
    }
    for (const e of a.edges) {
        lines.push(`  ${id(e.from)} ${DASHED.has(e.kind) ? "-.->" : "-->"}|"${text(e.label)}"| ${id(e.to)}`);
    }
    return lines.join("\n");
}
