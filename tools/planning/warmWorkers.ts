import { parse } from "smol-toml";
import { hoursPerWeek } from "../../facts/warmPool";
import { GraphResource } from "./graph";
import type { PricingContext } from "./priceRules";

/**
 * The runner's warm pool, priced from what the manager is given: its
 * config.toml (RUNNER_CONFIG_TOML in the task definition). Each autoscaler
 * policy with idle capacity keeps idle_count / capacity_per_instance workers
 * booted and unused for the hours its periods cover; their instance type and
 * root volume are those of the worker group the config names. Jobs' own
 * worker hours stay the usage assumption runnerWorkersAverage.
 */

interface Policy {
    readonly periods?: string[];
    readonly idle_count?: number;
}

/** The autoscaler section of the runner config in a task definition's containers, if any. */
function autoscalerOf(td: GraphResource): { capacity_per_instance: number; policy: Policy[] } | undefined {
    const containers = JSON.parse(td.inputs.containerDefinitions ?? "[]") as { environment?: { name: string; value: string }[] }[];
    const toml = containers.flatMap((d) => d.environment ?? []).find((e) => e.name === "RUNNER_CONFIG_TOML")?.value;
    return toml ? (parse(toml) as any).runners?.[0]?.autoscaler : undefined;
}

const WEEKS_PER_HOUR = 1 / 168;

export function warmWorkers(service: GraphResource, td: GraphResource, c: PricingContext): void {
    const autoscaler = autoscalerOf(td);
    if (!autoscaler) {
        return;
    }
    const group = c.from(td, "containerDefinitions", "aws:autoscaling/group:Group");
    const template = group && (c.from(group, "launchTemplate") ?? c.from(group, "mixedInstancesPolicy"));
    const type: string | undefined = template?.inputs.instanceType;
    for (const p of autoscaler.policy.filter((x) => (x.idle_count ?? 0) > 0)) {
        if (!type) {
            c.notPriced(`${service.name}: warm workers (no instance type: Spot)`);
            return;
        }
        const workers = Math.ceil(p.idle_count! / autoscaler.capacity_per_instance);
        // gitlab-runner's default period is every minute of the week.
        const hours = hoursPerWeek(p.periods ?? ["* * * * *"]) * c.usage.hoursPerMonth * WEEKS_PER_HOUR;
        const rootGb = (template!.inputs.blockDeviceMappings ?? []).reduce((s: number, m: any) => s + Number(m.ebs?.volumeSize ?? 0), 0);
        const basis = `${workers} idle × ${Math.round(hours)} h (${p.periods?.join(", ")})`;
        const gbMonths = (workers * rootGb * hours) / c.usage.hoursPerMonth;
        c.add(service, `warm workers EC2 ${type}`, basis, workers * hours * c.price(`ec2.${type}.hour`) + gbMonths * c.price("ebs.gp3.gbMonth"));
    }
}
