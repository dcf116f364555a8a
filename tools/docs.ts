import * as fs from "fs";
import * as path from "path";
import { STACKS } from "../sim/harness";
import { parseCli } from "./cli";
import { BLOCK as CONFIG_BLOCK, configReference } from "./configReference";
import { refreshBlock } from "./docBlocks";
import { DOC_BLOCK as PIPELINE_BLOCK, DOC_FILE as PIPELINE_DOC, docTable } from "./pipelineModel";
import { imageTable } from "../facts/imagePins";
import { committedImageRefs, IMAGES_BLOCK, IMAGES_DOC } from "./pinImages";
import { policyTable } from "./policyTable";
import { planStack, writePictures } from "./plan";
import { toMermaid } from "./planning/architecture";
import { Estimate } from "./planning/cost";
import { USAGE_DEFAULTS } from "./planning/usage";

/**
 * `npm run docs`: every generated part of the README and docs/ from the
 * program as it is: the configuration reference from the schema, the monthly
 * cost from the offline plan of both stacks, the architecture pictures, the
 * policy pack's table and the pipeline model's. The tests compare each with
 * what is committed (tests/docs.test.ts, plan, policy and pipelineModel).
 */

const ROOT = path.join(__dirname, "..");
export const README = path.join(ROOT, "README.md");
export const ARCHITECTURE_DOC = path.join(ROOT, "docs", "architecture.md");
export const COST_BLOCK = "monthly-cost";

const usd = (x: number) => `$${x.toFixed(0)}`;

/** One row per component, a column per stack, largest first, then the totals. */
export function costTable(costs: Readonly<Record<string, Estimate>>): string {
    const stacks = Object.keys(costs);
    const components = [...new Set(stacks.flatMap((s) => Object.keys(costs[s].byComponent)))];
    const most = (c: string) => Math.max(...stacks.map((s) => costs[s].byComponent[c] ?? 0));
    components.sort((a, b) => most(b) - most(a) || a.localeCompare(b));
    const row = (label: string, values: (number | undefined)[]) => `| ${label} | ${values.map((v) => (v === undefined ? "–" : usd(v))).join(" | ")} |`;
    return [
        `| component | ${stacks.join(" | ")} |`,
        `|---|${stacks.map(() => "---:|").join("")}`,
        ...components.map((c) => row(c, stacks.map((s) => costs[s].byComponent[c]))),
        row("**total**", stacks.map((s) => costs[s].totalUsd)),
        "",
        `Not in these figures (charged by use): ${[...new Set(stacks.flatMap((s) => costs[s].unpriced))].join("; ")}.`,
        ...unconfirmedNote(stacks.flatMap((s) => costs[s].unconfirmed)),
    ].join("\n");
}

/** Prices whose public sources disagree (prices.json marks them): the reader should know which lines lean on one. */
function unconfirmedNote(keys: readonly string[]): string[] {
    const unique = [...new Set(keys)];
    return unique.length === 0 ? [] : ["", `Prices not confirmed by a second source (tools/planning/prices.json says how each was chosen): ${unique.map((k) => `\`${k}\``).join(", ")}.`];
}

/** The Mermaid block's body: a fenced diagram GitLab draws. */
export const mermaidBody = (mermaid: string) => "```mermaid\n" + mermaid + "\n```";

async function main(): Promise<void> {
    parseCli({
        name: "docs",
        usage: [
            "usage: npm run docs",
            "  rewrites the generated parts of README.md (configuration reference, monthly cost), of",
            "  docs/architecture.md (Mermaid pictures), docs/decisions/policy.md (policy table) and",
            `  ${PIPELINE_DOC} (pipeline model), ${IMAGES_DOC} (images and their digests),`,
            "  and docs/architecture-<stack>.{dot,svg,mmd}",
        ].join("\n"),
    });
    const changed: string[] = [];
    const refresh = (file: string, block: string, body: string) => refreshBlock(file, block, body) && changed.push(`${path.relative(ROOT, file)} (${block})`);
    refresh(README, CONFIG_BLOCK, configReference());
    for (const stack of STACKS) {
        const { run, extras } = await planStack(stack, USAGE_DEFAULTS);
        run.warnings.forEach((w) => console.error(`warning: ${w}`));
        if (stack === STACKS[STACKS.length - 1]) {
            refresh(README, COST_BLOCK, costTable(extras.costs));
        }
        refresh(ARCHITECTURE_DOC, `mermaid-${stack}`, mermaidBody(toMermaid(extras.architecture)));
        writePictures(path.join(ROOT, "docs"), extras.architecture);
    }
    refresh(path.join(ROOT, "docs", "decisions", "policy.md"), "policy-table", await policyTable());
    refresh(path.join(ROOT, IMAGES_DOC), IMAGES_BLOCK, imageTable(committedImageRefs(ROOT)));
    refresh(path.join(ROOT, PIPELINE_DOC), PIPELINE_BLOCK, docTable(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8")));
    console.log(changed.length > 0 ? `updated: ${changed.join(", ")}` : "every generated block was fresh");
}

if (require.main === module) {
    main().catch((e: unknown) => {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    });
}
