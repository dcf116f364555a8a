import * as fs from "fs";
import * as path from "path";
import { GraphResource, graphOf } from "./graph";
import { PRICE_RULES, PricingContext, round2, unmodelledCharges } from "./priceRules";
import { Usage, USAGE_DEFAULTS } from "./usage";

/**
 * Monthly cost of a stack from its resource graph: pure functions over the
 * resources (type, inputs, where each input comes from), a price table kept
 * as data (tools/planning/prices.json: us-east-1 on-demand, each price with its public
 * source and the date it was read), one price rule per resource type
 * (priceRules.ts) and usage assumptions (usage.ts's USAGE_DEFAULTS,
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

/** What the context's price() throws for a key prices.json lacks. */
class NoPrice extends Error {}

/** The component a resource belongs to: its ancestor just below the stack. */
function componentOf(byUrn: ReadonlyMap<string, CostResource>): (r: CostResource) => string {
    const isRoot = (urn: string | undefined) => !urn || !byUrn.has(urn) || byUrn.get(urn)!.type === "pulumi:pulumi:Stack";
    return (r) => {
        let cur = r;
        while (!isRoot(cur.parentUrn)) {
            cur = byUrn.get(cur.parentUrn!)!;
        }
        return cur.name;
    };
}

export function estimate(resources: readonly CostResource[], prices: Prices, usage: Usage = USAGE_DEFAULTS): Estimate {
    const { byUrn, sources } = graphOf(resources);
    const top = componentOf(byUrn);
    const unconfirmed = new Set<string>();
    const lines: CostLine[] = [];
    const unpriced = new Set<string>();
    const context: PricingContext = {
        usage,
        // A price the table lacks (a class or type the config allows but nobody priced yet)
        // names the resource as not priced instead of stopping the plan.
        price: (key) => {
            const p = prices[key];
            if (!p) {
                throw new NoPrice(key);
            }
            if (/^UNCONFIRMED/.test(p.status ?? "")) {
                unconfirmed.add(key);
            }
            return p.usd;
        },
        from: (r, property, type) => sources(r, property, type)[0],
        add: (r, item, basis, usd) => {
            lines.push({ component: top(r), resource: r.name, item, basis, monthlyUsd: usd });
        },
        notPriced: (what) => {
            unpriced.add(what);
        },
    };
    for (const r of resources) {
        try {
            PRICE_RULES[r.type]?.(r, context);
            for (const charge of unmodelledCharges(r)) {
                unpriced.add(charge);
            }
        } catch (e) {
            if (!(e instanceof NoPrice)) {
                throw e;
            }
            unpriced.add(`${r.type} ${r.name} (no price for ${e.message} in tools/planning/prices.json)`);
        }
    }
    return summary(lines, unpriced, unconfirmed);
}

/** The lines rounded to cents, and their sums (of the unrounded amounts) per component and in all. */
function summary(lines: readonly CostLine[], unpriced: ReadonlySet<string>, unconfirmed: ReadonlySet<string>): Estimate {
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
