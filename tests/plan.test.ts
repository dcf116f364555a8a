import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { dotHash, toDot, toMermaid } from "../tools/planning/architecture";
import { USAGE_DEFAULTS, usageFrom } from "../tools/planning/usage";
import { planJson, planStack, renderPlan } from "../tools/plan";
import { ROOT, STACKS } from "../sim/harness";
import { ARCHITECTURE_DOC, COST_BLOCK, costTable, mermaidBody, README } from "../tools/docs";
import { readBlock } from "../tools/docBlocks";

/** The offline plan's additions (issue 12): cost, rollout, policy verdict, picture, JSON. */
describe("offline plan: cost, rollout, policy, picture (tools/plan.ts)", function () {
    this.timeout(300_000);
    const plans: Record<string, Awaited<ReturnType<typeof planStack>>> = {};
    before(async () => {
        for (const s of STACKS) {
            plans[s] = await planStack(s, USAGE_DEFAULTS);
        }
    });

    for (const stack of STACKS) {
        it(`${stack}: the committed pictures are the graph's (npm run docs)`, () => {
            const a = plans[stack].extras.architecture;
            const dot = toDot(a);
            expect(fs.readFileSync(path.join(ROOT, `docs/architecture-${stack}.dot`), "utf8")).to.equal(dot + "\n");
            expect(fs.readFileSync(path.join(ROOT, `docs/architecture-${stack}.mmd`), "utf8")).to.equal(toMermaid(a) + "\n");
            // Graphviz writes the graph's comment into the SVG: the SVG was drawn from this DOT.
            expect(fs.readFileSync(path.join(ROOT, `docs/architecture-${stack}.svg`), "utf8")).to.include(`dotsha256:${dotHash(dot)}`);
            const doc = fs.readFileSync(ARCHITECTURE_DOC, "utf8");
            expect(readBlock(doc, `mermaid-${stack}`), "docs/architecture.md's Mermaid block").to.equal(mermaidBody(toMermaid(a)));
            expect(fs.readFileSync(README, "utf8")).to.include(`docs/architecture-${stack}.svg)`);
        });
    }

    it("README's monthly cost is the plan's, per component and in total, for both stacks (npm run docs)", () => {
        const { costs } = plans.prod.extras;
        expect(Object.keys(costs)).to.deep.equal(["dev", "prod"]);
        const block = readBlock(fs.readFileSync(README, "utf8"), COST_BLOCK);
        expect(block, "README's monthly-cost block").to.equal(costTable(costs));
        expect(block).to.include(`| **total** | $${costs.dev.totalUsd.toFixed(0)} | $${costs.prod.totalUsd.toFixed(0)} |`);
    });

    it("prod's text names the monthly total, both stacks and their ratio, the rollout floors and the policy verdict", () => {
        const { run, extras } = plans.prod;
        const text = renderPlan(run, extras);
        const total = extras.costs.prod.totalUsd;
        expect(text).to.include(`  total  `);
        expect(text).to.include(`$${total.toFixed(2)}`);
        expect(text).to.match(new RegExp(`stacks: dev \\$${extras.costs.dev.totalUsd.toFixed(2)}, prod \\$${total.toFixed(2)}; prod/dev ${Math.round((total / extras.costs.dev.totalUsd) * 10) / 10}×`));
        expect(text).to.include("app: 940 s = 40 s health + 900 s bake (CANARY); AWS defaults: 450 s");
        expect(text).to.include("Policy pack (policy/, mandatory in CI): 0 violation(s)");
    });

    it("--json: the same figures, as data", () => {
        const { run, extras } = plans.dev;
        const json = JSON.parse(JSON.stringify(planJson(run, extras)));
        expect(Object.keys(json)).to.deep.equal(["stack", "resources", "cost", "rollout", "policy", "architecture", "dashboards", "outputs", "placeholders"]);
        expect(json.stack).to.equal("dev");
        expect(json.resources.total).to.equal(run.resources.length);
        expect(Object.values(json.resources.byType as Record<string, number>).reduce((a, b) => a + b, 0)).to.equal(run.resources.length);
        expect(json.cost).to.include.keys("region", "currency", "usage", "totalUsd", "byComponent", "lines", "unpriced", "stacks", "prodDevRatio");
        expect(json.cost.totalUsd).to.equal(extras.costs.dev.totalUsd);
        expect(json.cost.stacks).to.have.keys("dev", "prod");
        expect(json.cost.prodDevRatio).to.be.a("number").and.greaterThan(1);
        expect(json.cost.usage).to.deep.equal({ ...USAGE_DEFAULTS });
        for (const l of json.cost.lines) {
            expect(l).to.have.keys("component", "resource", "item", "basis", "monthlyUsd");
        }
        expect(json.rollout[0]).to.have.keys("service", "targetGroup", "strategy", "healthSeconds", "bakeSeconds", "floorSeconds", "awsDefaultSeconds");
        expect(json.policy.enforcement).to.equal("advisory");
        expect(json.policy.violations).to.deep.equal([]);
        expect(json.architecture.nodes.length).to.be.greaterThan(5);
        expect(json.architecture.edges[0]).to.have.keys("from", "to", "label", "kind");
        expect(json.dashboards).to.have.length(1);
        expect(json.dashboards[0].name).to.equal("platform-dev-overview");
        expect(json.dashboards[0].widgets).to.include.members(["App: requests and target 5xx", "App database: connections", "GitLab: healthy hosts", "GitLab: Sidekiq queue latency"]);
    });

    it("lists the dashboard's widgets: prod's split topology and WAF add theirs, dev has none of them", () => {
        const split = ["GitLab: Valkey CPU", "GitLab: Gitaly host CPU", "GitLab: Gitaly volume", "WAF: blocked requests"];
        const prod = renderPlan(plans.prod.run, plans.prod.extras);
        const widgets = plans.prod.extras.dashboards[0].widgets;
        expect(prod).to.include(`CloudWatch dashboard platform-prod-overview (the dashboardUrl output): ${widgets.length} widgets`);
        for (const w of split) {
            expect(prod).to.include(`\n  ${w}\n`);
        }
        expect(plans.dev.extras.dashboards[0].widgets.filter((w) => split.includes(w))).to.deep.equal([]);
    });

    it("usage overrides reach the estimate", async () => {
        const more = await planStack("dev", usageFrom(["natGbPerGateway=1050"]));
        // dev has one NAT gateway: 1000 GB more × $0.045 = $45.00 more.
        expect(more.extras.costs.dev.totalUsd - plans.dev.extras.costs.dev.totalUsd).to.be.closeTo(45, 0.011);
    });
});
