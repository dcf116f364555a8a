import * as fs from "fs";
import * as path from "path";
import { GraphResource, graphOf } from "./graph";

/**
 * Monthly cost of a stack from its resource graph: pure functions over the
 * resources (type, inputs, where each input comes from), a price table kept
 * as data (tools/planning/prices.json: us-east-1 on-demand, each price with its public
 * source and the date it was read) and usage assumptions (USAGE_DEFAULTS,
 * overridable from the plan's command line). What is not priced is listed,
 * not guessed.
 */

/** A resource as the cost model reads it (the offline harness's Resource fits). */
export type CostResource = GraphResource;

export interface Price {
    readonly usd: number;
    readonly unit: string;
    readonly source: string;
    readonly seen: string;
    /** How the price was confirmed; "UNCONFIRMED..." when sources conflict. */
    readonly status?: string;
}

export type Prices = Readonly<Record<string, Price>>;

/** What the graph cannot say: traffic, data sizes, how busy the runner is. */
export interface Usage {
    /** Hours in a month (AWS's pricing pages use 730). */
    readonly hoursPerMonth: number;
    /** Fargate Spot's discount on the on-demand price (AWS: "up to 70 %"). */
    readonly spotDiscount: number;
    /** Data through each NAT gateway, GB per month. */
    readonly natGbPerGateway: number;
    /** Average load balancer capacity units (ALB LCUs, NLB NLCUs) per hour. */
    readonly albLcu: number;
    readonly nlbNlcu: number;
    /** Data through each interface endpoint, GB per month. */
    readonly endpointGb: number;
    /** Requests the WAF inspects, millions per month. */
    readonly wafMillionRequests: number;
    /** Log data ingested per log group, GB per month (stored for its retention, at most a year). */
    readonly logGbPerGroup: number;
    /** Images kept per ECR repository, GB. */
    readonly ecrGbPerRepository: number;
    /** Objects per S3 bucket, GB. */
    readonly s3GbPerBucket: number;
    /** Data on each EFS file system, GB. */
    readonly efsGb: number;
    /** Runner workers running on average (the group scales from 0 to its maximum). */
    readonly runnerWorkersAverage: number;
    /** Hours each scheduled task run lasts (GitLab's backup). */
    readonly scheduledTaskHours: number;
}

export const USAGE_DEFAULTS: Usage = {
    hoursPerMonth: 730,
    spotDiscount: 0.7,
    natGbPerGateway: 50,
    albLcu: 1,
    nlbNlcu: 1,
    endpointGb: 10,
    wafMillionRequests: 5,
    logGbPerGroup: 1,
    ecrGbPerRepository: 5,
    s3GbPerBucket: 10,
    efsGb: 50,
    runnerWorkersAverage: 1,
    scheduledTaskHours: 1,
};

export interface CostLine {
    /** The top-level component (network, app, gitlab, ...). */
    readonly component: string;
    readonly resource: string;
    readonly item: string;
    /** The arithmetic, in words and numbers. */
    readonly basis: string;
    readonly monthlyUsd: number;
}

export interface Estimate {
    readonly lines: readonly CostLine[];
    readonly byComponent: Readonly<Record<string, number>>;
    readonly totalUsd: number;
    /** Charges this model does not price (listed, not guessed). */
    readonly unpriced: readonly string[];
    /** Price keys used whose source is marked UNCONFIRMED in prices.json. */
    readonly unconfirmed: readonly string[];
}

export function loadPrices(file = path.join(__dirname, "prices.json")): Prices {
    const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { prices: Prices };
    return doc.prices;
}

/** Parses `key=value` usage overrides (numbers), refusing unknown keys. */
export function usageFrom(overrides: readonly string[], base: Usage = USAGE_DEFAULTS): Usage {
    const out: Record<string, number> = { ...base };
    for (const o of overrides) {
        const [key, raw] = o.split("=");
        if (!(key in base) || raw === undefined || !Number.isFinite(Number(raw)) || Number(raw) < 0) {
            throw new Error(`usage ${JSON.stringify(o)}: expected one of ${Object.keys(base).join(", ")} = a number ≥ 0`);
        }
        out[key] = Number(raw);
    }
    return out as unknown as Usage;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function estimate(resources: readonly CostResource[], prices: Prices, usage: Usage = USAGE_DEFAULTS): Estimate {
    const { byUrn, sources } = graphOf(resources);
    // The component a resource belongs to: its ancestor just below the stack.
    const isRoot = (urn: string | undefined) => !urn || !byUrn.has(urn) || byUrn.get(urn)!.type === "pulumi:pulumi:Stack";
    const top = (r: CostResource): string => {
        let cur = r;
        while (!isRoot(cur.parentUrn)) {
            cur = byUrn.get(cur.parentUrn!)!;
        }
        return cur.name;
    };
    const from = (r: CostResource, property: string, type?: string): CostResource | undefined => sources(r, property, type)[0];
    // A price the table lacks (a class or type the config allows but nobody priced yet)
    // names the resource as not priced instead of stopping the plan.
    class NoPrice extends Error {}
    const unconfirmed = new Set<string>();
    const price = (key: string): number => {
        const p = prices[key];
        if (!p) {
            throw new NoPrice(key);
        }
        if (/^UNCONFIRMED/.test(p.status ?? "")) {
            unconfirmed.add(key);
        }
        return p.usd;
    };
    const H = usage.hoursPerMonth;
    const lines: CostLine[] = [];
    const unpriced = new Set<string>();
    const add = (r: CostResource, item: string, basis: string, usd: number) => lines.push({ component: top(r), resource: r.name, item, basis, monthlyUsd: usd });

    for (const r of resources) {
        try {
            priceOne(r);
        } catch (e) {
            if (!(e instanceof NoPrice)) {
                throw e;
            }
            unpriced.add(`${r.type} ${r.name} (no price for ${e.message} in tools/planning/prices.json)`);
        }
    }
    /** One Fargate task of `td` for an hour: its vCPU and memory at its architecture's price, and disk above the 20 GB included. */
    function fargateTask(td: CostResource): { size: string; perHour: number } {
        const arch = td.inputs.runtimePlatform?.cpuArchitecture === "ARM64" ? "arm" : "x86";
        const vcpu = Number(td.inputs.cpu) / 1024;
        const gb = Number(td.inputs.memory) / 1024;
        const extraDisk = Math.max(0, Number(td.inputs.ephemeralStorage?.sizeInGib ?? 20) - 20);
        return {
            size: `${vcpu} vCPU + ${gb} GB${extraDisk ? ` + ${extraDisk} GB disk` : ""}`,
            perHour: vcpu * price(`fargate.${arch}.vcpuHour`) + gb * price(`fargate.${arch}.gbHour`) + extraDisk * price("fargate.ephemeralGbHour"),
        };
    }
    function priceOne(r: CostResource): void {
        const i = r.inputs;
        switch (r.type) {
            case "aws:ecs/service:Service": {
                const td = from(r, "taskDefinition");
                const provider: string = i.capacityProviderStrategies?.[0]?.capacityProvider ?? i.launchType ?? "FARGATE";
                if (!td || !/^FARGATE/.test(provider)) {
                    break; // EC2 capacity is priced with its Auto Scaling group
                }
                const task = fargateTask(td);
                const spot = provider === "FARGATE_SPOT" ? 1 - usage.spotDiscount : 1;
                const n = Number(i.desiredCount ?? 1);
                add(r, `Fargate${spot < 1 ? " Spot" : ""}`, `${n} × (${task.size}) × ${H} h${spot < 1 ? ` × ${round2(spot)}` : ""}`, n * task.perHour * H * spot);
                break;
            }
            case "aws:scheduler/schedule:Schedule": {
                const td = from(r, "target", "aws:ecs/taskDefinition:TaskDefinition");
                if (!td) {
                    break;
                }
                const runs = 30.4; // daily (cron/rate); the program's schedules are daily
                const task = fargateTask(td);
                add(r, "Fargate (scheduled)", `${runs} runs × ${usage.scheduledTaskHours} h × (${task.size})`, runs * usage.scheduledTaskHours * task.perHour);
                break;
            }
            case "aws:autoscaling/group:Group": {
                const lt = from(r, "launchTemplate") ?? from(r, "mixedInstancesPolicy");
                const type: string | undefined = lt?.inputs.instanceType;
                if (!type) {
                    unpriced.add(`${r.type} (no instance type)`);
                    break;
                }
                const runner = r.name.startsWith("runner");
                const n = runner ? usage.runnerWorkersAverage : Number(i.desiredCapacity ?? i.minSize ?? 0);
                add(r, `EC2 ${type}`, `${n} × ${H} h${runner ? " (average workers)" : ""}`, n * price(`ec2.${type}.hour`) * H);
                const rootGb = (lt!.inputs.blockDeviceMappings ?? []).reduce((s: number, m: any) => s + Number(m.ebs?.volumeSize ?? 0), 0);
                if (rootGb > 0) {
                    add(r, "EBS gp3 (instance volumes)", `${n} × ${rootGb} GB`, n * rootGb * price("ebs.gp3.gbMonth"));
                }
                break;
            }
            case "aws:ebs/volume:Volume": {
                const size = Number(i.size ?? 0);
                const iops = Math.max(0, Number(i.iops ?? 3000) - 3000);
                const mbps = Math.max(0, Number(i.throughput ?? 125) - 125);
                add(r, "EBS gp3", `${size} GB${iops ? ` + ${iops} IOPS above 3,000` : ""}${mbps ? ` + ${mbps} MB/s above 125` : ""}`, size * price("ebs.gp3.gbMonth") + iops * price("ebs.gp3.iopsMonth") + mbps * price("ebs.gp3.mbpsMonth"));
                break;
            }
            case "awsx:ec2:Vpc": {
                const strategy = i.natGateways?.strategy ?? "None";
                const n = strategy === "OnePerAz" ? Number(i.numberOfAvailabilityZones ?? 3) : strategy === "Single" ? 1 : 0;
                if (n > 0) {
                    add(r, "NAT gateways", `${n} × (${H} h + ${usage.natGbPerGateway} GB)`, n * (H * price("nat.hour") + usage.natGbPerGateway * price("nat.gb")));
                }
                break;
            }
            case "aws:ec2/vpcEndpoint:VpcEndpoint": {
                if (i.vpcEndpointType !== "Interface") {
                    break; // gateway endpoints (S3) are free
                }
                const azs = (i.subnetIds ?? []).length || 1;
                add(r, "interface endpoint", `${azs} AZ × ${H} h + ${usage.endpointGb} GB`, azs * H * price("vpce.azHour") + usage.endpointGb * price("vpce.gb"));
                break;
            }
            case "aws:lb/loadBalancer:LoadBalancer": {
                const nlb = i.loadBalancerType === "network";
                const units = nlb ? usage.nlbNlcu : usage.albLcu;
                add(r, nlb ? "NLB" : "ALB", `${H} h + ${units} ${nlb ? "NLCU" : "LCU"} × ${H} h`, H * price(nlb ? "nlb.hour" : "alb.hour") + units * H * price(nlb ? "nlb.nlcuHour" : "alb.lcuHour"));
                break;
            }
            case "aws:wafv2/webAcl:WebAcl": {
                const rules = (i.rules ?? []).length;
                add(r, "WAF", `1 web ACL + ${rules} rules + ${usage.wafMillionRequests} M requests`, price("waf.aclMonth") + rules * price("waf.ruleMonth") + usage.wafMillionRequests * price("waf.millionRequests"));
                break;
            }
            case "aws:rds/instance:Instance": {
                const multi = i.multiAz === true;
                const storage = Number(i.allocatedStorage ?? 20);
                add(r, `RDS ${i.instanceClass}${multi ? " Multi-AZ" : ""}`, `${H} h + ${storage} GB gp3`, H * price(`rds.${i.instanceClass}.${multi ? "multiAzHour" : "hour"}`) + storage * price(multi ? "rds.gp3.multiAzGbMonth" : "rds.gp3.gbMonth"));
                if (i.manageMasterUserPassword === true) {
                    add(r, "Secrets Manager (RDS's master secret)", "1 secret", price("secretsmanager.secretMonth"));
                }
                break;
            }
            case "aws:elasticache/replicationGroup:ReplicationGroup": {
                const n = Number(i.numCacheClusters ?? 1);
                add(r, `ElastiCache ${i.engine} ${i.nodeType}`, `${n} nodes × ${H} h`, n * H * price(`elasticache.${i.engine}.${i.nodeType}.hour`));
                break;
            }
            case "aws:efs/fileSystem:FileSystem":
                add(r, "EFS Standard", `${usage.efsGb} GB`, usage.efsGb * price("efs.gbMonth"));
                break;
            case "aws:secretsmanager/secret:Secret":
                add(r, "Secrets Manager", "1 secret", price("secretsmanager.secretMonth"));
                break;
            case "aws:kms/key:Key":
                add(r, "KMS key", "1 key", price("kms.keyMonth"));
                break;
            case "aws:cloudwatch/metricAlarm:MetricAlarm":
                add(r, "CloudWatch alarm", `${(i.metricQueries ?? []).filter((q: any) => q.metric).length || 1} metric(s)`, Math.max(1, (i.metricQueries ?? []).filter((q: any) => q.metric).length) * price("cloudwatch.alarmMonth"));
                break;
            case "aws:cloudwatch/logGroup:LogGroup": {
                const months = Math.min(Number(i.retentionInDays ?? 365), 365) / 30.4;
                add(r, "CloudWatch Logs", `${usage.logGbPerGroup} GB in + ${round2(usage.logGbPerGroup * months)} GB kept`, usage.logGbPerGroup * price("logs.ingestGb") + usage.logGbPerGroup * months * price("logs.storeGbMonth"));
                break;
            }
            case "aws:ecr/repository:Repository":
                add(r, "ECR storage", `${usage.ecrGbPerRepository} GB`, usage.ecrGbPerRepository * price("ecr.gbMonth"));
                break;
            case "aws:s3/bucket:Bucket":
                add(r, "S3 Standard", `${usage.s3GbPerBucket} GB`, usage.s3GbPerBucket * price("s3.gbMonth"));
                break;
            case "aws:backup/vault:Vault":
                unpriced.add("AWS Backup recovery points (by the GB kept)");
                break;
            default:
                break;
        }
        // Charged by use, not modelled: named so the total is not read as complete.
        if (r.type === "aws:lb/loadBalancer:LoadBalancer" || (r.type === "awsx:ec2:Vpc" && (i.natGateways?.strategy ?? "None") !== "None")) {
            unpriced.add("public IPv4 addresses of the load balancers and NAT gateways (per address-hour)");
            unpriced.add("data transfer out to the internet (per GB)");
        }
        if (r.type === "aws:ecs/cluster:Cluster" && (i.settings ?? []).some((s: any) => s.name === "containerInsights" && s.value !== "disabled")) {
            unpriced.add("Container Insights metrics and performance logs (per metric and GB)");
        }
        if (r.type === "aws:rds/instance:Instance") {
            unpriced.add("RDS backup storage beyond the instance's allocated storage (per GB-month)");
        }
        if (r.type === "aws:efs/fileSystem:FileSystem" && i.throughputMode === "elastic") {
            unpriced.add("EFS Elastic throughput (per GB read and written)");
        }
    }
    const byComponent: Record<string, number> = {};
    for (const l of lines) {
        byComponent[l.component] = (byComponent[l.component] ?? 0) + l.monthlyUsd;
    }
    const total = lines.reduce((s, l) => s + l.monthlyUsd, 0);
    return {
        lines: lines.map((l) => ({ ...l, monthlyUsd: round2(l.monthlyUsd) })),
        byComponent: Object.fromEntries(Object.entries(byComponent).map(([k, v]) => [k, round2(v)])),
        totalUsd: round2(total),
        unpriced: [...unpriced].sort(),
        unconfirmed: [...unconfirmed].sort(),
    };
}
