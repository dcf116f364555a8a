import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseConfig } from "../config";
import { evaluate, Verdict } from "../policy/waivers";
import { readStackConfig, Resource, STACKS, stackRun, StackRun } from "../sim/harness";
import { viewOf } from "../sim/policyView";
import { parseCli, usageError } from "./cli";
import { Placeholder, placeholdersIn } from "../facts/placeholders";
import { Architecture, architecture, subnetTiers, toDot, toMermaid } from "./planning/architecture";
import { Estimate, estimate, loadPrices } from "./planning/cost";
import { PlanDashboard, planDashboards } from "./planning/dashboard";
import { RolloutFloor, rolloutFloors } from "./planning/rollout";
import { Usage, usageFrom } from "./planning/usage";

/**
 * Offline plan: runs index.ts for a stack under Pulumi mocks (exactly as the
 * tests do) and prints the resource tree with the inputs a reviewer checks,
 * the monthly cost (both stacks, and their ratio), the rollout floor of each
 * load-balanced service, the policy pack's verdict and the architecture
 * picture. It is a plan, not a deployment: nothing here talks to AWS.
 *
 *   npm run plan -- dev [--json] [--out DIR] [--usage natGbPerGateway=200 ...]
 *
 * --out DIR writes plan-<stack>.txt, plan-<stack>.json and the picture
 * (architecture-<stack>.dot, .svg with Graphviz's `dot`, .mmd) into DIR;
 * --pictures DIR only the picture (`npm run docs` refreshes the committed
 * ones in docs/, with every other generated part of the README and docs/).
 */

type Picker = (i: Record<string, any>) => Record<string, unknown>;

const compact = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** The few inputs per type that a reviewer actually looks at. */
const KEY_INPUTS: Record<string, Picker> = {
    "awsx:ec2:Vpc": (i) => ({ cidr: i.cidrBlock, azs: i.numberOfAvailabilityZones, nat: i.natGateways?.strategy, subnets: (i.subnetSpecs ?? []).map((s: any) => `${s.name}/${s.cidrMask}`).join(",") }),
    "aws:ec2/securityGroup:SecurityGroup": (i) => ({ description: i.description }),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (i) => ({ port: i.fromPort === i.toPort ? i.fromPort : `${i.fromPort}-${i.toPort}`, from: i.cidrIpv4 ?? i.referencedSecurityGroupId }),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (i) => ({ ports: i.ipProtocol === "-1" ? "all" : `${i.fromPort}-${i.toPort}`, to: i.cidrIpv4 ?? i.referencedSecurityGroupId }),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (i) => ({ service: i.serviceName, type: i.vpcEndpointType }),
    "aws:ec2/flowLog:FlowLog": (i) => ({ traffic: i.trafficType, to: i.logDestinationType }),
    "aws:cloudwatch/logGroup:LogGroup": (i) => ({ retentionDays: i.retentionInDays }),
    "aws:ecr/repository:Repository": (i) => ({ tags: i.imageTagMutability, scanOnPush: i.imageScanningConfiguration?.scanOnPush, encryption: i.encryptionConfigurations?.[0]?.encryptionType }),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": (i) => ({ rules: (JSON.parse(i.policy).rules as any[]).map((r) => r.description).join("; ") }),
    "command:local:Command": (i) => ({ runs: i.environment?.COMMAND }),
    "docker:index/image:Image": (i) => ({ image: i.imageName?.split("/").pop(), context: i.build?.context, platform: i.build?.platform }),
    "aws:wafv2/webAcl:WebAcl": (i) => ({ rules: (i.rules ?? []).map((r: any) => r.name).join(",") }),
    "aws:rds/instance:Instance": (i) => ({ engine: `${i.engine} ${i.engineVersion}`, class: i.instanceClass, multiAz: i.multiAz, backups: i.backupRetentionPeriod, deletionProtection: i.deletionProtection, encrypted: i.storageEncrypted, monitoring: i.monitoringInterval }),
    "aws:ecs/cluster:Cluster": (i) => ({ settings: (i.settings ?? []).map((s: any) => `${s.name}=${s.value}`).join(",") }),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": (i) => ({ providers: (i.capacityProviders ?? []).join(",") }),
    "aws:lb/loadBalancer:LoadBalancer": (i) => ({ type: i.loadBalancerType, dropInvalidHeaders: i.dropInvalidHeaderFields, desync: i.desyncMitigationMode, deletionProtection: i.enableDeletionProtection }),
    "aws:lb/listener:Listener": (i) => ({ port: i.port, protocol: i.protocol, ssl: i.sslPolicy, default: i.defaultActions?.[0]?.type }),
    "aws:lb/listenerRule:ListenerRule": (i) => ({ host: i.conditions?.[0]?.hostHeader?.values?.join(","), priority: i.priority }),
    "aws:lb/targetGroup:TargetGroup": (i) => ({ port: i.port, health: `${i.healthCheck?.path} every ${i.healthCheck?.interval}s x${i.healthCheck?.healthyThreshold}`, deregistration: i.deregistrationDelay }),
    "aws:ecs/taskDefinition:TaskDefinition": (i) => ({ cpu: i.cpu, memory: i.memory, disk: i.ephemeralStorage?.sizeInGib, efs: i.volumes?.some((v: any) => v.efsVolumeConfiguration) || undefined, arch: i.runtimePlatform?.cpuArchitecture, containers: (JSON.parse(i.containerDefinitions) as any[]).map((c) => `${c.name}${c.essential ? "" : "(init)"}`).join(",") }),
    "aws:ecs/service:Service": (i) => ({ name: i.name, desired: i.desiredCount, minMax: `${i.deploymentMinimumHealthyPercent}%/${i.deploymentMaximumPercent}%`, grace: i.healthCheckGracePeriodSeconds, strategy: i.deploymentConfiguration?.strategy, capacity: i.capacityProviderStrategies?.[0]?.capacityProvider, publicIp: i.networkConfiguration?.assignPublicIp, exec: i.enableExecuteCommand }),
    "aws:appautoscaling/target:Target": (i) => ({ min: i.minCapacity, max: i.maxCapacity }),
    "aws:appautoscaling/policy:Policy": (i) => ({ metric: i.targetTrackingScalingPolicyConfiguration?.predefinedMetricSpecification?.predefinedMetricType, target: i.targetTrackingScalingPolicyConfiguration?.targetValue }),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (i) => ({ threshold: i.threshold }),
    "aws:s3/bucketVersioning:BucketVersioning": (i) => ({ status: i.versioningConfiguration?.status }),
    "aws:acm/certificate:Certificate": (i) => ({ domain: i.domainName, names: (i.subjectAlternativeNames ?? []).join(","), validation: i.validationMethod }),
    "aws:efs/fileSystem:FileSystem": (i) => ({ encrypted: i.encrypted, throughput: i.throughputMode }),
    "aws:efs/accessPoint:AccessPoint": (i) => ({ root: i.rootDirectory?.path, posixUser: i.posixUser ? "forced" : "none" }),
    "aws:efs/backupPolicy:BackupPolicy": (i) => ({ automatic: i.backupPolicy?.status }),
    "aws:backup/plan:Plan": (i) => ({ schedule: `${i.rules?.[0]?.schedule} ${i.rules?.[0]?.scheduleExpressionTimezone ?? ""}`.trim(), keepDays: i.rules?.[0]?.lifecycle?.deleteAfter }),
    "aws:scheduler/schedule:Schedule": (i) => ({ schedule: `${i.scheduleExpression} ${i.scheduleExpressionTimezone ?? ""}`.trim(), launch: i.target?.ecsParameters?.launchType }),
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": (i) => ({ name: i.name }),
    "aws:rds/parameterGroup:ParameterGroup": (i) => ({ family: i.family, set: (i.parameters ?? []).map((p: any) => `${p.name}=${p.value}`).join(",") }),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (i) => ({ ownership: i.rule?.objectOwnership }),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (i) => ({ expireDays: i.rules?.[0]?.expiration?.days }),
    "aws:ebs/volume:Volume": (i) => ({ type: i.type, sizeGb: i.size, iops: i.iops, throughput: i.throughput, encrypted: i.encrypted, snapshot: i.snapshotId }),
    "aws:ec2/launchTemplate:LaunchTemplate": (i) => ({ type: i.instanceType, ami: i.imageId, imds: `${i.metadataOptions?.httpTokens}/hops=${i.metadataOptions?.httpPutResponseHopLimit}` }),
    "aws:autoscaling/group:Group": (i) => ({ size: `${i.minSize}..${i.maxSize}`, refresh: i.instanceRefresh ? `${i.instanceRefresh.preferences?.minHealthyPercentage}%/${i.instanceRefresh.preferences?.maxHealthyPercentage}%` : undefined }),
    "aws:ecs/capacityProvider:CapacityProvider": (i) => ({ name: i.name, scaling: i.autoScalingGroupProvider?.managedScaling?.status }),
    "aws:elasticache/replicationGroup:ReplicationGroup": (i) => ({ engine: `${i.engine} ${i.engineVersion}`, node: i.nodeType, nodes: i.numCacheClusters, multiAz: i.multiAzEnabled, tls: i.transitEncryptionEnabled, atRest: i.atRestEncryptionEnabled }),
    "aws:elasticache/parameterGroup:ParameterGroup": (i) => ({ family: i.family, set: (i.parameters ?? []).map((p: any) => `${p.name}=${p.value}`).join(",") }),
};

function describe(r: Resource): string {
    const picked = KEY_INPUTS[r.type]?.(r.inputs) ?? {};
    const shown = Object.entries(picked)
        .filter(([, v]) => v !== undefined && v !== "")
        .map(([k, v]) => `${k}=${compact(v)}`)
        .join(" ");
    return `${r.type}  ${r.name}${shown ? `  ${shown}` : ""}`;
}

export function renderPlan(run: StackRun, extra?: PlanExtras): string {
    const lines: string[] = [];
    const byParent = new Map<string | undefined, Resource[]>();
    for (const r of run.resources) {
        byParent.set(r.parentUrn, [...(byParent.get(r.parentUrn) ?? []), r]);
    }
    const walk = (parentUrn: string | undefined, depth: number): void => {
        const kids = [...(byParent.get(parentUrn) ?? [])].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
        for (const r of kids) {
            lines.push(`${"  ".repeat(depth)}${describe(r)}`);
            walk(r.urn, depth + 1);
        }
    };
    const cfg = parseConfig(readStackConfig(run.stack) as Record<string, unknown>, run.stack);
    lines.push(`Offline plan for stack "${run.stack}" (Pulumi mocks, no AWS calls: this is a plan, not a deployment)`, "");
    lines.push(...run.warnings.map((w) => `warning: ${w}`), ...(run.warnings.length > 0 ? [""] : []));
    walk(undefined, 1);
    const counts = new Map<string, number>();
    for (const r of run.resources) {
        counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    }
    lines.push("", "Resources per type:");
    for (const [type, n] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) {
        lines.push(`  ${String(n).padStart(3)}  ${type}`);
    }
    lines.push(`  ${String(run.resources.length).padStart(3)}  total`);
    const g = cfg.gitlab;
    const size = (t: { cpu: number; memory: number }) => `${t.cpu / 1024} vCPU / ${t.memory / 1024} GB`;
    const shape =
        g.topology === "single"
            ? `one ${size(g)} Omnibus task${g.spot ? " on Spot" : ""}, replaced stop-first (0 %/100 %), no autoscaling`
            : `web ${g.web.minCount}..${g.web.maxCount} × ${size(g.web)} (CPU ${g.web.cpuTarget} %, memory ${g.web.memoryTarget} %), ` +
              `Sidekiq ${g.sidekiq.minCount}..${g.sidekiq.maxCount} × ${size(g.sidekiq)} (CPU ${g.sidekiq.cpuTarget} %), ` +
              `one Gitaly ${g.gitaly.storage === "ebs" ? `on ${g.gitaly.instanceType} with a ${g.gitaly.volume.sizeGb} GiB gp3 volume` : "on Fargate with EFS (unsupported by GitLab)"}, never scaled; ` +
              `Valkey ${g.redis.engineVersion} ${g.redis.nodeType}${g.redis.multiAz ? " Multi-AZ" : ""}; migrations once per deploy`;
    lines.push(
        "",
        `GitLab (${g.topology}): ${shape}; ` +
            `https://${g.hostName}, registry https://${g.registryHostName}, git@${g.sshHostName} (SSH from ${g.ssh.allowedCidrs.join(", ")}); ` +
            `database ${g.database.instanceClass}${g.database.multiAz ? " Multi-AZ" : ""}; gitlab-backup daily at ${g.backup.time} ${g.backup.timezone}, kept ${g.backup.retentionDays} days`,
    );
    if (extra) {
        lines.push("", ...renderExtras(run.stack, extra));
    }
    lines.push("", "Stack outputs:");
    for (const [k, v] of Object.entries(run.outputs)) {
        lines.push(`  ${k}: ${compact(v)}`);
    }
    return lines.join("\n");
}

/** What the plan adds to the resource tree: cost, rollout, policy, picture. */
export interface PlanExtras {
    readonly usage: Usage;
    /** Every stack's estimate (the ratio needs both). */
    readonly costs: Readonly<Record<string, Estimate>>;
    readonly rollout: readonly RolloutFloor[];
    readonly policy: Verdict;
    readonly architecture: Architecture;
    /** The stack's CloudWatch dashboards and their widgets' titles. */
    readonly dashboards: readonly PlanDashboard[];
    /** The stack's region (the price table is us-east-1's). */
    readonly region: string;
    /** The stack file's example values, which a real deployment replaces. */
    readonly placeholders: readonly Placeholder[];
    /** How CI runs the policy pack on this stack (.ci/policy-args.sh). */
    readonly enforcement: Enforcement;
}

export type Enforcement = "mandatory" | "advisory";

/** As .ci/policy-args.sh decides it from the same file: mandatory for a stack that sets `stateful.protect: true`. */
export function enforcementOf(config: Readonly<Record<string, unknown>>): Enforcement {
    const stateful = config["platform:stateful"] as { protect?: unknown } | undefined;
    return stateful?.protect === true ? "mandatory" : "advisory";
}

const usd = (x: number) => `$${x.toFixed(2)}`;

export function devProdRatio(costs: Readonly<Record<string, Estimate>>): number | undefined {
    return costs.dev && costs.prod && costs.dev.totalUsd > 0 ? Math.round((costs.prod.totalUsd / costs.dev.totalUsd) * 10) / 10 : undefined;
}

export function renderExtras(stack: string, x: PlanExtras): string[] {
    const cost = x.costs[stack];
    const lines: string[] = [];
    lines.push(`Monthly cost, us-east-1 on-demand list prices (tools/planning/prices.json; assumptions: ${Object.entries(x.usage).map(([k, v]) => `${k}=${v}`).join(" ")}):`);
    const width = Math.max(...Object.keys(cost.byComponent).map((k) => k.length));
    for (const [component, amount] of Object.entries(cost.byComponent).sort((a, b) => b[1] - a[1])) {
        lines.push(`  ${component.padEnd(width)}  ${usd(amount).padStart(10)}`);
    }
    lines.push(`  ${"total".padEnd(width)}  ${usd(cost.totalUsd).padStart(10)}`);
    if (cost.unconfirmed.length > 0) {
        lines.push(`  unconfirmed prices used (sources conflict, see prices.json): ${cost.unconfirmed.join(", ")}`);
    }
    if (x.region !== "us-east-1") {
        lines.push(`  the stack is in ${x.region}: these are us-east-1 prices`);
    }
    if (cost.unpriced.length > 0) {
        lines.push(`  not priced: ${cost.unpriced.join("; ")}`);
    }
    const ratio = devProdRatio(x.costs);
    lines.push(`  stacks: ${Object.entries(x.costs).map(([s, e]) => `${s} ${usd(e.totalUsd)}`).join(", ")}${ratio ? `; prod/dev ${ratio}×` : ""}`);
    lines.push("", "Rollout floor per load-balanced service (config-bound: health interval × healthy threshold + deregistration, + bake):");
    for (const f of x.rollout) {
        lines.push(`  ${f.service}: ${f.floorSeconds} s = ${f.healthSeconds} s health${f.bakeSeconds ? ` + ${f.bakeSeconds} s bake (${f.strategy})` : ` (${f.strategy})`}; AWS defaults: ${f.awsDefaultSeconds} s`);
    }
    lines.push("", `Policy pack (policy/, ${x.enforcement} in CI): ${x.policy.violations.length} violation(s), ${x.policy.waived.length} waived finding(s)`);
    for (const v of x.policy.violations) {
        lines.push(`  ${v.control} ${v.type} ${v.name}: ${v.message}`);
    }
    for (const d of x.dashboards) {
        lines.push("", `CloudWatch dashboard ${d.name} (the dashboardUrl output): ${d.widgets.length} widgets`, ...d.widgets.map((w) => `  ${w}`));
    }
    lines.push("", `Architecture: ${x.architecture.nodes.length} nodes, ${x.architecture.edges.length} edges (--out DIR writes the DOT, SVG and Mermaid picture)`);
    if (x.placeholders.length > 0) {
        lines.push("", `Example values in Pulumi.${stack}.yaml to replace before a real deployment (--check-placeholders fails on them):`);
        lines.push(...x.placeholders.map((p) => `  ${p.key}: ${p.value}`));
    }
    return lines;
}

/** The plan as data (`--json`). */
export function planJson(run: StackRun, x: PlanExtras): Record<string, unknown> {
    const byType: Record<string, number> = {};
    for (const r of run.resources) {
        byType[r.type] = (byType[r.type] ?? 0) + 1;
    }
    const cost = x.costs[run.stack];
    return {
        stack: run.stack,
        resources: { total: run.resources.length, byType },
        cost: {
            region: "us-east-1",
            currency: "USD",
            usage: x.usage,
            totalUsd: cost.totalUsd,
            byComponent: cost.byComponent,
            lines: cost.lines,
            unpriced: cost.unpriced,
            unconfirmedPrices: cost.unconfirmed,
            stacks: Object.fromEntries(Object.entries(x.costs).map(([s, e]) => [s, e.totalUsd])),
            prodDevRatio: devProdRatio(x.costs) ?? null,
        },
        rollout: x.rollout,
        policy: { enforcement: x.enforcement, violations: x.policy.violations, waived: x.policy.waived },
        architecture: x.architecture,
        dashboards: x.dashboards,
        outputs: run.outputs,
        placeholders: x.placeholders,
    };
}

export async function planStack(stack: string, usage: Usage): Promise<{ run: StackRun; extras: PlanExtras }> {
    const prices = loadPrices();
    const costs: Record<string, Estimate> = {};
    let run: StackRun | undefined;
    // One stack at a time (a mocked run owns the Pulumi runtime while it lasts), each
    // run once per process: the tests and the policy table plan the same stacks again.
    for (const s of [...new Set(["dev", "prod", stack])]) {
        const r = await stackRun(s);
        if (r.error) {
            if (s === stack) {
                throw r.error;
            }
            continue;
        }
        costs[s] = estimate(r.resources, prices, usage);
        if (s === stack) {
            run = r;
        }
    }
    const theRun = run!;
    const config = readStackConfig(stack);
    return {
        run: theRun,
        extras: {
            usage,
            costs,
            rollout: rolloutFloors(theRun.resources),
            policy: evaluate(viewOf(theRun)),
            architecture: architecture(stack, theRun.resources, subnetTiers(theRun.outputs)),
            dashboards: planDashboards(theRun.resources),
            region: String(config["aws:region"] ?? "us-east-1"),
            placeholders: placeholdersIn(config),
            enforcement: enforcementOf(config),
        },
    };
}

/** DOT, SVG (when Graphviz's `dot` is installed) and Mermaid of one stack into `dir`. */
export function writePictures(dir: string, a: Architecture): string[] {
    fs.mkdirSync(dir, { recursive: true });
    const dot = toDot(a);
    const base = path.join(dir, `architecture-${a.stack}`);
    fs.writeFileSync(`${base}.dot`, dot + "\n");
    fs.writeFileSync(`${base}.mmd`, toMermaid(a) + "\n");
    const written = [`${base}.dot`, `${base}.mmd`];
    const svg = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8" });
    if (svg.status === 0) {
        fs.writeFileSync(`${base}.svg`, svg.stdout);
        written.push(`${base}.svg`);
    } else {
        console.error(`plan: no SVG (Graphviz's dot: ${svg.error?.message ?? svg.stderr.trim()}); scripts/setup.sh installs it`);
    }
    return written;
}

const CLI = {
    name: "plan",
    usage: [
        "usage: npm run plan -- <stack> [--json] [--out DIR] [--pictures DIR] [--check-placeholders] [--usage key=value]...",
        `  <stack>            ${STACKS.join(" or ")}`,
        "  --json             the plan as JSON (npm run --silent plan -- ...: npm prints its banner on stdout)",
        "  --out DIR          also writes plan-<stack>.txt, plan-<stack>.json and the picture into DIR",
        "  --pictures DIR     only the picture (architecture-<stack>.dot, .svg, .mmd) into DIR",
        "  --check-placeholders  only the stack file's example values (example.com, example-...): each on stderr, exit 1 if any",
        "  --usage key=value  a usage assumption of the cost (natGbPerGateway=200, ...), once per assumption",
    ].join("\n"),
    options: {
        json: { type: "boolean" },
        out: { type: "string" },
        pictures: { type: "string" },
        "check-placeholders": { type: "boolean" },
        usage: { type: "string", multiple: true },
    },
    positionals: [1, 1],
} as const;

async function main(): Promise<void> {
    const { values, positionals } = parseCli(CLI);
    const stack = positionals[0];
    if (!(STACKS as readonly string[]).includes(stack)) {
        usageError(CLI, `unknown stack ${JSON.stringify(stack)}`);
    }
    if (values["check-placeholders"]) {
        const found = placeholdersIn(readStackConfig(stack));
        found.forEach((p) => console.error(`Pulumi.${stack}.yaml: ${p.key}: ${JSON.stringify(p.value)} is an example value: replace it`));
        console.log(`${found.length} example value(s) in Pulumi.${stack}.yaml`);
        process.exit(found.length > 0 ? 1 : 0);
    }
    const { run, extras } = await planStack(stack, usageFrom(values.usage ?? []));
    const warnOnStderr = () => run.warnings.forEach((w) => console.error(`warning: ${w}`));
    if (values.pictures !== undefined) {
        warnOnStderr();
        console.log(writePictures(values.pictures, extras.architecture).join("\n"));
        return;
    }
    const text = renderPlan(run, extras);
    const json = JSON.stringify(planJson(run, extras), null, 1);
    if (values.out !== undefined) {
        fs.mkdirSync(values.out, { recursive: true });
        fs.writeFileSync(path.join(values.out, `plan-${stack}.txt`), text + "\n");
        fs.writeFileSync(path.join(values.out, `plan-${stack}.json`), json + "\n");
        writePictures(values.out, extras.architecture);
    }
    if (values.json) {
        warnOnStderr();
        if (process.env.npm_lifecycle_event !== undefined && process.env.npm_config_loglevel !== "silent") {
            console.error("plan: npm printed its banner above the JSON on stdout: npm run --silent plan -- ... prints the JSON alone");
        }
    }
    console.log(values.json ? json : text);
}

if (require.main === module) {
    main().catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
