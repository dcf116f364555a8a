import { GraphResource } from "./graph";
import { Usage } from "./usage";
import { warmWorkers } from "./warmWorkers";

/**
 * How each resource type is priced: a lookup table from the type to a rule
 * that reads the resource (and what its inputs come from) and adds its
 * monthly cost lines. estimate() in cost.ts runs the rule of every resource.
 */

/** What a price rule reads and writes while one stack is priced (estimate() builds it). */
export interface PricingContext {
    readonly usage: Usage;
    /** One price of prices.json; a key the table lacks stops this resource's pricing (it is listed as not priced). */
    readonly price: (key: string) => number;
    /** The first resource a property of `r` comes from (optionally only one of `type`). */
    readonly from: (r: GraphResource, property: string, type?: string) => GraphResource | undefined;
    /** One cost line of `r`. */
    readonly add: (r: GraphResource, item: string, basis: string, usd: number) => void;
    /** A charge this model does not price (listed, not guessed). */
    readonly notPriced: (what: string) => void;
}

export type PriceRule = (r: GraphResource, c: PricingContext) => void;

export const round2 = (x: number) => Math.round(x * 100) / 100;

/** One Fargate task of `td` for an hour: its vCPU and memory at its architecture's price, and disk above the 20 GB included. */
function fargateTask(td: GraphResource, price: (key: string) => number): { size: string; perHour: number } {
    const arch = td.inputs.runtimePlatform?.cpuArchitecture === "ARM64" ? "arm" : "x86";
    const vcpu = Number(td.inputs.cpu) / 1024;
    const gb = Number(td.inputs.memory) / 1024;
    const extraDisk = Math.max(0, Number(td.inputs.ephemeralStorage?.sizeInGib ?? 20) - 20);
    return {
        size: `${vcpu} vCPU + ${gb} GB${extraDisk ? ` + ${extraDisk} GB disk` : ""}`,
        perHour: vcpu * price(`fargate.${arch}.vcpuHour`) + gb * price(`fargate.${arch}.gbHour`) + extraDisk * price("fargate.ephemeralGbHour"),
    };
}

function ecsService(r: GraphResource, c: PricingContext): void {
    const i = r.inputs;
    const H = c.usage.hoursPerMonth;
    const td = c.from(r, "taskDefinition");
    const provider: string = i.capacityProviderStrategies?.[0]?.capacityProvider ?? i.launchType ?? "FARGATE";
    if (!td || !/^FARGATE/.test(provider)) {
        return; // EC2 capacity is priced with its Auto Scaling group
    }
    const task = fargateTask(td, c.price);
    const spot = provider === "FARGATE_SPOT" ? 1 - c.usage.spotDiscount : 1;
    const n = Number(i.desiredCount ?? 1);
    c.add(r, `Fargate${spot < 1 ? " Spot" : ""}`, `${n} × (${task.size}) × ${H} h${spot < 1 ? ` × ${round2(spot)}` : ""}`, n * task.perHour * H * spot);
    warmWorkers(r, td, c);
}

function scheduledTask(r: GraphResource, c: PricingContext): void {
    const td = c.from(r, "target", "aws:ecs/taskDefinition:TaskDefinition");
    if (!td) {
        return;
    }
    const runs = 30.4; // daily (cron/rate); the program's schedules are daily
    const task = fargateTask(td, c.price);
    const hours = c.usage.scheduledTaskHours;
    c.add(r, "Fargate (scheduled)", `${runs} runs × ${hours} h × (${task.size})`, runs * hours * task.perHour);
}

function autoScalingGroup(r: GraphResource, c: PricingContext): void {
    const i = r.inputs;
    const H = c.usage.hoursPerMonth;
    const lt = c.from(r, "launchTemplate") ?? c.from(r, "mixedInstancesPolicy");
    const type: string | undefined = lt?.inputs.instanceType;
    if (!type) {
        c.notPriced(`${r.type} (no instance type)`);
        return;
    }
    const runner = r.name.startsWith("runner");
    const n = runner ? c.usage.runnerWorkersAverage : Number(i.desiredCapacity ?? i.minSize ?? 0);
    c.add(r, `EC2 ${type}`, `${n} × ${H} h${runner ? " (average workers)" : ""}`, n * c.price(`ec2.${type}.hour`) * H);
    const rootGb = (lt!.inputs.blockDeviceMappings ?? []).reduce((s: number, m: any) => s + Number(m.ebs?.volumeSize ?? 0), 0);
    if (rootGb > 0) {
        c.add(r, "EBS gp3 (instance volumes)", `${n} × ${rootGb} GB`, n * rootGb * c.price("ebs.gp3.gbMonth"));
    }
}

function ebsVolume(r: GraphResource, c: PricingContext): void {
    const i = r.inputs;
    const size = Number(i.size ?? 0);
    const iops = Math.max(0, Number(i.iops ?? 3000) - 3000);
    const mbps = Math.max(0, Number(i.throughput ?? 125) - 125);
    c.add(r, "EBS gp3", `${size} GB${iops ? ` + ${iops} IOPS above 3,000` : ""}${mbps ? ` + ${mbps} MB/s above 125` : ""}`, size * c.price("ebs.gp3.gbMonth") + iops * c.price("ebs.gp3.iopsMonth") + mbps * c.price("ebs.gp3.mbpsMonth"));
}

/** The NAT gateways an awsx VPC creates (its children are not in the offline graph): from its strategy. */
export function natGatewayCount(vpc: GraphResource): number {
    const strategy = vpc.inputs.natGateways?.strategy ?? "None";
    return strategy === "OnePerAz" ? Number(vpc.inputs.numberOfAvailabilityZones ?? 3) : strategy === "Single" ? 1 : 0;
}

function natGateways(r: GraphResource, c: PricingContext): void {
    const H = c.usage.hoursPerMonth;
    const n = natGatewayCount(r);
    if (n > 0) {
        c.add(r, "NAT gateways", `${n} × (${H} h + ${c.usage.natGbPerGateway} GB)`, n * (H * c.price("nat.hour") + c.usage.natGbPerGateway * c.price("nat.gb")));
    }
}

function vpcEndpoint(r: GraphResource, c: PricingContext): void {
    const i = r.inputs;
    const H = c.usage.hoursPerMonth;
    if (i.vpcEndpointType !== "Interface") {
        return; // gateway endpoints (S3) are free
    }
    const azs = (i.subnetIds ?? []).length || 1;
    c.add(r, "interface endpoint", `${azs} AZ × ${H} h + ${c.usage.endpointGb} GB`, azs * H * c.price("vpce.azHour") + c.usage.endpointGb * c.price("vpce.gb"));
}

function loadBalancer(r: GraphResource, c: PricingContext): void {
    const H = c.usage.hoursPerMonth;
    const nlb = r.inputs.loadBalancerType === "network";
    const units = nlb ? c.usage.nlbNlcu : c.usage.albLcu;
    c.add(r, nlb ? "NLB" : "ALB", `${H} h + ${units} ${nlb ? "NLCU" : "LCU"} × ${H} h`, H * c.price(nlb ? "nlb.hour" : "alb.hour") + units * H * c.price(nlb ? "nlb.nlcuHour" : "alb.lcuHour"));
}

function webAcl(r: GraphResource, c: PricingContext): void {
    const rules = (r.inputs.rules ?? []).length;
    const requests = c.usage.wafMillionRequests;
    c.add(r, "WAF", `1 web ACL + ${rules} rules + ${requests} M requests`, c.price("waf.aclMonth") + rules * c.price("waf.ruleMonth") + requests * c.price("waf.millionRequests"));
}

function rdsInstance(r: GraphResource, c: PricingContext): void {
    const i = r.inputs;
    const H = c.usage.hoursPerMonth;
    const multi = i.multiAz === true;
    const storage = Number(i.allocatedStorage ?? 20);
    c.add(r, `RDS ${i.instanceClass}${multi ? " Multi-AZ" : ""}`, `${H} h + ${storage} GB gp3`, H * c.price(`rds.${i.instanceClass}.${multi ? "multiAzHour" : "hour"}`) + storage * c.price(multi ? "rds.gp3.multiAzGbMonth" : "rds.gp3.gbMonth"));
    if (i.manageMasterUserPassword === true) {
        c.add(r, "Secrets Manager (RDS's master secret)", "1 secret", c.price("secretsmanager.secretMonth"));
    }
}

function replicationGroup(r: GraphResource, c: PricingContext): void {
    const i = r.inputs;
    const H = c.usage.hoursPerMonth;
    const n = Number(i.numCacheClusters ?? 1);
    c.add(r, `ElastiCache ${i.engine} ${i.nodeType}`, `${n} nodes × ${H} h`, n * H * c.price(`elasticache.${i.engine}.${i.nodeType}.hour`));
}

function metricAlarm(r: GraphResource, c: PricingContext): void {
    const metrics = Math.max(1, (r.inputs.metricQueries ?? []).filter((q: any) => q.metric).length);
    c.add(r, "CloudWatch alarm", `${metrics} metric(s)`, metrics * c.price("cloudwatch.alarmMonth"));
}

/**
 * A dashboard at the full price: the free tier's 3 dashboards are the
 * account's, shared with whatever else it has, so this stack cannot count on one.
 */
function dashboard(r: GraphResource, c: PricingContext): void {
    c.add(r, "CloudWatch dashboard", "1 dashboard (the account's 3 free ones not counted on)", c.price("cloudwatch.dashboardMonth"));
}

function logGroup(r: GraphResource, c: PricingContext): void {
    const gb = c.usage.logGbPerGroup;
    const months = Math.min(Number(r.inputs.retentionInDays ?? 365), 365) / 30.4;
    c.add(r, "CloudWatch Logs", `${gb} GB in + ${round2(gb * months)} GB kept`, gb * c.price("logs.ingestGb") + gb * months * c.price("logs.storeGbMonth"));
}

/** A flat monthly charge: `quantity` (from the usage assumptions) of one price's unit. */
const flat =
    (item: string, key: string, unit: string, quantity: (u: Usage) => number): PriceRule =>
    (r, c) => {
        const n = quantity(c.usage);
        c.add(r, item, `${n} ${unit}`, n * c.price(key));
    };

/** The rule of each priced resource type; a type not listed costs nothing by itself. */
export const PRICE_RULES: Readonly<Partial<Record<string, PriceRule>>> = {
    "aws:ecs/service:Service": ecsService,
    "aws:scheduler/schedule:Schedule": scheduledTask,
    "aws:autoscaling/group:Group": autoScalingGroup,
    "aws:ebs/volume:Volume": ebsVolume,
    "awsx:ec2:Vpc": natGateways,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpcEndpoint,
    "aws:lb/loadBalancer:LoadBalancer": loadBalancer,
    "aws:wafv2/webAcl:WebAcl": webAcl,
    "aws:rds/instance:Instance": rdsInstance,
    "aws:elasticache/replicationGroup:ReplicationGroup": replicationGroup,
    "aws:efs/fileSystem:FileSystem": flat("EFS Standard", "efs.gbMonth", "GB", (u) => u.efsGb),
    "aws:secretsmanager/secret:Secret": flat("Secrets Manager", "secretsmanager.secretMonth", "secret", () => 1),
    "aws:kms/key:Key": flat("KMS key", "kms.keyMonth", "key", () => 1),
    "aws:cloudwatch/metricAlarm:MetricAlarm": metricAlarm,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
    "aws:cloudwatch/logGroup:LogGroup": logGroup,
    "aws:ecr/repository:Repository": flat("ECR storage", "ecr.gbMonth", "GB", (u) => u.ecrGbPerRepository),
    // The repositories ECR creates for the images pulled through the cache, together.
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": flat("ECR storage (cached images)", "ecr.gbMonth", "GB", (u) => u.ecrGbPerRepository),
    "aws:s3/bucket:Bucket": flat("S3 Standard", "s3.gbMonth", "GB", (u) => u.s3GbPerBucket),
    "aws:backup/vault:Vault": (_r, c) => c.notPriced("AWS Backup recovery points (by the GB kept)"),
    "aws:sesv2/emailIdentity:EmailIdentity": (_r, c) => c.notPriced("SES messages sent (per 1,000)"),
};

/** Charged by use, not modelled: named so the total is not read as complete. */
export function unmodelledCharges(r: GraphResource): string[] {
    const i = r.inputs;
    const charges: string[] = [];
    if (r.type === "aws:lb/loadBalancer:LoadBalancer" || (r.type === "awsx:ec2:Vpc" && (i.natGateways?.strategy ?? "None") !== "None")) {
        charges.push("public IPv4 addresses of the load balancers and NAT gateways (per address-hour)", "data transfer out to the internet (per GB)");
    }
    if (r.type === "aws:ecs/cluster:Cluster" && (i.settings ?? []).some((s: any) => s.name === "containerInsights" && s.value !== "disabled")) {
        charges.push("Container Insights metrics and performance logs (per metric and GB)");
    }
    if (r.type === "aws:rds/instance:Instance") {
        charges.push("RDS backup storage beyond the instance's allocated storage (per GB-month)");
    }
    if (r.type === "aws:efs/fileSystem:FileSystem" && i.throughputMode === "elastic") {
        charges.push("EFS Elastic throughput (per GB read and written)");
    }
    return charges;
}
