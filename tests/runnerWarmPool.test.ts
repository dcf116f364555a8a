import { expect } from "chai";
import { parse } from "smol-toml";
import { DEPLOY_RUNNER_NAME } from "../components/runner/facts";
import { hoursPerWeek, warmPeriods } from "../facts/warmPool";
import { estimate, loadPrices } from "../tools/planning/cost";
import { named, runStack, stackRun, StackRun } from "../sim/harness";

/**
 * The warm pool (runner.warmPool): rendered as gitlab-runner autoscaler
 * policies, read back with smol-toml, evaluated as gitlab-runner evaluates
 * them (the last policy whose periods match the local time wins), and priced.
 */

const TD = "aws:ecs/taskDefinition:TaskDefinition";
const configOf = (run: StackRun, fleet: string) =>
    parse(JSON.parse(named(run, TD, fleet).inputs.containerDefinitions)[0].environment.find((e: any) => e.name === "RUNNER_CONFIG_TOML").value) as any;

/** One cron field against a value: `*`, n, a-b, lists, day names (cron's 0 = Sunday, 7 too). Written apart from facts/warmPool.ts. */
function cronField(field: string, value: number, names: string[] = []): boolean {
    return field.split(",").some((part) => {
        if (part === "*") {
            return true;
        }
        const num = (t: string) => (names.includes(t.toLowerCase()) ? names.indexOf(t.toLowerCase()) : Number(t));
        const [a, b = a] = part.split("-").map(num);
        return (value >= a && value <= b) || (names.length > 0 && value === 0 && b === 7);
    });
}

/** The local day of week, hour and minute of an instant in a time zone, as gitlab-runner's cron evaluation sees it. */
function local(instant: string, timeZone: string): { day: number; hour: number; minute: number } {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "numeric", minute: "numeric", hourCycle: "h23" }).formatToParts(new Date(instant));
    const get = (t: string) => parts.find((p) => p.type === t)!.value;
    return { day: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(get("weekday")), hour: Number(get("hour")), minute: Number(get("minute")) };
}

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** The idle_count in force at an instant: gitlab-runner uses the last policy whose periods match (default periods: every minute). */
function idleAt(policies: any[], instant: string): number {
    const matching = policies.filter((p) => {
        const t = local(instant, p.timezone ?? "UTC");
        return (p.periods ?? ["* * * * *"]).some((c: string) => {
            const [mi, h, , , dow] = c.split(/\s+/);
            return cronField(mi, t.minute) && cronField(h, t.hour) && cronField(dow, t.day, DAYS);
        });
    });
    return matching.length > 0 ? matching[matching.length - 1].idle_count : 0;
}

describe("runner warm pool: periods (facts/warmPool.ts)", () => {
    it("08:00-19:00 mon-fri is one period of 55 hours a week", () => {
        const p = warmPeriods({ days: "mon-fri", start: "08:00", end: "19:00" });
        expect(p).to.deep.equal(["* 8-18 * * mon,tue,wed,thu,fri"]);
        expect(hoursPerWeek(p)).to.equal(55);
    });

    it("a window off the hour covers exactly its minutes, and no other", () => {
        const p = warmPeriods({ days: "sat-sun", start: "08:30", end: "17:15" });
        expect(hoursPerWeek(p)).to.equal(2 * 8.75);
        const policy = [{ idle_count: 0 }, { periods: p, timezone: "UTC", idle_count: 1 }];
        // 2026-12-05 is a Saturday, 2026-12-07 a Monday.
        expect(["2026-12-05T08:29:00Z", "2026-12-05T17:15:00Z", "2026-12-07T10:00:00Z"].map((t) => idleAt(policy, t))).to.deep.equal([0, 0, 0]);
        expect(["2026-12-05T08:30:00Z", "2026-12-05T12:00:00Z", "2026-12-06T17:14:00Z"].map((t) => idleAt(policy, t))).to.deep.equal([1, 1, 1]);
    });
});

describe("runner warm pool: config.toml (prod, rendered, parsed with smol-toml)", () => {
    it("the general fleet: a default policy with no idle workers, then the working-hours policy, which wins in its hours", async () => {
        const run = await stackRun("prod");
        const a = configOf(run, "runner").runners[0].autoscaler;
        expect(a.policy).to.have.length(2);
        expect(a.policy[0]).to.deep.include({ idle_count: 0, periods: ["* * * * *"] });
        expect(a.policy[1]).to.deep.include({ timezone: "Europe/Berlin", idle_count: 5 * a.capacity_per_instance, idle_time: "60m0s" });
        // The general idle time stays the first policy's (outside the hours).
        expect(a.policy[0].idle_time).to.equal("5m0s");
        // Each job still gets a fresh worker: a warm one is one not yet used.
        expect(a.max_use_count).to.equal(1);
        // Tuesday 2026-12-08 in Berlin (UTC+1): 10:00 and 18:59 warm; 19:00, 07:59, and Saturday not.
        const at = (utc: string) => idleAt(a.policy, utc);
        expect([at("2026-12-08T09:00:00Z"), at("2026-12-08T17:59:00Z")]).to.deep.equal([5, 5]);
        expect([at("2026-12-08T18:00:00Z"), at("2026-12-08T06:59:00Z"), at("2026-12-12T09:00:00Z")]).to.deep.equal([0, 0, 0]);
        // The deploy fleet: the same window, runner.warmPool.deployIdle (default 1) workers.
        const d = configOf(run, DEPLOY_RUNNER_NAME).runners[0].autoscaler;
        expect(d.policy).to.deep.equal([{ periods: ["* * * * *"], idle_count: 0, idle_time: "5m0s" }, { ...a.policy[1], idle_count: 1 }]);
        expect(d.max_use_count).to.equal(1);
    });

    it("deployIdle 0 leaves the deploy fleet cold; the general fleet keeps its pool", async () => {
        const run = await runStack("prod", { patch: (c) => (c["platform:runner"].warmPool.deployIdle = 0) });
        expect(run.error).to.equal(undefined);
        expect(configOf(run, DEPLOY_RUNNER_NAME).runners[0].autoscaler.policy).to.deep.equal([{ idle_count: 0, idle_time: "5m0s" }]);
        expect(configOf(run, "runner").runners[0].autoscaler.policy).to.have.length(2);
    });
});

describe("runner warm pool: its price (tools/planning)", () => {
    it("prod prices the idle workers for the hours the rendered periods cover, at the worker type's price", async () => {
        const run = await stackRun("prod");
        const prices = loadPrices();
        const lines = estimate(run.resources, prices).lines.filter((l) => l.item.startsWith("warm workers"));
        expect(lines.map((l) => [l.component, l.resource, l.item])).to.deep.equal([
            ["runner", "runner", "warm workers EC2 m7i.large"],
            ["runner", "runner-deploy", "warm workers EC2 m7i.large"],
        ]);
        // Pulumi.prod.yaml's 5 general workers and the default 1 deploy worker × 55 h a week × 730/168
        // weeks a month, plus their 50 GB disks for those hours.
        const hours = (55 * 730) / 168;
        const price = (n: number) => n * hours * prices["ec2.m7i.large.hour"].usd + ((n * 50 * hours) / 730) * prices["ebs.gp3.gbMonth"].usd;
        expect(lines[0].monthlyUsd).to.be.closeTo(price(5), 0.01);
        expect(lines[1].monthlyUsd).to.be.closeTo(price(1), 0.01);
    });
});
