import { expect } from "chai";
import { ESLint } from "eslint";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../sim/harness";

/**
 * The layering rules of eslint.config.mjs, each shown to bite: a probe file
 * (never written to disk) placed in one layer imports from another, and the
 * lint of the real config must (or must not) name the rule.
 */
const CASES: { file: string; source: string; rule?: string }[] = [
    { file: "facts/probe.ts", source: `import * as pulumi from "@pulumi/pulumi";`, rule: "no-restricted-imports" },
    { file: "facts/probe.ts", source: `import { execFileSync } from "child_process";`, rule: "no-restricted-imports" },
    { file: "facts/probe.ts", source: `import { logGroup } from "../aws/logs";`, rule: "no-restricted-imports" },
    { file: "components/gitlab/facts.ts", source: `import { readFileSync } from "fs";`, rule: "no-restricted-imports" },
    { file: "aws/probe.ts", source: `import { Cluster } from "../components/cluster";`, rule: "no-restricted-imports" },
    { file: "components/probe.ts", source: `import { loadConfig } from "../config/load";`, rule: "no-restricted-imports" },
    { file: "components/probe.ts", source: `import { gitlabKit } from "./gitlab/kit";`, rule: "no-restricted-imports" },
    { file: "components/app/probe.ts", source: `import { gitlabKit } from "../gitlab/kit";`, rule: "import-x/no-restricted-paths" },
    { file: "config/probe.ts", source: `import { logGroup } from "../aws/logs";`, rule: "no-restricted-imports" },
    { file: "config/probe.ts", source: `import { GitLab } from "../components/gitlab";`, rule: "no-restricted-imports" },
    { file: "tools/probe.ts", source: `import { gitlabArgs } from "../tests/components/fixtures";`, rule: "no-restricted-imports" },
    { file: "index.ts", source: `import { gitlabKit } from "./components/gitlab/kit";`, rule: "no-restricted-imports" },
    { file: "components/probe.ts", source: `import * as pulumi from "@pulumi/pulumi";\nexport const c = new pulumi.Config();`, rule: "no-restricted-syntax" },
    { file: "facts/probe.ts", source: `import * as os from "os";\nexport const h = os.hostname();`, rule: "no-restricted-imports" },
    { file: "facts/probe.ts", source: `export const e = process.env.HOME;`, rule: "no-restricted-properties" },
    { file: "facts/probe.ts", source: `export const t = Date.now();`, rule: "no-restricted-properties" },
    { file: "components/gitlab/facts.ts", source: `export const r = Math.random();`, rule: "no-restricted-properties" },
    { file: "aws/probe.ts", source: `import { realGit } from "../hooks/git";`, rule: "no-restricted-imports" },
    { file: "aws/probe.ts", source: `import { runStack } from "../sim/harness";`, rule: "no-restricted-imports" },
    { file: "components/probe.ts", source: `import { runStack } from "../sim/harness";`, rule: "no-restricted-imports" },
    { file: "components/gitlab/probe.ts", source: `import { adminOnlyTypes } from "../../ci/adminGate";`, rule: "no-restricted-imports" },
    { file: "hooks/probe.ts", source: `import { GitLab } from "../components/gitlab";`, rule: "no-restricted-imports" },
    { file: "components/probe.ts", source: `import * as pulumi from "@pulumi/pulumi";\nexport const c = pulumi.runtime.allConfig();`, rule: "no-restricted-syntax" },
    { file: "aws/probe.ts", source: `import * as pulumi from "@pulumi/pulumi";\nexport const s = pulumi.getStack();`, rule: "no-restricted-properties" },
    // What the layers may do.
    { file: "config/probe.ts", source: `import { GITALY_INSTANCE_TYPES } from "../components/gitlab/facts";` },
    { file: "components/gitlab/probe.ts", source: `import { gitlabKit } from "./kit";` },
    { file: "components/app/probe.ts", source: `import { GitLab } from "../gitlab";` },
    { file: "index.ts", source: `import { GitLab } from "./components/gitlab";` },
    { file: "index.ts", source: `import { realGit } from "./hooks/git";` },
    { file: "hooks/probe.ts", source: `import { runHook } from "./run";` },
    { file: "config/probe.ts", source: `import * as pulumi from "@pulumi/pulumi";\nexport const s = pulumi.getStack();` },
];

describe("eslint enforces the layering", function () {
    this.timeout(120_000);
    const eslint = new ESLint({ cwd: ROOT });

    for (const c of CASES) {
        it(`${c.file}: ${c.source.split("\n")[0]} -> ${c.rule ?? "allowed"}`, async () => {
            const [result] = await eslint.lintText(`${c.source}\n`, { filePath: path.join(ROOT, c.file) });
            const rules = result.messages.map((m) => m.ruleId).filter((r) => r !== "@typescript-eslint/no-unused-vars");
            if (c.rule) {
                expect(rules).to.include(c.rule);
            } else {
                expect(rules).to.deep.equal([]);
            }
        });
    }
});

/**
 * What eslint cannot see: a pure module's imports of imports. Each fact
 * module is loaded alone in a fresh Node, and no @pulumi module may come
 * with it (config/ reads the GitLab budget through components/gitlab/facts.ts
 * before any resource exists).
 */
describe("fact modules load no @pulumi module, however deep the import", function () {
    this.timeout(120_000);
    const modules = [...fs.readdirSync(path.join(ROOT, "facts")).map((f) => `facts/${f}`), "components/app/facts.ts", "components/gitlab/facts.ts"];
    it(modules.join(", "), () => {
        const probe = `const m = ${JSON.stringify(modules)}; const out = {}; for (const f of m) { for (const k of Object.keys(require.cache)) delete require.cache[k]; require("./" + f); out[f] = Object.keys(require.cache).filter((k) => k.includes("@pulumi")).length; } console.log(JSON.stringify(out));`;
        const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", probe], { cwd: ROOT, encoding: "utf8" });
        const loaded = JSON.parse(out.trim().split("\n").pop()!) as Record<string, number>;
        expect(Object.keys(loaded)).to.deep.equal(modules);
        expect(Object.entries(loaded).filter(([, n]) => n > 0)).to.deep.equal([]);
    });
});
